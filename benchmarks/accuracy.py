"""flood's certified filtration against flooder's grid estimate, on the same landmarks.

For each cloud (default: torus, swiss cheese, and a noisy genus-2 surface standing in for a
surface scan; 100k points, 1,000 landmarks) this runs, in this process and on the CPU:

- flood, ``method="certified"`` (default tol): bounds ``lower <= f(s) <= upper`` per simplex;
- flood, ``method="grid"`` on the same landmarks (``X[res.landmark_indices]``): flooder's
  estimate recomputed by flood's kernels;
- flooder 1.0.1 CPU path (``use_triton=False``, float64, ``points_per_edge=30``) on the same
  landmarks; the only run-time patch is binding ``flooder.core.tl_dtypes_dict``, which is
  unbound without triton (see ``benchmarks/_peers.py``). Its result is a dict keyed by tuples
  of positions in the landmark tensor passed, i.e. flood's landmark numbering; simplices are
  matched by those tuples (flood: scipy's Delaunay, flooder: gudhi's DelaunayComplex).

Per cloud and simplex dimension it reports the max and mean of ``|flooder - flood|``
(flood's certified filtration), the fraction of flooder values below flood's certified
lower bound (flooder's grid is only a lower bound of f, so those are grid errors larger
than the certified gap) and above the upper bound (must be 0), flood's max certified gap,
the max ``|flood grid - flooder|`` (same estimate, two implementations: ~1e-12 expected),
and the bottleneck distance between flood's and flooder's diagrams. Markdown to stdout, a
CSV to ``--csv``::

    python benchmarks/accuracy.py                      # 100k points, 1,000 landmarks
    python benchmarks/accuracy.py --quick              # 10k points, 100 landmarks, 10 per edge

flooder as shipped computes its grid weights in float32 (see ``benchmarks/_peers.py``), so
flood grid and flooder differ by ~1e-8..1e-7; ``--flooder-float64`` runs flooder with
torch's default dtype float64, and then they agree to ~1e-16.
"""

import argparse
import csv
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _peers import CLOUDS, flooder_arrays, make_cloud, run_flooder  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
COLUMNS = [
    "cloud",
    "n_points",
    "landmarks",
    "points_per_edge",
    "dim",
    "n_simplices",
    "n_unmatched",
    "tol",
    "flood_max_gap",
    "max_abs_diff",
    "mean_abs_diff",
    "frac_below_lower",
    "frac_above_upper",
    "max_grid_error_bound",
    "grid_vs_flooder_max_abs",
    "grid_vs_flooder_argmax",
    "bottleneck",
    "flood_s",
    "flood_grid_s",
    "flooder_s",
]


def _diagrams_from_values(simplices, values, dims=(0, 1, 2)):
    import gudhi

    st = gudhi.SimplexTree()
    for s, f in zip(simplices, values):
        if len(s):
            st.insert_batch(np.ascontiguousarray(s.T, dtype=np.int32), f)
    st.make_filtration_non_decreasing()
    st.compute_persistence(persistence_dim_max=True)
    out = []
    for q in dims:
        d = np.asarray(st.persistence_intervals_in_dimension(q), dtype=np.float64)
        out.append(d.reshape(-1, 2))
    return out


def compare_cloud(cloud, n, landmarks, points_per_edge=30, seed=0, flooder_float64=False):
    """Rows (one per simplex dimension 0-3) comparing flood and flooder on one cloud."""
    import gudhi

    import flood

    X = make_cloud(cloud, n, seed)
    t0 = time.perf_counter()
    res = flood.flood_complex(X, landmarks, random_state=seed, device="cpu")
    t1 = time.perf_counter()
    rows_idx = res.landmark_indices
    grid = flood.flood_complex(
        X, X[rows_idx], method="grid", points_per_edge=points_per_edge, device="cpu"
    )
    t2 = time.perf_counter()
    if grid.landmark_indices is None or not np.array_equal(grid.landmark_indices, rows_idx):
        raise RuntimeError("flood's grid run did not recover the landmark rows")
    if any(not np.array_equal(a, b) for a, b in zip(res.simplices, grid.simplices)):
        raise RuntimeError("flood's certified and grid runs triangulated differently")
    dtype = None
    if flooder_float64:
        import torch

        dtype = torch.float64
    values, flooder_s = run_flooder(
        X, rows_idx, points_per_edge, max_dimension=X.shape[1], default_dtype=dtype
    )
    fl = flooder_arrays(values, res.simplices)
    n_flooder = [0] * len(res.simplices)
    for key in values:
        if len(key) <= len(n_flooder):
            n_flooder[len(key) - 1] += 1

    dgm_flood = res.diagrams((0, 1, 2))
    # flooder's own complex (its Delaunay), every simplex with its value
    flooder_simplices = [[] for _ in res.simplices]
    flooder_values = [[] for _ in res.simplices]
    for key, v in values.items():
        flooder_simplices[len(key) - 1].append(key)
        flooder_values[len(key) - 1].append(v)
    dgm_flooder = _diagrams_from_values(
        [np.array(s, dtype=np.int64).reshape(-1, k + 1) for k, s in enumerate(flooder_simplices)],
        [np.array(v, dtype=np.float64) for v in flooder_values],
    )
    bottleneck = [gudhi.bottleneck_distance(a, b) for a, b in zip(dgm_flood, dgm_flooder)]

    rows = []
    for k in range(len(res.simplices)):
        f, g, lo, up = fl[k], grid.filtration[k], res.lower[k], res.upper[k]
        ok = np.isfinite(f)
        diff = np.abs(f[ok] - res.filtration[k][ok])
        gdiff = np.abs(g[ok] - f[ok])
        arg = ""
        if len(gdiff) and gdiff.max() > 0:
            i = np.flatnonzero(ok)[int(np.argmax(gdiff))]
            arg = f"{tuple(int(v) for v in res.simplices[k][i])}: flood {g[i]!r} flooder {f[i]!r}"
        rows.append(
            {
                "cloud": cloud,
                "n_points": n,
                "landmarks": landmarks,
                "points_per_edge": points_per_edge,
                "dim": k,
                "n_simplices": len(res.simplices[k]),
                "n_unmatched": int((~ok).sum()) + max(n_flooder[k] - int(ok.sum()), 0),
                "tol": res.tol,
                "flood_max_gap": float((up - lo).max()) if len(up) else 0.0,
                "max_abs_diff": float(diff.max()) if len(diff) else 0.0,
                "mean_abs_diff": float(diff.mean()) if len(diff) else 0.0,
                "frac_below_lower": float(np.mean(f[ok] < lo[ok])) if ok.any() else 0.0,
                "frac_above_upper": float(np.mean(f[ok] > up[ok] + 1e-12)) if ok.any() else 0.0,
                # the exact f is >= lower, so flooder is off by at least lower - flooder
                "max_grid_error_bound": float(np.maximum(lo[ok] - f[ok], 0).max())
                if ok.any()
                else 0.0,
                "grid_vs_flooder_max_abs": float(gdiff.max()) if len(gdiff) else 0.0,
                "grid_vs_flooder_argmax": arg,
                "bottleneck": bottleneck[k] if k < len(bottleneck) else float("nan"),
                "flood_s": t1 - t0,
                "flood_grid_s": t2 - t1,
                "flooder_s": flooder_s,
            }
        )
    return rows


def _fmt(x):
    if isinstance(x, str):
        return x
    if isinstance(x, (int, np.integer)):
        return f"{x:,}"
    return f"{x:.3g}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clouds", default="torus,cheese,genus", help=f"comma list of {CLOUDS}")
    p.add_argument("--n-points", type=int, default=None, help="default 100k")
    p.add_argument("--landmarks", type=int, default=None, help="default 1000")
    p.add_argument("--points-per-edge", type=int, default=None, help="default 30")
    p.add_argument(
        "--flooder-float64",
        action="store_true",
        help="run flooder with torch's default dtype float64 (exact grid weights)",
    )
    p.add_argument("--csv", default=str(HERE / "results" / "accuracy.csv"))
    p.add_argument("--quick", action="store_true", help="10k points, 100 landmarks, 10/edge")
    args = p.parse_args(argv)
    quick = (10_000, 100, 10) if args.quick else (100_000, 1000, 30)
    args.n_points = args.n_points or quick[0]
    args.landmarks = args.landmarks or quick[1]
    args.points_per_edge = args.points_per_edge or quick[2]
    rows = []
    for cloud in args.clouds.split(","):
        rows += compare_cloud(
            cloud,
            args.n_points,
            args.landmarks,
            args.points_per_edge,
            flooder_float64=args.flooder_float64,
        )
        print(
            f"# {cloud}: flood {rows[-1]['flood_s']:.1f} s, flood grid "
            f"{rows[-1]['flood_grid_s']:.1f} s, flooder {rows[-1]['flooder_s']:.1f} s",
            flush=True,
        )
    path = pathlib.Path(args.csv)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    from scaling import git_commit

    print(
        f"\nflood commit {git_commit()}; {args.n_points:,} points, {args.landmarks} landmarks, "
        f"flooder points_per_edge={args.points_per_edge}, torch default dtype "
        f"{'float64' if args.flooder_float64 else 'float32 (as shipped)'}; CPU\n"
    )
    cols = [
        "cloud",
        "dim",
        "n_simplices",
        "n_unmatched",
        "tol",
        "flood_max_gap",
        "max_abs_diff",
        "mean_abs_diff",
        "frac_below_lower",
        "frac_above_upper",
        "max_grid_error_bound",
        "grid_vs_flooder_max_abs",
        "bottleneck",
    ]
    heads = [
        "cloud",
        "dim",
        "simplices",
        "unmatched",
        "tol",
        "flood max gap",
        "max abs(flooder - flood)",
        "mean abs(flooder - flood)",
        "flooder < lower",
        "flooder > upper",
        "max(lower - flooder)",
        "max abs(flood grid - flooder)",
        "bottleneck H_dim",
    ]
    print("| " + " | ".join(heads) + " |")
    print("|" + "---|" * len(heads))
    for r in rows:
        r = dict(r, bottleneck=r["bottleneck"] if r["dim"] < 3 else "")
        print("| " + " | ".join(_fmt(r[c]) for c in cols) + " |")
    worst = max(rows, key=lambda r: r["grid_vs_flooder_max_abs"])
    print(
        f"\nlargest |flood grid - flooder|: {worst['cloud']} dim {worst['dim']}: "
        f"{worst['grid_vs_flooder_argmax'] or 'none'}"
    )
    print(f"CSV: {path}")
    return rows


if __name__ == "__main__":
    main()
