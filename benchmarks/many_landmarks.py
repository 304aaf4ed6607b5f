"""flood at 10^3, 10^4 and 10^5 landmarks on one cloud, every stage, in one run (issue 30).

One cloud (default: the 1M-point swiss cheese, ``_peers.make_cloud("cheese", 1_000_000, 0)``),
one ``scipy.spatial.cKDTree`` build of it (median of ``--repeats``), then
:func:`flood.flood_complex` (certified, default tol, ``random_state=0``, ``n_threads=2``, CPU)
at each landmark count: its stages (``res.timings``: index, landmarks, delaunay, filtration),
the diagrams stage (``res.diagrams((0, 1, 2))`` timed: persistence and reading the pairs),
the total, the simplex counts, the CPU seconds of the whole call (both threads; the
machine may be shared, wall times move with its load) and total / cKDTree build. The
kernels are compiled on a small cloud first, outside the timings. The header records the
commit, the load average and a two-core check (``_peers.two_core_ratio``), as flood runs
two threads and the cKDTree build one::

    python benchmarks/many_landmarks.py                      # 1,000 / 10,000 / 100,000
    python benchmarks/many_landmarks.py --landmarks 1000,10000 \\
        --csv benchmarks/results/many_landmarks.csv
    python benchmarks/many_landmarks.py --quick              # 50k points, 200 / 2,000
"""

import argparse
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _peers import kdtree_build_seconds, make_cloud, two_core_ratio  # noqa: E402
from scaling import git_commit, markdown, write_csv  # noqa: E402

STAGES = ("index", "landmarks", "delaunay", "filtration", "diagrams")
COLUMNS = [
    "cloud",
    "n_points",
    "landmarks",
    *(f"{s}_s" for s in STAGES),
    "total_s",
    "cpu_s",
    "n_vertices",
    "n_edges",
    "n_triangles",
    "n_tetrahedra",
    "n_simplices",
    "n_pairs",
    "kdtree_s",
    "total_over_kdtree",
]
HEADERS = [
    "landmarks",
    *STAGES,
    "total",
    "CPU",
    "simplices",
    "pairs H0-H2",
    "total / cKDTree",
]
#: Homology dimensions of the issue's measurement (H0-H2 of a 3-D cloud).
HOMOLOGY_DIMENSIONS = (0, 1, 2)
#: Warm-up cloud: big enough to compile and load every kernel of the certified path (FPS on
#: the tree from flood._landmarks.TREE_FPS_MIN_LANDMARKS = 1,000 landmarks), small enough to
#: take well under a second once they are cached.
WARMUP_POINTS, WARMUP_LANDMARKS = 5000, 1000


def _warm_up(cloud):
    from flood import flood_complex
    from flood._warp import init_warp

    init_warp()
    res = flood_complex(make_cloud(cloud, WARMUP_POINTS, 1), WARMUP_LANDMARKS, device="cpu")
    res.diagrams(HOMOLOGY_DIMENSIONS)


def measure(X, cloud, landmarks, kdtree_s, seed=0):
    """One row: flood_complex at ``landmarks`` landmarks, then its diagrams."""
    from flood import flood_complex

    c0, t0 = time.process_time(), time.perf_counter()
    res = flood_complex(X, landmarks, random_state=seed, n_threads=2, device="cpu")
    t1 = time.perf_counter()
    dgms = res.diagrams(HOMOLOGY_DIMENSIONS)
    t2, c2 = time.perf_counter(), time.process_time()
    row = {"cloud": cloud, "n_points": len(X), "landmarks": landmarks}
    for s in STAGES[:-1]:
        row[f"{s}_s"] = res.timings[s]
    row["diagrams_s"] = t2 - t1
    row["total_s"] = t2 - t0
    row["cpu_s"] = c2 - c0
    counts = list(res.n_simplices) + [0] * 4
    for k, name in enumerate(("vertices", "edges", "triangles", "tetrahedra")):
        row[f"n_{name}"] = counts[k]
    row["n_simplices"] = sum(res.n_simplices)
    row["n_pairs"] = "/".join(str(len(d)) for d in dgms)
    row["kdtree_s"] = kdtree_s
    row["total_over_kdtree"] = row["total_s"] / kdtree_s
    return row


def _load():
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cloud", default="cheese", help="a cloud of benchmarks/_peers.make_cloud")
    p.add_argument("--sizes", default="1000000", help="points, comma-separated")
    p.add_argument("--landmarks", default="1000,10000,100000", help="comma-separated")
    p.add_argument("--repeats", type=int, default=3, help="cKDTree builds (median)")
    p.add_argument("--csv", default="", help="also write the rows to this CSV")
    p.add_argument("--quick", action="store_true", help="50k points, 200 and 2,000 landmarks")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.landmarks, args.repeats = "50000", "200,2000", 1
    _warm_up(args.cloud)
    rows = []
    for n in (int(float(s)) for s in args.sizes.split(",")):
        X = make_cloud(args.cloud, n, 0)
        kdtree_s = kdtree_build_seconds(X, args.repeats)
        for m in (int(float(s)) for s in args.landmarks.split(",")):
            rows.append(measure(X, args.cloud, m, kdtree_s))
        print(
            f"\n{args.cloud} N={n:,}, commit {git_commit()}; cKDTree build {kdtree_s:.3f} s "
            f"(median of {args.repeats}); wall seconds; load {_load()}; two-core check "
            f"{two_core_ratio():.2f} (two processes / one; 1.00 = two free cores)\n"
        )
        print(markdown([r for r in rows if r["n_points"] == n], _table_columns(), HEADERS))
    if args.csv:
        write_csv(args.csv, rows, COLUMNS)
        print(f"\nCSV: {args.csv}")
    return rows


def _table_columns():
    return ["landmarks", *(f"{s}_s" for s in STAGES), "total_s", "cpu_s", "n_simplices"] + [
        "n_pairs",
        "total_over_kdtree",
    ]


if __name__ == "__main__":
    main()
