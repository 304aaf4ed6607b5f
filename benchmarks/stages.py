"""flood's index and landmark stages against their floors, side by side in one process.

For each cloud: the build of flood's tree (``flood.kernels.build_tree``) against
``scipy.spatial.cKDTree(X)``; flood's farthest point sampling (``fpsample``'s bucket FPS
behind a random rotation; from ``TREE_FPS_MIN_LANDMARKS`` on, FPS on the tree from
fpsample's start) against ``fpsample.bucket_fps_kdline_sampling`` called directly with the
same ``h``; the exact covering radius (``flood._landmarks.covering_radius`` on the tree, two
threads) against ``cKDTree(L).query(X, workers=2)``; and flood_complex's first stages
together (input check, centring, tree, landmarks and covering radius, as it runs them)
against one ``cKDTree(X)`` build (issue 30: flood end to end <= 5 builds). Median of
``--repeats`` wall times; the ratio column is flood / floor (target <= 1.5). The header
records a two-core check (``_peers.two_core_ratio``), as flood's tree build and covering
radius run two threads::

    python benchmarks/stages.py --clouds cheese,torus --sizes 1000000 --landmarks 1000
    python benchmarks/stages.py --quick
"""

import argparse
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _peers import make_cloud, two_core_ratio  # noqa: E402


def _median_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def measure(cloud, n, landmarks, repeats):
    """Rows (stage, flood s, floor s, ratio) for one cloud."""
    import fpsample
    from scipy.spatial import cKDTree

    from flood import _complex
    from flood._landmarks import covering_radius, farthest_point_sampling
    from flood._warp import init_warp
    from flood.kernels import build_tree

    init_warp()  # quietly, as flood_complex does (no CPU-host CUDA banner)
    X = make_cloud(cloud, n, 0)
    X = X - X.mean(axis=0)
    build_tree(X[:1000])  # compile outside the timings
    t_tree, tree = _median_time(lambda: build_tree(X), repeats)
    t_kd, _ = _median_time(lambda: cKDTree(X), repeats)
    h = 9 if n > 200_000 else 7 if n > 80_000 else 5
    t_fps, idx = _median_time(lambda: farthest_point_sampling(X, landmarks, 0, tree), repeats)
    t_fp, _ = _median_time(lambda: fpsample.bucket_fps_kdline_sampling(X, landmarks, h=h), repeats)
    L = X[idx]
    t_cov, cover = _median_time(lambda: covering_radius(tree, L), repeats)
    t_ckd, ref = _median_time(lambda: cKDTree(L).query(X, workers=2)[0].max(), repeats)
    if cover != ref:
        raise AssertionError(f"covering radius {cover!r} differs from cKDTree's {ref!r}")
    t_first, _ = _median_time(lambda: _first_stages(_complex, X, landmarks), repeats)
    return [
        (cloud, n, "tree build vs cKDTree(X)", t_tree, t_kd),
        (cloud, n, "FPS vs fpsample", t_fps, t_fp),
        (cloud, n, "covering radius vs cKDTree query", t_cov, t_ckd),
        (cloud, n, "check + index + landmarks vs cKDTree(X)", t_first, t_kd),
    ]


def _first_stages(_complex, X, landmarks):
    """flood_complex's stages before the Delaunay triangulation, as it runs them."""
    X, landmarks, _, _ = _complex._check_input(X, landmarks, None, None, "certified", 30, 2)
    shift = _complex.column_means(X)
    tree, inverse = _complex._index(X, "cpu", shift)  # over X - shift, as flood_complex
    L, *_ = _complex._landmarks(X, shift, tree, inverse, landmarks, 0)
    return _complex.covering_radius(tree, L, device="cpu", n_threads=2)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clouds", default="cheese,torus")
    p.add_argument("--sizes", default="1000000")
    p.add_argument("--landmarks", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="50k cube, 200 landmarks, 1 repeat")
    args = p.parse_args(argv)
    if args.quick:
        args.clouds, args.sizes, args.landmarks, args.repeats = "cube", "50000", 200, 1
    rows = []
    for cloud in args.clouds.split(","):
        for n in (int(float(s)) for s in args.sizes.split(",")):
            rows += measure(cloud, n, args.landmarks, args.repeats)
    print(
        f"\nlandmarks {args.landmarks}; median of {args.repeats}; seconds; two-core check "
        f"{two_core_ratio():.2f} (two processes / one; 1.00 = two free cores)\n"
    )
    print("| cloud | N | stage | flood | floor | flood / floor |")
    print("|---|---|---|---|---|---|")
    for cloud, n, stage, a, b in rows:
        print(f"| {cloud} | {n:,} | {stage} | {a:.3f} | {b:.3f} | {a / b:.2f} |")
    return rows


if __name__ == "__main__":
    main()
