"""The k-d tree build (:func:`flood.kernels.build_tree`) against a slow pure-Python replica of
its splits, and the landmark stage against its definitions: the tree's order decides which
points a query visits first, so a faster build must give the same tree, bit for bit."""

import numpy as np
import pytest

from flood.kernels import _tree
from flood.kernels._tree import LEAF_SIZE, build_tree


def _morton_reference(pts):
    """The Z-order of :func:`flood.kernels._tree._morton_order`, point by point: a stable
    sort of the interleaved bits of the clipped grid cell."""
    n, dim = pts.shape
    bits = max(1, min(_tree.ZORDER_BITS, 30 // dim))
    sample = pts[:: max(1, n // 4096)]
    lo = sample.min(axis=0)
    span = float((sample.max(axis=0) - lo).max())
    scale = ((1 << bits) - 1) / span if span > 0 else 0.0
    keys = []
    for p in pts:
        key = 0
        for j in range(dim):
            q = min(max(int((p[j] - lo[j]) * scale), 0), (1 << bits) - 1)
            for b in range(bits):
                key |= ((q >> b) & 1) << (b * dim + j)
        keys.append(key)
    return np.array(sorted(range(n), key=lambda i: keys[i]))


def _split_reference(key, perm, s, e, mid):
    """One node's quickselect, as the kernel does it (Hoare partitions, median of three)."""
    k = len(key[0])
    stride = max(1, (e - s) // 512)
    widest, axis = -1.0, 0
    for j in range(k):
        vals = [key[perm[i]][j] for i in range(s, e, stride)]
        if max(vals) - min(vals) > widest:
            widest, axis = max(vals) - min(vals), j
    left, right = s, e - 1
    while right > left:
        a, b, c = (key[perm[i]][axis] for i in (left, (left + right) // 2, right))
        pivot = max(min(a, b), min(max(a, b), c))
        i, j = left, right
        while i <= j:
            while key[perm[i]][axis] < pivot:
                i += 1
            while key[perm[j]][axis] > pivot:
                j -= 1
            if i <= j:
                perm[i], perm[j] = perm[j], perm[i]
                i, j = i + 1, j - 1
        if mid <= j:
            right = j
        elif mid >= i:
            left = i
        else:
            right = left


def build_order_reference(points):
    """``tree.order`` of :func:`build_tree`, one node at a time in pure Python."""
    pts = np.asarray(points, dtype=np.float64)
    n = len(pts)
    morton = _morton_reference(pts)
    key = pts[morton].tolist()
    perm = list(range(n))
    depth = max(0, (-(-n // LEAF_SIZE) - 1).bit_length())
    for level in range(depth):
        span = LEAF_SIZE << (depth - level)
        for node in range(-(-n // span)):
            s, e = node * span, min(node * span + span, n)
            if s + span // 2 < e:
                _split_reference(key, perm, s, e, s + span // 2)
    return morton[perm]


def _clouds():
    rng = np.random.default_rng(0)
    grid = np.stack(np.meshgrid(*[np.arange(6.0)] * 3, indexing="ij"), -1).reshape(-1, 3)
    return {
        "normal 3-D": rng.normal(size=(3000, 3)),
        "uniform 2-D, odd n": rng.uniform(size=(2049, 2)),
        "6-D": rng.normal(size=(700, 6)),
        "1-D": rng.normal(size=(300, 1)),
        "grid with ties": np.repeat(grid, 3, axis=0),
        "tiny": rng.normal(size=(5, 3)),
        "flat": np.c_[rng.normal(size=(1000, 2)), np.zeros(1000)],
    }


@pytest.mark.parametrize("name", [*_clouds(), "outside the sample's box"])
def test_morton_order_is_the_reference(name):
    """The keys' kernel against the point-by-point reference; points outside the sampled
    box (the sample takes every other row here) are clipped into the grid, one of them
    ~1e12 cells away (beyond int32, where NumPy's cast wrapped to cell 0) to the top."""
    if name in _clouds():
        X = _clouds()[name]
    else:
        X = np.random.default_rng(1).uniform(size=(10_000, 3))
        X[1::2] *= 3.0  # rows the sample skips (stride 2): outside its box, both sides
        X[1::4] -= 2.0
        X[7] = [1e12, -1e12, 0.5]
    np.testing.assert_array_equal(_tree._morton_order(X), _morton_reference(X))


@pytest.mark.parametrize("name", list(_clouds()))
@pytest.mark.parametrize("subtree_points", [0, 64, _tree.SUBTREE_POINTS])
def test_build_tree_matches_reference(monkeypatch, name, subtree_points):
    """Level-by-level launches (``SUBTREE_POINTS = 0``), subtrees of 64 points and the
    default all give the reference's order; each node's box is its points' bounding box."""
    X = _clouds()[name]
    monkeypatch.setattr(_tree, "SUBTREE_POINTS", subtree_points)
    tree = build_tree(X)
    np.testing.assert_array_equal(tree.order, build_order_reference(X))
    pts = tree.points.numpy()
    np.testing.assert_array_equal(pts, X[tree.order])
    lo, hi = tree.lo.numpy(), tree.hi.numpy()
    n_leaves = -(-len(X) // LEAF_SIZE)
    for node in range(len(lo)):
        level = int(node + 1).bit_length() - 1
        width = (tree.first_leaf + 1) >> level  # leaves under a node of this level
        first = (node - ((1 << level) - 1)) * width
        stop = min(first + width, n_leaves)
        if first >= n_leaves:
            assert np.all(lo[node] == np.inf) and np.all(hi[node] == -np.inf)
            continue
        inside = pts[first * LEAF_SIZE : stop * LEAF_SIZE]
        np.testing.assert_array_equal(lo[node], inside.min(axis=0))
        np.testing.assert_array_equal(hi[node], inside.max(axis=0))


@pytest.mark.parametrize("n_landmarks", [10, 300, 2500])
def test_covering_radius_is_the_largest_nearest_distance(n_landmarks):
    """Exactly the largest of the nearest-landmark distances of all points (the same
    arithmetic as :func:`nearest`), whether landmarks are few or dense enough that most
    leaves are searched point by point; and cKDTree's value within rounding."""
    from scipy.spatial import cKDTree

    from flood._landmarks import covering_radius
    from flood.kernels import nearest

    rng = np.random.default_rng(n_landmarks)
    X = rng.normal(size=(5000, 3))
    X[:40] *= 3  # a few far points
    L = X[rng.choice(len(X), n_landmarks, replace=False)]
    got = covering_radius(X, L)
    assert got == nearest(build_tree(L), X)[1].max()
    assert got == pytest.approx(cKDTree(L).query(X)[0].max(), rel=1e-15, abs=0)


def _fps_cover(X, n_landmarks, seed):
    """(tree, landmarks, FPS's recorded squared distances) for FPS on a tree over X."""
    from flood._landmarks import farthest_point_sampling

    tree = build_tree(X)
    record = {}
    idx = farthest_point_sampling(X, n_landmarks, seed, tree=tree, record=record)
    assert set(record) == {"sq_distances"}
    return tree, X[np.unique(idx)], record["sq_distances"]


@pytest.mark.parametrize("case", range(12))
def test_covering_radius_from_fps_is_the_searched_one(monkeypatch, case):
    """The covering radius read off FPS's float32 distances is the searched one to the
    last bit: on Gaussian clouds of any scale, far from the origin (a large rounding
    error against the spacing), in 1-D to 6-D; and FPS's distances lie within the
    stated error of the float64 nearest-landmark distances (a NumPy brute force)."""
    from flood import _landmarks
    from flood._landmarks import covering_radius, covering_radius_from_fps, fps_distance_error

    monkeypatch.setattr(_landmarks, "TREE_FPS_MIN_LANDMARKS", 1)  # FPS on the tree
    rng = np.random.default_rng(100 + case)
    dim = 1 + case % 6
    X = rng.normal(size=(4000, dim)) * 10.0 ** rng.uniform(-4, 4)
    if case % 2:
        X += rng.normal(size=dim) * np.abs(X).max() * 1e4  # far away: rounding dominates
    tree, L, d32 = _fps_cover(X, 40, case)
    assert covering_radius_from_fps(tree, L, d32) == covering_radius(tree, L)
    pts = tree.points.numpy()
    exact = np.sqrt(((pts[:, None, :] - L[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    err = fps_distance_error(float(d32.max()), float(np.abs(pts).max()), dim)
    assert np.abs(np.sqrt(d32.astype(np.float64)) - exact).max() <= err


def test_covering_radius_from_fps_searches_only_a_few_points(monkeypatch):
    """A random cloud: the exact search runs on a handful of points, not the cloud; where
    many points are equally far (here all, as if every point tied): on all of them, past
    FPS_COVER_MAX_SHARE."""
    from flood import _landmarks
    from flood._landmarks import covering_radius, covering_radius_from_fps

    monkeypatch.setattr(_landmarks, "TREE_FPS_MIN_LANDMARKS", 1)
    calls = []
    search = _landmarks.covering_radius

    def spy(points, landmarks, **kwargs):
        calls.append(points.n_points if hasattr(points, "n_points") else len(points))
        return search(points, landmarks, **kwargs)

    monkeypatch.setattr(_landmarks, "covering_radius", spy)
    X = np.random.default_rng(7).normal(size=(20_000, 3))
    tree, L, d32 = _fps_cover(X, 100, 1)
    assert covering_radius_from_fps(tree, L, d32) == covering_radius(tree, L)
    assert len(calls) == 1 and 1 <= calls[0] <= 20
    calls.clear()
    tied = np.full_like(d32, d32.max())
    assert covering_radius_from_fps(tree, L, tied) == covering_radius(tree, L)
    assert calls == [len(X)]  # too many candidates: the search over all points


def _fps_reference(points, n_landmarks, start):
    """Plain farthest point sampling in float32 coordinates (fpsample's), from ``start``."""
    pts = np.asarray(points, dtype=np.float32).astype(np.float64)
    chosen = [start]
    d = np.linalg.norm(pts - pts[start], axis=1)
    for _ in range(n_landmarks - 1):
        chosen.append(int(np.argmax(d)))
        d = np.minimum(d, np.linalg.norm(pts - pts[chosen[-1]], axis=1))
    return np.array(chosen)


def test_farthest_point_sampling_is_fps_from_a_seeded_start():
    """Each landmark after the first is the point farthest from those before it (in the
    float32 coordinates fpsample works in); the first depends on ``random_state``.

    The first is not the rotation's shift: fpsample's bucket FPS starts from the point at
    ``start_idx`` of its own k-d ordered copy, which the rotation changes."""
    from flood._landmarks import farthest_point_sampling

    X = np.random.default_rng(10).uniform(size=(3000, 3))
    starts = set()
    for seed in range(4):
        idx = farthest_point_sampling(X, 60, random_state=seed)
        np.testing.assert_array_equal(idx, _fps_reference(X, 60, int(idx[0])))
        assert np.array_equal(idx, farthest_point_sampling(X, 60, random_state=seed))
        starts.add(int(idx[0]))
    assert len(starts) == 4


@pytest.mark.parametrize("dim", [1, 2, 3, 6])
def test_farthest_points_on_the_tree_match_reference(dim):
    from flood.kernels._fps import farthest_points, farthest_points_reference

    rng = np.random.default_rng(dim)
    X = rng.normal(size=(3000, dim))
    X[:500] *= 1e-3  # a dense cluster: deep leaves are reached late
    tree = build_tree(X)
    pos = farthest_points(tree, 300, 7)
    np.testing.assert_array_equal(tree.order[pos], farthest_points_reference(X, 300, tree.order[7]))


def test_farthest_point_sampling_on_the_tree_is_fpsamples(monkeypatch):
    """The tree continues from fpsample's start with fpsample's arithmetic: the same
    landmarks where no two distances tie (random points)."""
    from flood import _landmarks

    X = np.random.default_rng(3).uniform(size=(20_000, 3))
    tree = build_tree(X)
    plain = _landmarks.farthest_point_sampling(X, 400, random_state=5, tree=tree)
    monkeypatch.setattr(_landmarks, "TREE_FPS_MIN_LANDMARKS", 1)
    on_tree = _landmarks.farthest_point_sampling(X, 400, random_state=5, tree=tree)
    np.testing.assert_array_equal(on_tree, plain)


def test_distinct_rows_fast_path_matches_unique():
    """All first coordinates distinct (the sort's shortcut), or not: the first occurrence of
    each distinct row, as np.unique gives it, and a warning exactly when rows repeat."""
    import warnings

    from flood._validation import distinct_rows

    rng = np.random.default_rng(0)
    distinct = rng.normal(size=(500, 3))
    same_first = distinct.copy()
    same_first[1::2, 0] = same_first[::2, 0]  # equal first coordinates, distinct rows
    repeated = np.concatenate([distinct, distinct[::7]])
    signed_zero = np.array([[0.0, 1.0], [-0.0, 1.0], [1.0, 2.0]])
    for rows, dup in [
        (distinct, False),
        (same_first, False),
        (repeated, True),
        (signed_zero, True),
    ]:
        _, first = np.unique(rows, axis=0, return_index=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = distinct_rows(rows, "points")
        np.testing.assert_array_equal(got, np.sort(first))
        assert bool(caught) == dup


def test_build_tree_refuses_more_than_six_dimensions():
    with pytest.raises(ValueError, match=r"points has shape \(10, 7\); expected \(n_points, dim\)"):
        build_tree(np.zeros((10, 7)))


def test_fpsample_start_is_fpsamples():
    """Where fpsample starts from ``start_idx=0``, on normal, uniform and grid clouds (ties
    in every coordinate) of 1-6 dimensions and tree heights 1-9."""
    from flood.kernels._fps import fpsample_start, fpsample_start_reference

    rng = np.random.default_rng(0)
    for trial in range(30):
        n = int(rng.choice([50, 300, 2000, 20_000]))
        dim = int(rng.choice([1, 2, 3, 5, 6]))
        X = [rng.normal(size=(n, dim)), rng.uniform(0, 5, (n, dim)), rng.integers(0, 4, (n, dim))]
        pts = X[trial % 3].astype(np.float32)
        h = max(1, min(int(rng.integers(1, 10)), int(np.log2(n)) - 1))
        assert fpsample_start(pts.copy(), h) == fpsample_start_reference(pts, h), (n, dim, h)


def test_column_means_are_numpys_to_the_last_bit():
    """flood_complex centres X by column_means: NumPy's X.mean(axis=0) bit for bit (the
    kernel adds the rows in NumPy's order), for every dimension and for arrays NumPy must
    take (one column, which NumPy sums pairwise; not C-contiguous; float32)."""
    from flood.kernels._tree import column_means

    rng = np.random.default_rng(12)
    for shape in [(200_001, 3), (5_000, 1), (3_000, 2), (7_777, 4), (4_096, 5), (999, 6), (1, 3)]:
        X = rng.normal(size=shape) * rng.uniform(0.1, 1e3, shape[1]) + rng.uniform(-1e4, 1e4)
        got = column_means(X)
        assert got.dtype == np.float64 and got.shape == (shape[1],)
        np.testing.assert_array_equal(got, X.mean(axis=0))
    X = rng.normal(size=(10_000, 3)) + 1e6  # large offset: any other order of sums differs
    np.testing.assert_array_equal(column_means(X), X.mean(axis=0))
    assert not np.array_equal(np.sort(X, axis=0).mean(axis=0), X.mean(axis=0))
    for other in (np.asfortranarray(X), X.astype(np.float32), X[::2]):
        np.testing.assert_array_equal(column_means(other), other.mean(axis=0))


@pytest.mark.parametrize("n", [1, 2, 7, 1001])
def test_gather_on_two_threads_is_take(n):
    from flood.kernels._tree import _gather

    rng = np.random.default_rng(n)
    src = rng.normal(size=(n, 3))
    order = rng.permutation(n)
    want = src[order]
    for threads in (1, 2, 3):
        np.testing.assert_array_equal(_gather(src, order, "cpu", threads).numpy(), want)
    shift = src.mean(axis=0) + 1e3  # the rows as NumPy's ``src - shift`` has them
    for threads in (1, 2):
        got = _gather(src, order, "cpu", threads, shift).numpy()
        np.testing.assert_array_equal(got, (src - shift)[order])


@pytest.mark.parametrize("name", ["normal 3-D", "6-D", "grid with ties", "far from 0"])
def test_a_shifted_tree_is_the_tree_of_the_shifted_points(name):
    """build_tree(X, shift=s), which never copies X - s whole, is build_tree(X - s) bit for
    bit (order, points, boxes): its keys and gathers shift each value as NumPy does."""
    if name == "far from 0":  # rounding of the shift matters: values near 1e6, steps 1e-9
        X = 1e6 + np.random.default_rng(3).normal(size=(5000, 3)) * 1e-3
    else:
        X = _clouds()[name]
    shift = X.mean(axis=0)
    want, got = build_tree(X - shift), build_tree(X, shift=shift)
    np.testing.assert_array_equal(got.order, want.order)
    for field in ("points", "lo", "hi"):
        np.testing.assert_array_equal(getattr(got, field).numpy(), getattr(want, field).numpy())
    with pytest.raises(ValueError, match="shift must have shape"):
        build_tree(X, shift=shift[:-1])


def test_landmarks_of_a_centered_cloud_need_no_copy_of_it():
    """FPS with ``center`` (fpsample's path and the tree's, with and without a start found
    beforehand) picks what it picks on the centered copy."""
    from flood._landmarks import _rolled, farthest_point_sampling, tree_fps_start

    X = 250.0 + np.random.default_rng(4).normal(size=(6000, 3))
    c = X.mean(axis=0)
    Xc = X - c
    for roll in (0, 1, 2500, 5999):
        np.testing.assert_array_equal(_rolled(X, roll, c), _rolled(Xc, roll))
    assert tree_fps_start(X, 7, center=c) == tree_fps_start(Xc, 7)
    np.testing.assert_array_equal(
        farthest_point_sampling(X, 50, 7, center=c), farthest_point_sampling(Xc, 50, 7)
    )
    tree = build_tree(Xc)
    for start in (None, tree_fps_start(Xc, 9)):
        np.testing.assert_array_equal(
            farthest_point_sampling(X, 1200, 9, tree=tree, start=start, center=c),
            farthest_point_sampling(Xc, 1200, 9, tree=tree, start=start),
        )


def test_host_arrays_share_numpys_memory():
    """host_array wraps a NumPy array without a copy (its memory, advised for huge pages,
    is what the kernels read), for the dtypes the tree and the scratch use; the CPU tree's
    boxes and the scratch's seed rows are such arrays."""
    import warp as wp

    from flood.kernels._scratch import TaskScratch
    from flood.kernels._tree import host_array

    for dtype in (np.float64, np.int32):
        a = np.arange(12, dtype=dtype).reshape(4, 3)
        w = host_array(a)
        assert w.ptr == a.ctypes.data and w.shape == a.shape
        a[1, 2] = 99
        assert w.numpy()[1, 2] == 99
    assert host_array(a).deleter is None
    assert wp.empty(4, dtype=wp.float64, device="cpu").deleter is not None  # Warp's own
    X = np.random.default_rng(5).normal(size=(3000, 3))
    tree = build_tree(X)
    for array in (tree.lo, tree.hi, TaskScratch(16, "cpu", one_row=True).seeds):
        assert array.deleter is None  # NumPy's memory, not Warp's allocator's
