"""flood_complex: certificates against dense evaluation, Alpha equivalence, topology."""

import threading
from itertools import combinations, product

import gudhi
import numpy as np
import pytest

from flood import flood_complex
from flood.datasets import make_circle, make_torus


def brute_dX(X, Y):
    """d_X at each row of Y, by brute force."""
    out = np.empty(len(Y))
    for a in range(0, len(Y), 2048):
        d2 = ((Y[a : a + 2048, None, :] - X[None]) ** 2).sum(-1)
        out[a : a + 2048] = np.sqrt(d2.min(axis=1))
    return out


def dense_max(X, vertices, n=24, n_random=400, rng=None):
    """Max of d_X over a dense barycentric grid plus random points of conv(vertices)."""
    k = len(vertices) - 1
    rng = np.random.default_rng(0) if rng is None else rng
    grid = np.array([c for c in product(range(n + 1), repeat=k) if sum(c) <= n], dtype=float)
    grid = np.c_[n - grid.sum(axis=1), grid] / n
    lam = np.concatenate([grid, rng.dirichlet(np.ones(k + 1), size=n_random)])
    return brute_dX(X, lam @ vertices).max()


def clouds():
    rng = np.random.default_rng(42)
    blobs = np.concatenate([rng.normal(c, 0.05, size=(150, 2)) for c in [(0, 0), (1, 0), (0, 1)]])
    circle = make_circle(400, noise=0.02, random_state=1)
    ball = rng.uniform(-1, 1, size=(500, 3))
    sphere = rng.normal(size=(600, 3))
    sphere /= np.linalg.norm(sphere, axis=1, keepdims=True)
    return {"blobs2d": blobs, "circle2d": circle, "ball3d": ball, "sphere3d": sphere}


@pytest.mark.parametrize("name", ["blobs2d", "circle2d", "ball3d", "sphere3d"])
def test_certificates_contain_dense_evaluation(device, name):
    X = clouds()[name]
    res = flood_complex(X, 14, random_state=0, device=device)
    assert res.max_gap <= res.tol * (1 + 1e-9)
    L = res.landmarks
    for k in range(1, len(res.simplices)):
        lo, up, f = res.lower[k], res.upper[k], res.filtration[k]
        assert np.all(lo <= f) and np.all(f <= up)
        n = {1: 200, 2: 40, 3: 14}[k]
        for i in range(len(res.simplices[k])):
            v = L[res.simplices[k][i]]
            dm = dense_max(X, v, n=n)
            assert dm <= up[i] + 1e-9, (k, i, dm, up[i])
            # the dense grid misses the maximum by at most its spacing (d_X is 1-Lipschitz)
            spacing = np.linalg.norm(v[:, None] - v[None], axis=2).max() / n
            assert lo[i] <= dm + spacing + 1e-9, (k, i, dm, lo[i])


def alpha_diagrams(X, dims):
    st = gudhi.AlphaComplex(points=X).create_simplex_tree(output_squared_values=False)
    st.compute_persistence()
    return [st.persistence_intervals_in_dimension(q) for q in dims]


@pytest.mark.parametrize("cloud", ["uniform", "circle"])
def test_all_points_as_landmarks_equals_alpha_2d(device, cloud):
    rng = np.random.default_rng(0)
    X = (
        rng.uniform(size=(300, 2))
        if cloud == "uniform"
        else make_circle(300, noise=0.1, random_state=0)
    )
    res = flood_complex(X, len(X), random_state=0, device=device)
    assert res.covering_radius == 0.0
    for dg, ref in zip(res.diagrams((0, 1)), alpha_diagrams(X, (0, 1))):
        assert gudhi.bottleneck_distance(dg, ref) <= res.tol + 1e-6


def test_all_points_as_landmarks_3d_h0_h2_equal_alpha(device):
    """In 3-D, H0 and H2 of Flood(X, X) match Alpha(X); H1 need not (measured: bottleneck
    5e-3 on this cloud, with every Flood value confirmed by dense evaluation)."""
    X = np.random.default_rng(3).uniform(size=(120, 3))
    res = flood_complex(X, len(X), random_state=0, device=device)
    flood_dgs = res.diagrams((0, 2))
    for dg, ref in zip(flood_dgs, alpha_diagrams(X, (0, 2))):
        assert gudhi.bottleneck_distance(dg, ref) <= res.tol + 1e-6


def test_face_le_coface_and_bounds(device):
    X = make_torus(3000, random_state=0)
    res = flood_complex(X, 60, random_state=0, device=device)
    from flood._delaunay import facet_index

    for k in range(2, len(res.simplices)):
        fi = facet_index(res.simplices[k], res.simplices[k - 1], len(res.landmarks))
        assert np.all(res.filtration[k - 1][fi] <= res.filtration[k][:, None])
        assert np.all(res.lower[k - 1][fi] <= res.lower[k][:, None])
        assert np.all(res.upper[k - 1][fi] <= res.upper[k][:, None])
    for lo, up, f in zip(res.lower, res.upper, res.filtration):
        assert np.all(lo <= f) and np.all(f <= up) and np.all(up - lo <= res.tol * (1 + 1e-9))


def flooder_grid_reference(X, L, top, ppe):
    """flooder's rule, directly: the full grid on each top simplex, each face the max over
    the grid points lying in it (the weights of the other vertices are 0)."""
    k = top.shape[1] - 1
    comps = np.array([c for c in product(range(ppe), repeat=k + 1) if sum(c) == ppe - 1])
    w = comps / (ppe - 1)
    values = {}
    for s in top:
        d = brute_dX(X, w @ L[s])
        for m in range(1, k + 2):
            for face in combinations(range(k + 1), m):
                mask = (comps[:, [j for j in range(k + 1) if j not in face]] == 0).all(axis=1)
                key = tuple(sorted(s[list(face)]))
                values[key] = max(values.get(key, 0.0), d[mask].max())
    return values


@pytest.mark.parametrize("dim", [2, 3])
def test_grid_method_matches_flooders_rule(device, dim):
    rng = np.random.default_rng(dim)
    X = rng.uniform(size=(400, dim))
    res = flood_complex(X, 12, method="grid", points_per_edge=7, random_state=0, device=device)
    assert res.lower is None and res.upper is None
    ref = flooder_grid_reference(X, res.landmarks, res.simplices[dim], 7)
    for k in range(len(res.simplices)):
        for s, f in zip(res.simplices[k], res.filtration[k]):
            assert f == pytest.approx(ref[tuple(s)], abs=1e-12)


def test_noisy_torus_betti_numbers(device):
    X = make_torus(20_000, R=1.0, r=0.35, noise=0.01, random_state=0)
    res = flood_complex(X, 300, random_state=0, device=device)
    betti = []
    for dg in res.diagrams((0, 1, 2)):
        persistence = dg[:, 1] - dg[:, 0]
        betti.append(int((persistence > 0.15).sum()))
    assert betti == [1, 2, 1]


def test_noisy_circle_betti_numbers(device):
    X = make_circle(2000, noise=0.03, random_state=0)
    res = flood_complex(X, 80, random_state=0, device=device)
    betti = [int((dg[:, 1] - dg[:, 0] > 0.3).sum()) for dg in res.diagrams((0, 1))]
    assert betti == [1, 1]


def test_scale_and_translation(device):
    X = make_circle(500, noise=0.05, random_state=3)
    a = flood_complex(X, 30, random_state=0, device=device, tol=1e-4)
    b = flood_complex(3.0 * X + 1e3, 30, random_state=0, device=device, tol=3e-4)
    np.testing.assert_array_equal(a.landmark_indices, b.landmark_indices)
    # landmark coordinates are the input rows, bit for bit
    np.testing.assert_array_equal(b.landmarks, (3.0 * X + 1e3)[b.landmark_indices])
    for fa, fb in zip(a.filtration, b.filtration):
        np.testing.assert_allclose(3.0 * fa, fb, atol=3e-4 + 1e-9)


@pytest.fixture(scope="module")
def gaussian_results():
    X = np.random.default_rng(0).normal(size=(400, 3))
    return [flood_complex(X, 60, tol=tol, device="cpu", random_state=0) for tol in (0.0, None)]


def all_pairs(res, q):
    """Every pair of gudhi's persistence of the same filtration, zero-length ones included."""
    st = gudhi.SimplexTree()
    for s, f in zip(res.simplices, res.filtration):
        for row, value in zip(s, f):
            st.insert(row.tolist(), float(value))
    st.compute_persistence(min_persistence=-1.0)
    return np.asarray(st.persistence_intervals_in_dimension(q)).reshape(-1, 2)


def sorted_rows(d):
    return d[np.lexsort((d[:, 1], d[:, 0]))]


@pytest.mark.parametrize("min_persistence", [0.0, 1e-3, 0.05])
def test_diagrams_are_gudhis_pairs_without_zero_or_small_persistence(
    gaussian_results, min_persistence
):
    from flood._diagrams import ZERO_PERSISTENCE_RTOL

    for res in gaussian_results:
        scale = max(float(f.max()) for f in res.filtration)
        cut = max(min_persistence, ZERO_PERSISTENCE_RTOL * scale)
        dgms = res.diagrams((0, 1, 2), min_persistence=min_persistence)
        assert dgms.homology_dimensions == (0, 1, 2)
        for q, d in zip((0, 1, 2), dgms):
            pairs = all_pairs(res, q)
            expected = pairs[pairs[:, 1] - pairs[:, 0] > cut]
            np.testing.assert_array_equal(sorted_rows(d), sorted_rows(expected))
        # the rounding pairs exist (so the rule is tested) and sit far below the cut
        tiny = [p for q in (1, 2) for p in np.diff(all_pairs(res, q), axis=1).ravel()]
        tiny = np.array([p for p in tiny if 0 < p <= ZERO_PERSISTENCE_RTOL * scale])
        assert len(tiny) > 10 and tiny.max() < 0.3 * ZERO_PERSISTENCE_RTOL * scale


def test_diagrams_default_to_every_dimension_of_the_points():
    res = flood_complex(make_circle(200, random_state=0), 20, device="cpu")
    dgms = res.diagrams()
    assert dgms.homology_dimensions == (0, 1) and len(dgms) == 2


def test_diagrams_of_a_bare_int_are_a_list_of_one():
    res = flood_complex(make_circle(200, random_state=0), 20, device="cpu")
    one = res.diagrams(1)
    assert isinstance(one, list) and len(one) == 1 and one.homology_dimensions == (1,)
    np.testing.assert_array_equal(one[0], res.diagrams((0, 1))[1])


@pytest.mark.parametrize(
    ("dims", "match"),
    [
        (
            (0, 0, 1),
            r"'homology_dimensions' parameter of FloodResult.diagrams must hold "
            r"distinct ints; 0 is repeated. Got \(0, 0, 1\) instead",
        ),
        ((), r"'homology_dimensions' .* non-empty .* Got \(\) instead"),
        ((0, -1), r"'homology_dimensions' .* \[0, inf\)\. Got \(0, -1\) instead"),
        ((1.0,), r"'homology_dimensions' .* Got \(1\.0,\) instead"),
        (True, r"'homology_dimensions' .* Got True instead"),
        ("1", r"'homology_dimensions' .* Got '1' instead"),
    ],
)
def test_bad_homology_dimensions_are_refused(dims, match):
    res = flood_complex(make_circle(200, random_state=0), 20, device="cpu")
    with pytest.raises(ValueError, match=match):
        res.diagrams(dims)


def test_homology_dimensions_the_points_cannot_have_warn_and_are_empty():
    res = flood_complex(make_circle(200, random_state=0), 20, device="cpu")
    with pytest.warns(UserWarning, match=r"dimension\(s\) 2, 3 of 2-D points: H_q of a subset"):
        dgms = res.diagrams((1, 2, 3))
    assert [len(d) for d in dgms[1:]] == [0, 0] and len(dgms[0]) > 0


@pytest.mark.parametrize("value", [-0.1, float("nan"), "0", None])
def test_bad_min_persistence_is_refused(value):
    res = flood_complex(make_circle(200, random_state=0), 20, device="cpu")
    with pytest.raises(ValueError, match=r"'min_persistence' parameter of FloodResult.diagrams"):
        res.diagrams(min_persistence=value)


@pytest.mark.parametrize("n_threads", [0, -1, 1.5, True])
def test_n_threads_below_one_is_refused(n_threads):
    with pytest.raises(ValueError, match=r"'n_threads' parameter must be an int in the range "):
        flood_complex(make_circle(200, random_state=0), 20, device="cpu", n_threads=n_threads)


def test_progress_bars_advance_per_batch_and_count_every_task(monkeypatch):
    bars = []

    class Bar:
        def __init__(self, total, desc, **kwargs):
            self.total, self.desc, self.n, self.updates = total, desc, 0, 0
            bars.append(self)

        def update(self, m):
            self.n += m
            self.updates += 1

        def refresh(self):
            pass

        def close(self):
            pass

    import tqdm.auto

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    monkeypatch.setattr("flood._complex.compile_kernels", lambda method, device: [])
    X = make_torus(3000, random_state=0)
    res = flood_complex(X, 150, device="cpu", random_state=0, progress=True)
    assert [b.desc for b in bars] == [f"filtration, {k}-simplices" for k in (1, 2, 3)]
    for k, bar in zip((1, 2, 3), bars):
        assert bar.updates >= 30  # PROGRESS_BATCHES per round at least
        assert bar.n == bar.total >= len(res.simplices[k])  # pieces of later rounds count too


def test_first_compile_notice_only_when_the_cache_lacks_the_kernels(tmp_path, monkeypatch):
    import io

    import warp as wp

    from flood._progress import (
        CPU_KERNEL_MODULES,
        DIAGRAM_MODULES,
        KERNEL_MODULES,
        compile_kernels,
    )

    flood_complex(make_circle(100, random_state=0), 10, device="cpu")  # kernels cached now
    wp.load_module(CPU_KERNEL_MODULES[0], device="cpu")  # tree FPS (from 1,000 landmarks)
    for name in DIAGRAM_MODULES:  # a small run's diagrams need not launch them all
        wp.load_module(name, device="cpu")
    stream = io.StringIO()
    assert compile_kernels("certified", "cpu", stream) == [] and stream.getvalue() == ""
    loaded = []
    monkeypatch.setattr(wp.config, "kernel_cache_dir", str(tmp_path))  # an empty cache
    monkeypatch.setattr(wp, "load_module", lambda name, device: loaded.append((name, device)))
    expected = list(KERNEL_MODULES["grid"] + CPU_KERNEL_MODULES)
    assert compile_kernels("grid", "cpu", stream) == expected
    assert stream.getvalue() == (
        "flood: compiling the Warp kernels for cpu (first run only, up to a minute)...\n"
    )
    assert loaded == [(name, "cpu") for name in expected]


@pytest.mark.parametrize("method", ["certified", "grid"])
def test_first_compile_notice_names_every_module_a_run_loads(method):
    """compile_kernels compiles what a run launches: in a fresh process, every kernel module
    of flood that flood_complex and the diagrams loaded (1,000 landmarks: FPS on the tree
    too) is in its list (the seeds' gather and the diagrams' modules were missing once)."""
    import ast
    import subprocess
    import sys

    code = (
        "import flood\n"
        "from flood.datasets import make_torus\n"
        f"res = flood.flood_complex(make_torus(4000, random_state=0), 1000, method={method!r},"
        " device='cpu', random_state=0)\n"
        "res.diagrams((0, 1, 2))\n"
        "from warp._src import context\n"
        "print(sorted(n for n, m in context.user_modules.items()"
        " if n.startswith('flood') and m.execs))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    loaded = ast.literal_eval(out.stdout.strip().splitlines()[-1])  # module names
    from flood._progress import CPU_KERNEL_MODULES, KERNEL_MODULES

    assert "flood.kernels._tree" in loaded
    assert set(loaded) <= set(KERNEL_MODULES[method] + CPU_KERNEL_MODULES)


def test_first_compile_is_its_own_stage(monkeypatch):
    """Compiling the kernels (first run on a machine) is timed apart from the index stage:
    a fake compile advances flood's clock by an hour, which must not land in "index"."""
    import time
    import types

    offset = [0.0]
    clock = types.SimpleNamespace(perf_counter=lambda: time.perf_counter() + offset[0])

    def slow_compile(method, device):
        offset[0] += 3600.0
        return ["flood.kernels._voronoi"]

    monkeypatch.setattr("flood._complex.time", clock)
    monkeypatch.setattr("flood._complex.compile_kernels", slow_compile)
    X = make_torus(500, random_state=0)
    res = flood_complex(X, 30, device="cpu", random_state=0, progress=True)
    assert res.timings["compile"] >= 3600.0 > res.timings["index"]
    monkeypatch.setattr("flood._complex.compile_kernels", lambda method, device: [])
    assert "compile" not in flood_complex(X, 30, device="cpu", progress=True).timings


@pytest.mark.parametrize("method", ["certified", "grid"])
def test_covering_radius_and_landmark_neighbours_beside_qhull_change_nothing(monkeypatch, method):
    import flood._complex as complex_module

    X = np.random.default_rng(8).random((4000, 3))
    want = flood_complex(X, 150, random_state=0, method=method, device="cpu")
    calls = []
    beside = complex_module._triangulate_beside

    def counted(*args):
        calls.append(threading.current_thread().name)
        return beside(*args)

    monkeypatch.setattr(complex_module, "OVERLAP_MIN_LANDMARKS", 100)
    monkeypatch.setattr(complex_module, "_triangulate_beside", counted)
    got = flood_complex(X, 150, random_state=0, method=method, device="cpu")
    assert len(calls) == 1  # the overlapped path ran
    assert got.covering_radius == want.covering_radius
    for a, b in zip(got.filtration, want.filtration):
        np.testing.assert_array_equal(a, b)
    if method == "certified":
        for a, b in zip(got.upper, want.upper):
            np.testing.assert_array_equal(a, b)


def test_an_error_beside_qhull_is_raised_after_both_finish(monkeypatch):
    import flood._complex as complex_module

    def broken(*args, **kwargs):
        raise RuntimeError("covering radius failed")

    monkeypatch.setattr(complex_module, "OVERLAP_MIN_LANDMARKS", 100)
    monkeypatch.setattr(complex_module, "covering_radius", broken)
    X = np.random.default_rng(8).random((4000, 3))
    with pytest.raises(RuntimeError, match="covering radius failed"):
        flood_complex(X, 150, random_state=0, device="cpu")
    assert not [t for t in threading.enumerate() if t.name == "flood-beside"]


def test_fps_start_found_beside_the_tree_build_gives_the_same_landmarks(monkeypatch):
    import flood._complex as complex_module
    import flood._landmarks as landmarks_module
    from flood._landmarks import farthest_point_sampling
    from flood.kernels import build_tree

    monkeypatch.setattr(landmarks_module, "TREE_FPS_MIN_LANDMARKS", 100)  # FPS on the tree
    beside = complex_module._beside
    seen = []

    def spy(main, func, *args):
        seen.append(func.__name__)
        return beside(main, func, *args)

    monkeypatch.setattr(complex_module, "_beside", spy)
    X = np.random.default_rng(12).random((5000, 3))
    res = flood_complex(X, 150, random_state=3, device="cpu")
    # the modules load beside FPS; the covering radius, read off FPS's distances, and the
    # landmarks' nearest points are found beside Qhull
    assert seen == ["tree_fps_start", "_load_when", "_beside_qhull"]
    Xc = X - X.mean(axis=0)
    want = farthest_point_sampling(Xc, 150, 3, build_tree(Xc))
    np.testing.assert_array_equal(res.landmark_indices, want)
    other = farthest_point_sampling(Xc, 150, 4, build_tree(Xc))  # another start: others
    assert not np.array_equal(other, want)


def test_modules_load_in_a_second_thread_beside_fps(monkeypatch):
    import threading

    import warp as wp

    import flood._complex as complex_module
    import flood._landmarks as landmarks_module
    from flood.kernels import _fps

    monkeypatch.setattr(landmarks_module, "TREE_FPS_MIN_LANDMARKS", 100)
    events, loads = [], []
    launch, load = wp.launch, wp.load_module

    def spy_launch(kernel, *args, **kwargs):
        if kernel is _fps.fps_kernel:  # FPS on the tree: its event is set before it starts
            events.append(threading.get_ident())
        return launch(kernel, *args, **kwargs)

    def spy_load(name, *args, **kwargs):
        loads.append((name, threading.get_ident()))
        return load(name, *args, **kwargs)

    monkeypatch.setattr(_fps.wp, "launch", spy_launch)
    monkeypatch.setattr(wp, "load_module", spy_load)
    X = np.random.default_rng(12).random((5000, 3))
    main = threading.get_ident()
    res = flood_complex(X, 150, random_state=3, device="cpu")
    assert events == [main]
    want = complex_module.AFTER_FPS_MODULES["certified"]
    assert [name for name, _ in loads] == list(want)
    assert all(tid != main for _, tid in loads)  # in the second thread
    reference = flood_complex(X, 150, random_state=3, device="cpu", n_threads=1)
    np.testing.assert_array_equal(res.landmark_indices, reference.landmark_indices)
    for a, b in zip(res.upper, reference.upper):
        np.testing.assert_array_equal(a, b)


def test_load_when_waits_for_its_event(monkeypatch):
    """_load_when loads nothing before its event is set (FPS's kernel started), then each
    module once, in order."""
    import threading
    import time

    import warp as wp

    import flood._complex as complex_module

    loads = []
    monkeypatch.setattr(wp, "load_module", lambda name, device=None: loads.append(name))
    event = threading.Event()
    thread = threading.Thread(
        target=complex_module._load_when, args=(event, ("a", "b"), "cpu"), daemon=True
    )
    thread.start()
    time.sleep(0.1)
    assert loads == [] and thread.is_alive()
    event.set()
    thread.join(10)
    assert loads == ["a", "b"] and not thread.is_alive()


def test_modules_preload_does_not_wait_without_fps_on_the_tree():
    import threading

    import flood._complex as complex_module
    from flood.kernels import build_tree

    # 50 landmarks: fpsample, not FPS on the tree; the event is never set by FPS
    X = np.random.default_rng(13).random((3000, 3))
    Xc = X - X.mean(axis=0)
    tree = build_tree(Xc)
    inverse = np.empty(len(X), dtype=np.int32)
    inverse[tree.order] = np.arange(len(X), dtype=np.int32)
    modules = complex_module.AFTER_FPS_MODULES["certified"]
    done = {}

    def run():
        done["out"] = complex_module._landmarks(
            X, X.mean(axis=0), tree, inverse, 50, 0, None, modules, "cpu"
        )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive() and len(done["out"][0]) == 50


def test_farthest_points_sets_its_event_before_the_kernel_runs(monkeypatch):
    import threading

    from flood.kernels import _fps, build_tree

    X = np.random.default_rng(14).random((2000, 3))
    tree = build_tree(X)
    event = threading.Event()
    seen = []
    launch = _fps.wp.launch

    class Recorded:  # the recorded launch, run when farthest_points says so
        def __init__(self, cmd):
            self.cmd = cmd

        def launch(self):
            seen.append(("run", event.is_set()))
            self.cmd.launch()

    def spy(kernel, *args, **kwargs):
        seen.append(("record", event.is_set()))
        assert kwargs.get("record_cmd")  # the lookup under Warp's lock happens here
        return Recorded(launch(kernel, *args, **kwargs))

    monkeypatch.setattr(_fps.wp, "launch", spy)
    pos = _fps.farthest_points(tree, 20, 0, launched=event)
    assert seen == [("record", False), ("run", True)] and len(pos) == 20
    monkeypatch.setattr(_fps.wp, "launch", launch)
    np.testing.assert_array_equal(pos, _fps.farthest_points(tree, 20, 0))
    ref = _fps.farthest_points_reference(tree.points.numpy(), 20, 0)
    np.testing.assert_array_equal(pos, ref)


def test_one_thread_runs_nothing_beside(monkeypatch):
    import flood._complex as complex_module
    import flood._landmarks as landmarks_module

    monkeypatch.setattr(landmarks_module, "TREE_FPS_MIN_LANDMARKS", 100)
    monkeypatch.setattr(complex_module, "OVERLAP_MIN_LANDMARKS", 100)
    seen = []
    beside = complex_module._beside

    def spy(main, func, *args):
        seen.append(func.__name__)
        return beside(main, func, *args)

    monkeypatch.setattr(complex_module, "_beside", spy)
    X = np.random.default_rng(12).random((5000, 3))
    one = flood_complex(X, 150, random_state=3, device="cpu", n_threads=1)
    assert seen == []  # n_threads=1: one core, no second thread
    two = flood_complex(X, 150, random_state=3, device="cpu", n_threads=2)
    assert seen == ["tree_fps_start", "_load_when", "_beside_qhull"]
    np.testing.assert_array_equal(one.landmark_indices, two.landmark_indices)
    for a, b in zip(one.upper, two.upper):
        np.testing.assert_array_equal(a, b)


def test_landmarks_of_a_centered_copy_with_its_shift_are_refused():
    """flood_complex's private stages take X as given (the tree is over X - shift): a caller
    passing the centered copy together with its shift would center it twice; the landmarks
    stage checks its landmarks against the tree's points and refuses."""
    import flood._complex as complex_module

    X = 5.0 + np.random.default_rng(21).random((4000, 3))
    shift = X.mean(axis=0)
    tree, inverse = complex_module._index(X, "cpu", shift)
    L, sites, _, idx = complex_module._landmarks(X, shift, tree, inverse, 1000, 0)
    np.testing.assert_array_equal(tree.points.numpy()[sites], L)
    np.testing.assert_array_equal(L, X[idx] - shift)
    with pytest.raises(RuntimeError, match="centered copy"):
        complex_module._landmarks(X - shift, shift, tree, inverse, 1000, 0)
