"""Landmark selection by farthest point sampling, and the exact landmark covering radius."""

import numpy as np

from flood.kernels import PointTree, build_tree
from flood.kernels._fps import farthest_points, fpsample_start
from flood.kernels._nearest import max_nearest_distance

#: From this many landmarks on, FPS runs on flood's k-d tree (:mod:`flood.kernels._fps`) when
#: one is given: on a 1M cheese, CPU s for 10^3 / 10^4 / 10^5 landmarks, fpsample 0.16 /
#: 0.34 / 1.51, the tree 0.12 / 0.23 / 0.65 (its start 0.03 included). Fewer landmarks keep
#: fpsample, whose choice among equal distances small tests (grids) were written against.
TREE_FPS_MIN_LANDMARKS = 1000


def _rotation(n, random_state):
    """The start's rotation of the array and fpsample's ``h`` for ``n`` points."""
    rng = np.random.default_rng(random_state)
    shift = int(rng.integers(n))  # a rotation moves the start; cheaper than a permutation
    h = 9 if n > 200_000 else 7 if n > 80_000 else 5
    return shift, max(1, min(h, int(np.log2(max(n, 2))) - 1))


ROLL_RUN = 1 << 16  # rows centered at a time by _rolled (~1.5 MB of float64 in 3-D)


def _rolled(points, shift, center=None):
    """``points`` (``points - center``, as NumPy computes it) rotated by ``shift`` rows, as
    float32 (fpsample's precision); centered ``ROLL_RUN`` rows at a time, never as a whole
    copy of the points."""
    n = len(points)
    rolled = np.empty(np.shape(points), dtype=np.float32)
    # rows [a, b) of the result are rows [a + offset, b + offset) of points
    for a, b, offset in ((0, n - shift, shift), (n - shift, n, shift - n)):
        for c in range(a, b, ROLL_RUN):
            e = min(c + ROLL_RUN, b)
            rows = points[c + offset : e + offset]
            rolled[c:e] = rows if center is None else rows - center
    return rolled


def tree_fps_start(points, random_state=None, center=None):
    """The input index where :func:`farthest_point_sampling` starts on a tree (fpsample's
    own start, behind the ``random_state``-seeded rotation) over ``points - center``.
    Needs no tree: flood_complex computes it while the tree is built."""
    points = np.asarray(points)
    shift, h = _rotation(len(points), random_state)
    return (fpsample_start(_rolled(points, shift, center), h) + shift) % len(points)


def farthest_point_sampling(
    points,
    n_landmarks,
    random_state=None,
    tree=None,
    start=None,
    launched=None,
    record=None,
    center=None,
):
    """Indices of ``n_landmarks`` points of ``points`` chosen by farthest point sampling.

    Uses ``fpsample``'s bucket FPS (QuickFPS) on the float32 points. It starts from the
    point at ``start_idx=0`` of its own k-d ordered copy of the array it is given, so the
    start is randomized by a ``random_state``-seeded rotation of that array. From
    :data:`TREE_FPS_MIN_LANDMARKS` landmarks on, with a ``tree``,
    :func:`flood.kernels._fps.fpsample_start` finds that start and
    :func:`flood.kernels._fps.farthest_points` samples on the tree: the same float32
    arithmetic, so the same landmarks except where two points are exactly equally far
    (fpsample takes the first in its own order, the tree the first in tree order).

    Parameters
    ----------
    points : ndarray of shape (n_points, dim)
    n_landmarks : int
        ``1 <= n_landmarks <= n_points``.
    random_state : int, Generator or None
    tree : PointTree, optional
        A tree over ``points`` on the CPU.
    start : int, optional
        :func:`tree_fps_start` of these points and ``random_state``, when computed
        beforehand (used only on the tree; ``random_state`` is then not drawn from).
    launched : threading.Event, optional
        Set as the sampling on the tree starts (:func:`flood.kernels._fps.farthest_points`);
        never set otherwise.
    record : dict, optional
        Receives ``"sq_distances"`` when the sampling ran on the tree (see
        :func:`flood.kernels._fps.farthest_points`); left as it is otherwise.
    center : ndarray of shape (dim,), optional
        Sample ``points - center`` (the same floats as NumPy's, without that copy); the
        ``tree`` is then over those.

    Returns
    -------
    indices : ndarray of int64, shape (n_landmarks,)
    """
    import fpsample

    points = np.asarray(points)
    n = len(points)
    if n_landmarks >= n:
        return np.arange(n)
    if tree is None or not samples_on_tree(n_landmarks, tree.device):
        # fpsample works in float32: rotate while converting, one pass and half the bytes
        shift, h = _rotation(n, random_state)
        rolled = _rolled(points, shift, center)
        idx = fpsample.bucket_fps_kdline_sampling(rolled, int(n_landmarks), h=h, start_idx=0)
        return (np.asarray(idx, dtype=np.int64) + shift) % n
    first = tree_fps_start(points, random_state, center) if start is None else int(start)
    position = int(np.flatnonzero(tree.order == first)[0])
    return tree.order[farthest_points(tree, int(n_landmarks), position, launched, record)]


def samples_on_tree(n_landmarks, device):
    """Whether :func:`farthest_point_sampling`, given a tree on ``device`` and fewer
    landmarks than points, samples on it (a CPU tree, from :data:`TREE_FPS_MIN_LANDMARKS`
    landmarks on) and so starts from :func:`tree_fps_start`."""
    return n_landmarks >= TREE_FPS_MIN_LANDMARKS and str(device).startswith("cpu")


#: Candidates for the covering radius read off FPS's distances: past this share of the
#: points, :func:`covering_radius_from_fps` searches them all (a cloud of many equally far
#: points, e.g. a grid: the candidates would cost as much as the full search).
FPS_COVER_MAX_SHARE = 1 / 64


def fps_distance_error(sq_max, max_abs, dim):
    """A bound on ``|sqrt(d32) - min over l |x - l||`` for every point x, where d32 is FPS's
    float32 squared distance of x to its nearest landmark (of float32-rounded coordinates,
    summed in float32), ``sq_max`` the largest d32 and ``max_abs`` the largest absolute
    coordinate of the points (and so of the landmarks).

    Rounding a coordinate to float32 moves it by at most ``u |x_j|`` (u = 2^-24), so a
    distance by at most ``2 u sqrt(dim) max_abs``; the differences, squares and sum in
    float32 change the squared distance by a factor within ``1 +- (dim + 2) u`` (fused or
    not), its square root by less. For the landmark that is nearest in either measure the
    distance is below ``sqrt(sq_max)`` plus that error. The bound returned doubles the sum.
    """
    u = 2.0**-24
    shift = 2 * u * np.sqrt(dim) * max_abs
    return 2 * ((dim + 3) * u * (np.sqrt(sq_max) + 2 * shift) + shift) + 1e-300


def covering_radius_from_fps(tree, landmarks, sq_distances, n_threads=2):
    """:func:`covering_radius` of ``landmarks`` over the points of ``tree``, the same float,
    from FPS's float32 squared distances (``sq_distances``, per tree position, as
    :func:`flood.kernels._fps.farthest_points` records them for these landmarks).

    FPS's distance of each point is within :func:`fps_distance_error` (delta) of the exact
    one, so the points whose FPS distance lies within 3 delta of the largest hold the
    maximizer, with a margin of delta (far above float64 rounding) over every other point;
    the exact search runs on those few only. With more candidates than
    :data:`FPS_COVER_MAX_SHARE` of the points, or non-finite distances, it runs on all.
    """
    d32 = np.asarray(sq_distances)
    sq_max = float(d32.max()) if len(d32) else 0.0
    lo, hi = tree.lo.numpy()[0], tree.hi.numpy()[0]  # the root's box
    max_abs = float(max(np.abs(lo).max(), np.abs(hi).max()))
    if not (np.isfinite(sq_max) and np.isfinite(max_abs)):
        return covering_radius(tree, landmarks, device=tree.device, n_threads=n_threads)
    delta = fps_distance_error(sq_max, max_abs, tree.dim)
    floor = max(np.sqrt(sq_max) - 3 * delta, 0.0)
    # float32 threshold rounded down: no point at or above floor**2 is left out
    cut = np.nextafter(np.float32(floor * floor * (1 - 1e-6)), np.float32(0))
    candidates = np.flatnonzero(d32 >= cut)
    if len(candidates) > FPS_COVER_MAX_SHARE * len(d32):
        return covering_radius(tree, landmarks, device=tree.device, n_threads=n_threads)
    points = np.take(tree.points.numpy(), candidates, axis=0)
    return covering_radius(points, landmarks, device=tree.device, n_threads=1)


def covering_radius(points, landmarks, device="cpu", n_threads=2):
    """Exact ``max over x in X of min over l in L |x - l|``.

    Parameters
    ----------
    points : ndarray of shape (n_points, dim) or PointTree
        X (a tree over X is reused; else one is built).
    landmarks : ndarray of shape (n_landmarks, dim)
    device : str
    n_threads : int
        CPU threads sharing the queries.

    Returns
    -------
    radius : float
    """
    tree = points if isinstance(points, PointTree) else build_tree(points, device=device)
    return max_nearest_distance(build_tree(landmarks, device=device), tree, n_threads=n_threads)
