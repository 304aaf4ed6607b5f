"""flood.estimate against measured runs: predicted / measured CPU seconds and peak memory.

Each run is a fresh interpreter, so the high-water mark it reads is its own: it makes the
cloud, warms up (a 300-point run loads the kernels), resets Linux's VmHWM to the current RSS
(``/proc/self/clear_refs``), then runs ``flood_complex(X, landmarks).diagrams()`` and prints
its process CPU seconds (all threads), wall seconds and the growth of VmHWM: the quantities
``estimate(...).total_cpu_seconds`` and ``.run_peak_bytes`` predict. ``--stages`` instead runs
the stages one by one (flood's private stage functions, as ``flood_complex`` calls them) and
reads each stage's CPU seconds and peak, and the refinement's CPU per simplex dimension: the
per-point and per-simplex costs of ``flood/_costs.py`` come from these tables
(benchmarks/RESULTS.md, issue 31 point 6)::

    python benchmarks/estimate.py
    python benchmarks/estimate.py --runs cube:300000:300:3,torus:1000000:1000:3
    python benchmarks/estimate.py --stages --runs cube:1000000:1000:3,cube:100000:100:4
    python benchmarks/estimate.py --delaunay 3:100,3:1000,3:10000

``--delaunay dim:L,...`` counts the simplices per landmark of Del(L) for L FPS landmarks of
200,000 uniform points in [0, 1]^dim (``SIMPLICES_PER_LANDMARK``). A run is
``cloud:n_points:landmarks:dim[:max_dimension]``; clouds ``cube`` (uniform in
[0, 1]^dim) and ``gauss`` (standard normal) in any dimension, ``cheese`` and ``torus`` in 3-D.
Linux only (VmHWM).
"""

import argparse
import json
import os
import subprocess
import sys
import textwrap

#: Runs not used to fit the costs (R31's fits used 1e4-3e6 points at 10-10^4 points per
#: landmark): other sizes, ratios and clouds.
DEFAULT_RUNS = (
    "cube:250000:500:3",
    "cheese:500000:2000:3",
    "torus:500000:500:3",
    "gauss:200000:2000:3",
    "cube:600000:200:2",
    "cube:150000:600:4",
    "cube:2000000:100:3:1",
)

CHILD = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    from flood import flood_complex

    cloud, n, landmarks, dim, max_dimension, stages = {args!r}
    rng = np.random.default_rng(0)
    if cloud == "cube":
        X = rng.uniform(size=(n, dim))
    elif cloud == "gauss":
        X = rng.standard_normal((n, dim))
    elif cloud == "cheese":
        from flood.datasets import make_swiss_cheese
        X = make_swiss_cheese(n, n_voids=10, random_state=0)
    else:
        from flood.datasets import make_torus
        X = make_torus(n, R=1.0, r=0.35, noise=0.01, random_state=0)

    def status(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))

    def reset():
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")

    flood_complex(X[:300], 2 * (dim + 1), device="cpu", random_state=0).diagrams()
    reset()
    base = status("VmRSS:")
    out = {{"args": [cloud, n, landmarks, dim, max_dimension]}}
    if not stages:
        c0, t0 = time.process_time(), time.perf_counter()
        res = flood_complex(X, landmarks, max_dimension=max_dimension, device="cpu",
                            random_state=0)
        t1 = time.perf_counter()
        res.diagrams()
        out.update(cpu=time.process_time() - c0, wall=time.perf_counter() - t0,
                   peak=status("VmHWM:") - base, timings=dict(res.timings,
                   persistence=time.perf_counter() - t1), n_simplices=res.n_simplices)
        print(json.dumps(out))
        sys.exit()

    import flood._certify as certify
    from flood._complex import _certified_filtration, _index, _landmarks

    per_k, bound = {{}}, certify._bound_dimension

    def timed(tree, corners, *args, **kwargs):  # the refinement's CPU per simplex dimension
        c0 = time.process_time()
        result = bound(tree, corners, *args, **kwargs)
        per_k[corners.shape[1] - 1] = time.process_time() - c0
        return result

    certify._bound_dimension = timed
    from flood._landmarks import covering_radius
    from flood._result import FloodResult
    from flood._stages import default_tol, triangulate_landmarks

    def stage(name, f):
        reset()
        c0 = time.process_time()
        r = f()
        out[name] = dict(cpu=time.process_time() - c0, peak=status("VmHWM:") - base)
        return r

    shift = X.mean(axis=0)  # the tree is over X - shift, as flood_complex builds it
    tree, inverse = stage("index", lambda: _index(X, "cpu", shift))
    (L, sites, vv, _), cover = stage("landmarks", lambda: (
        lambda r: (r, covering_radius(tree, r[0], device="cpu", n_threads=2)))(
        _landmarks(X, shift, tree, inverse, landmarks, 0)))
    Xc = tree.points.numpy()  # X - shift in tree order: the same singular values
    assert np.array_equal(Xc[sites], L), "landmarks and tree disagree (centered twice?)"
    simplices, facets = stage("delaunay", lambda: triangulate_landmarks(L, Xc, max_dimension))
    tol = default_tol(cover, L, simplices)
    bounds = stage("filtration", lambda: _certified_filtration(
        tree, L, sites, simplices, facets, vv, tol, 2, False))
    del tree, Xc, inverse
    res = FloodResult(landmarks=L, landmark_indices=None, covering_radius=cover,
                      simplices=simplices, tol=tol, method="certified", **bounds)
    stage("persistence", lambda: res.diagrams())
    out["n_simplices"] = res.n_simplices
    out["us_per_simplex"] = [1e6 * per_k[k] / res.n_simplices[k] for k in sorted(per_k)]
    print(json.dumps(out))
    """
)


def parse_run(text):
    parts = text.split(":")
    if len(parts) not in (4, 5) or parts[0] not in ("cube", "gauss", "cheese", "torus"):
        raise ValueError(f"a run is cloud:n_points:landmarks:dim[:max_dimension]; got {text!r}")
    n, landmarks, dim = (int(p) for p in parts[1:4])
    if parts[0] in ("cheese", "torus") and dim != 3:
        raise ValueError(f"{parts[0]} clouds are 3-D; got {text!r}")
    return parts[0], n, landmarks, dim, int(parts[4]) if len(parts) == 5 else dim


def measure(run, stages=False, timeout=900):
    """One run in a fresh interpreter; its JSON record."""
    code = CHILD.format(args=(*run, stages))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(f"run {run} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(record):
    """(predicted, measured) CPU seconds and peak MiB of a whole-run record."""
    from flood import estimate

    cloud, n, landmarks, dim, max_dimension = record["args"]
    est = estimate(n, dim, landmarks, max_dimension=max_dimension)
    mib = 2.0**20
    return (est.total_cpu_seconds, record["cpu"]), (est.run_peak_bytes / mib, record["peak"] / mib)


def delaunay_counts(dim, n_landmarks, n_points=200_000):
    """Simplices per landmark of Del(L), dimensions 1..dim, and Qhull's CPU seconds."""
    import time

    import numpy as np

    from flood._delaunay import triangulate
    from flood._landmarks import farthest_point_sampling

    X = np.random.default_rng(0).uniform(size=(n_points, dim))
    L = X[farthest_point_sampling(X, n_landmarks, 0)]
    start = time.process_time()
    simplices, _ = triangulate(L, dim)
    seconds = time.process_time() - start
    return [len(s) / n_landmarks for s in simplices[1:]], seconds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", default=",".join(DEFAULT_RUNS), help="comma-separated runs")
    p.add_argument("--stages", action="store_true", help="per-stage CPU seconds and peaks")
    p.add_argument("--delaunay", default=None, help="dim:landmarks,...: simplices of Del(L)")
    args = p.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.delaunay:
        print("| dim | landmarks | simplices per landmark, dimension 1..dim | Qhull CPU s |")
        print("|---|---|---|---|")
        for item in args.delaunay.split(","):
            dim, n_landmarks = (int(v) for v in item.split(":"))
            per, seconds = delaunay_counts(dim, n_landmarks)
            print(
                f"| {dim} | {n_landmarks:,} | {' / '.join(f'{v:.2f}' for v in per)} | "
                f"{seconds:.3g} |"
            )
        return
    runs = [parse_run(r) for r in args.runs.split(",")]
    if args.stages:
        stages = ("index", "landmarks", "delaunay", "filtration", "persistence")
        print(
            "| run | simplices | "
            + " | ".join(f"{s} CPU s / MiB" for s in stages)
            + " | filtration us per k-simplex |"
        )
        print("|---|---|" + "---|" * (len(stages) + 1))
        for run in runs:
            r = measure(run, stages=True)
            cells = [f"{r[s]['cpu']:.3g} / {r[s]['peak'] / 2**20:.0f}" for s in stages]
            simplices = " / ".join(f"{c:,}" for c in r["n_simplices"])
            per_k = " / ".join(f"{v:.3g}" for v in r["us_per_simplex"])
            print(
                f"| {':'.join(map(str, run))} | {simplices} | "
                + " | ".join(cells)
                + f" | {per_k} |"
            )
        return
    print(
        "| run | CPU s predicted | measured | ratio | peak MiB predicted | measured | ratio "
        "| wall s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for run in runs:
        r = measure(run)
        (cp, cm), (mp, mm) = compare(r)
        print(
            f"| {':'.join(map(str, run))} | {cp:.3g} | {cm:.3g} | {cp / cm:.2f} | {mp:.0f} | "
            f"{mm:.0f} | {mp / mm:.2f} | {r['wall']:.3g} |"
        )


if __name__ == "__main__":
    main()
