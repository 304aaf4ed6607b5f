"""Shared helpers of the benchmarks: clouds, the peers (flooder, gudhi Alpha), subprocess runs.

flooder 1.0.1 on CPU
--------------------
``flooder.core`` imports its Triton kernels inside ``try: ... except Exception``; without
triton the import fails silently and the module-level name ``tl_dtypes_dict`` is never
bound, so ``flooder.core.flood_complex`` raises ``NameError`` at its dtype check even with
``use_triton=False``. :func:`patch_flooder` binds that one name at run time::

    import flooder.core as fc
    fc.tl_dtypes_dict = {torch.float32: None, torch.float64: None}

and touches nothing else (no file of flooder is edited). It is only used as a membership
test (``if dtype not in tl_dtypes_dict``) on the CPU path. flooder is then called with
``use_triton=False``, float64 tensors on the CPU, and the landmarks flood picked
(``X[res.landmark_indices]``: the same rows of X, bit for bit; ``res.landmarks`` is
``(X - mean)[idx] + mean`` and can differ from them in the last bit).

flooder's grid weights are float32
----------------------------------
``generate_grid`` builds the barycentric weights with ``torch.divide(grid, n - 1,
out=grid_float)``: an int64 tensor divided by an int is computed in torch's *default* dtype
(float32) and only then stored in the float64 ``out``. Its grid points are off by up to
~3e-8 times the coordinates, so its values differ from an exact float64 grid (flood's
``method="grid"``) by ~1e-8 to 1e-7. ``run_flooder(..., default_dtype=torch.float64)``
sets ``torch.set_default_dtype`` around the call (and restores it): then the two agree to
~1e-16. The default (None) runs flooder as shipped.
"""

import multiprocessing
import os
import pathlib
import resource
import time
import traceback

os.environ.setdefault(
    "WARP_CACHE_PATH", str(pathlib.Path(__file__).resolve().parents[1] / "build" / "warp-cache")
)

import numpy as np  # noqa: E402

CLOUDS = ("torus", "cube", "cheese", "genus", "sphere", "gauss5", "gauss6")


def make_cloud(name, n_points, seed=0):
    """The benchmark clouds, float64 of shape (n_points, 3) (``gauss5``/``gauss6``: 5, 6).

    ``torus``: R=1, r=0.3, noise 0; ``cube``: uniform in [0, 1]^3; ``cheese``: swiss cheese
    in [0, 5]^3 with 10 voids; ``genus``: genus-2 surface with noise 0.005 (a scan-like
    surface cloud); ``sphere``: unit sphere with noise 0.01; ``gauss5``, ``gauss6``: standard
    normal in 5-D and 6-D.
    """
    from flood.datasets import make_genus_surface, make_sphere, make_swiss_cheese, make_torus

    if name == "torus":
        return make_torus(n_points, random_state=seed)
    if name == "cube":
        return np.random.default_rng(seed).uniform(0.0, 1.0, size=(n_points, 3))
    if name == "cheese":
        return make_swiss_cheese(n_points, random_state=seed)
    if name == "genus":
        return make_genus_surface(n_points, genus=2, noise=0.005, random_state=seed)
    if name == "sphere":
        return make_sphere(n_points, noise=0.01, random_state=seed)
    if name in ("gauss5", "gauss6"):
        return np.random.default_rng(seed).normal(size=(n_points, int(name[-1])))
    raise ValueError(f"The 'cloud' must be one of {CLOUDS}. Got {name!r} instead.")


def peak_rss_mb():
    """Peak resident set size of this process, in MiB: Linux's ``VmHWM`` (the high-water
    mark of this address space), else ``ru_maxrss``. ``ru_maxrss`` survives fork and exec: a
    process started by a big one (a dask worker started from a test run, a spawned job)
    reports its parent's peak until it exceeds it."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def patch_flooder():
    """Import ``flooder.core`` and bind the ``tl_dtypes_dict`` its CPU path needs."""
    import flooder.core as fc
    import torch

    if not hasattr(fc, "tl_dtypes_dict"):
        fc.tl_dtypes_dict = {torch.float32: None, torch.float64: None}
    return fc


def run_flooder(X, landmark_rows, points_per_edge=30, max_dimension=3, default_dtype=None):
    """flooder's CPU path on X with the landmarks ``X[landmark_rows]``.

    Returns
    -------
    values : dict
        Simplex (tuple of positions in ``landmark_rows``) -> filtration value.
    seconds : float
    """
    import warnings

    import torch

    fc = patch_flooder()
    pts = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64))
    lms = torch.from_numpy(np.ascontiguousarray(X[np.asarray(landmark_rows)], dtype=np.float64))
    old = torch.get_default_dtype()
    if default_dtype is not None:
        torch.set_default_dtype(default_dtype)
    try:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="Using float64 in Triton", category=RuntimeWarning
            )
            out = fc.flood_complex(
                pts,
                lms,
                max_dimension=max_dimension,
                points_per_edge=points_per_edge,
                use_triton=False,
            )
        seconds = time.perf_counter() - t0
    finally:
        torch.set_default_dtype(old)
    return out, seconds


def flooder_arrays(values, simplices):
    """flooder's values in the order of flood's simplices (NaN where flooder lacks one)."""
    out = []
    for S in simplices:
        out.append(np.array([values.get(tuple(map(int, s)), np.nan) for s in S], dtype=np.float64))
    return out


def run_alpha(X, max_dimension=3):
    """gudhi's Alpha complex on all of X (radii, not squared): build and persistence times."""
    import gudhi

    t0 = time.perf_counter()
    st = gudhi.AlphaComplex(points=X).create_simplex_tree(output_squared_values=False)
    t1 = time.perf_counter()
    st.compute_persistence(persistence_dim_max=max_dimension >= 3)
    t2 = time.perf_counter()
    return {"build": t1 - t0, "persistence": t2 - t1, "total": t2 - t0, "n": st.num_simplices()}


def kdtree_build_seconds(X, repeats=3):
    """Median wall time of ``scipy.spatial.cKDTree(X)``."""
    from scipy.spatial import cKDTree

    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        cKDTree(X)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _burn(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


def two_core_ratio(n=3_000_000):
    """Wall time of a pure-Python loop in two processes at once over its time in one (min of
    two tries each): 1.0 when both cores are free, up to 2.0 when only one is. flood runs two
    threads and its peers one, so a benchmark table records this beside its ratios."""
    ctx = multiprocessing.get_context("spawn")
    one, two = [], []
    with ctx.Pool(2) as pool:
        pool.map(_burn, [1000, 1000])  # workers started
        for _ in range(2):
            t0 = time.perf_counter()
            pool.apply(_burn, (n,))
            one.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            pool.map(_burn, [n, n], chunksize=1)
            two.append(time.perf_counter() - t0)
    return min(two) / min(one)


# ----------------------------------------------------------------------------------------
# Jobs run in a fresh (spawned) process, so that a slow peer can be killed on a timeout and
# every method gets its own peak RSS. Each job regenerates its cloud from (name, n, seed).


def _job_flood(cloud, n, seed, landmarks, tol=None, kdtree=True):
    import flood
    from flood._progress import compile_kernels
    from flood._warp import init_warp

    X = make_cloud(cloud, n, seed)
    init_warp()  # Warp's native libraries load before the clock, as torch's do for flooder
    # kernels missing from Warp's cache (a first run on a machine, or from another checkout
    # path: its module hashes differ) compile before the clock, ~10-25 s; cached ones are
    # loaded in the timed call, as in a user's every later run
    compile_kernels("certified", "cpu")
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    res = flood.flood_complex(X, landmarks, tol=tol, random_state=seed, device="cpu")
    t1 = time.perf_counter()
    res.diagrams((0, 1, 2))
    t2 = time.perf_counter()
    out = {
        "seconds": t2 - t0,
        "complex": t1 - t0,
        "timings": dict(res.timings, persistence=t2 - t1),
        "n_simplices": res.n_simplices,
        "max_gap": res.max_gap,
        "tol": res.tol,
        "covering_radius": res.covering_radius,
        "evaluations": {int(k): float(v) for k, v in res.evaluations.items()},
        "max_sites": max(res.work.get("max_sites", {0: 0}).values()),
        "splits": sum(res.work.get("splits", {0: 0}).values()),
        "landmark_indices": res.landmark_indices,
        "rss_before_mb": rss0,
        "peak_rss_mb": peak_rss_mb(),
    }
    if kdtree:
        out["kdtree"] = kdtree_build_seconds(X)
    return out


def _job_flooder(cloud, n, seed, landmark_rows, points_per_edge=30):
    X = make_cloud(cloud, n, seed)
    values, seconds = run_flooder(X, landmark_rows, points_per_edge)
    n_simplices = [0, 0, 0, 0]
    for key in values:
        n_simplices[len(key) - 1] += 1
    return {"seconds": seconds, "n_simplices": n_simplices, "peak_rss_mb": peak_rss_mb()}


def _job_alpha(cloud, n, seed):
    X = make_cloud(cloud, n, seed)
    out = run_alpha(X)
    return {"seconds": out["total"], **out, "peak_rss_mb": peak_rss_mb()}


JOBS = {"flood": _job_flood, "flooder": _job_flooder, "alpha": _job_alpha}


def _child(conn, job, kwargs):
    try:
        target = job if callable(job) else JOBS[job]
        conn.send(("ok", target(**kwargs)))
    except BaseException:  # report anything, the parent decides
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def run_job(job, timeout=None, daemon=True, **kwargs):
    """Run ``JOBS[job](**kwargs)`` (or ``job(**kwargs)`` for a module-level function) in a
    spawned process; None when it exceeds ``timeout`` s. ``daemon=False`` lets the job start
    processes of its own (a Dask LocalCluster).

    Raises RuntimeError with the child's traceback when the job fails.
    """
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, job, kwargs), daemon=daemon)
    proc.start()
    child.close()
    try:
        ready = parent.poll(timeout)
        if not ready:
            return None
        status, payload = parent.recv()
    except EOFError:
        name = getattr(job, "__name__", job)
        status, payload = "error", f"worker of {name!r} died (exit code {proc.exitcode})"
    finally:
        if proc.is_alive() and not parent.closed:
            proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
        parent.close()
    if status != "ok":
        raise RuntimeError(f"{getattr(job, '__name__', job)} failed:\n{payload}")
    return payload
