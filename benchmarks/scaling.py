"""Wall time of flood against flooder (CPU) and gudhi's Alpha complex, H0-H2, same run.

Every method runs in its own spawned process on a cloud regenerated from (cloud, N, seed),
so a peer over ``--timeout-peer`` seconds is killed and recorded as "> T s", and each gets
its own peak RSS. flood: ``flood_complex(X, landmarks, device="cpu")`` with the default
certified tolerance, then its diagrams (stage ``persistence``). flooder 1.0.1: CPU path with
``points_per_edge=30`` on the landmarks flood picked (see ``benchmarks/_peers.py`` for the
one name patched at run time: ``flooder.core.tl_dtypes_dict``, unbound without triton).
Alpha: ``gudhi.AlphaComplex(points=X).create_simplex_tree(output_squared_values=False)``
and ``compute_persistence()``, both timed, on all of X. The last column divides flood's
filtration stage by the build time of ``scipy.spatial.cKDTree(X)`` (target <= 3).
The header of each table records a two-core check (``_peers.two_core_ratio``: a Python loop
in two processes at once over one; 1.00 when both cores are free): flood runs two threads,
Alpha and the cKDTree build one, so their ratio moves with it.

Prints a markdown table, writes a CSV and a log-log plot (time against N per method)::

    python benchmarks/scaling.py --clouds torus,cube,cheese --sizes 100000,1000000 \\
        --landmarks 1000 --peers flooder,alpha --repeats 1 --timeout-peer 400
    python benchmarks/scaling.py --quick            # smoke test, well under a minute
    python benchmarks/scaling.py --scaling          # flood alone, N = 1e5 ... 1e7

With ``--scaling`` only flood runs (``--sizes`` default 1e5, 3e5, 1e6, 3e6, 1e7; one
cloud, default ``cheese``): time and peak RSS per N and the fitted log-log slope of time
against N. Times in the child include neither imports nor data generation.
"""

import argparse
import csv
import pathlib
import subprocess
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _peers import CLOUDS, run_job, two_core_ratio  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
STAGES = ("index", "landmarks", "delaunay", "filtration", "persistence")
COLUMNS = [
    "cloud",
    "n_points",
    "seed",
    "landmarks",
    "repeat",
    *(f"flood_{s}_s" for s in STAGES),
    "flood_s",
    "flood_peak_rss_mb",
    "n_edges",
    "n_triangles",
    "n_tetrahedra",
    "tol",
    "max_gap",
    "evals_edge",
    "evals_triangle",
    "evals_tetrahedron",
    "max_sites",
    "splits",
    "kdtree_s",
    "filtration_over_kdtree",
    "total_over_kdtree",
    "flooder_s",
    "flooder_over_flood",
    "alpha_build_s",
    "alpha_persistence_s",
    "alpha_s",
    "alpha_over_flood",
    "alpha_peak_rss_mb",
]


def git_commit():
    """Commit of the flood that is imported: ``HEAD`` of its checkout (``+dirty`` with
    uncommitted changes), or the ``COMMIT`` file next to a snapshot put on PYTHONPATH."""
    import flood

    root = pathlib.Path(flood.__file__).resolve().parents[1]
    if (root / "COMMIT").exists():
        return (root / "COMMIT").read_text().strip() + f" (snapshot at {root})"
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _fmt(x, digits=3):
    if x is None or x == "":
        return ""
    if isinstance(x, str):
        return x
    if isinstance(x, (int, np.integer)):
        return f"{x:,}"
    if not np.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"


def _peer(row, name, result, timeout, flood_s):
    if result is None:
        row[f"{name}_s"] = f"> {timeout:g}"
        row[f"{name}_over_flood"] = f"> {timeout / flood_s:.3g}"
        return
    row[f"{name}_s"] = result["seconds"]
    row[f"{name}_over_flood"] = result["seconds"] / flood_s
    if name == "alpha":
        row["alpha_build_s"] = result["build"]
        row["alpha_persistence_s"] = result["persistence"]
        row["alpha_peak_rss_mb"] = result["peak_rss_mb"]


def measure(cloud, n, landmarks, peers, repeat, timeout, points_per_edge, seed=0):
    """One row: flood, then each peer, each in its own process."""
    fl = run_job("flood", cloud=cloud, n=n, seed=seed, landmarks=landmarks)
    row = {"cloud": cloud, "n_points": n, "seed": seed, "landmarks": landmarks, "repeat": repeat}
    for s in STAGES:
        row[f"flood_{s}_s"] = fl["timings"].get(s, float("nan"))
    row["flood_s"] = fl["seconds"]
    row["flood_peak_rss_mb"] = fl["peak_rss_mb"]
    ns = list(fl["n_simplices"]) + [0] * 4
    row["n_edges"], row["n_triangles"], row["n_tetrahedra"] = ns[1], ns[2], ns[3]
    row["tol"], row["max_gap"] = fl["tol"], fl["max_gap"]
    for k, name in ((1, "edge"), (2, "triangle"), (3, "tetrahedron")):
        row[f"evals_{name}"] = fl["evaluations"].get(k, float("nan"))
    row["max_sites"], row["splits"] = fl["max_sites"], fl["splits"]
    row["kdtree_s"] = fl["kdtree"]
    row["filtration_over_kdtree"] = fl["timings"]["filtration"] / fl["kdtree"]
    row["total_over_kdtree"] = fl["seconds"] / fl["kdtree"]
    if "flooder" in peers:
        res = run_job(
            "flooder",
            timeout=timeout,
            cloud=cloud,
            n=n,
            seed=seed,
            landmark_rows=fl["landmark_indices"],
            points_per_edge=points_per_edge,
        )
        _peer(row, "flooder", res, timeout, fl["seconds"])
    if "alpha" in peers:
        _peer(
            row,
            "alpha",
            run_job("alpha", timeout=timeout, cloud=cloud, n=n, seed=seed),
            timeout,
            fl["seconds"],
        )
    return row


def markdown(rows, columns, headers):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def write_csv(path, rows, columns):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})


def plot(path, rows, methods):
    """Log-log time against N, one line per (method, cloud); timeouts are left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    markers = dict(zip(CLOUDS, "os^Dv"))
    styles = {"flood": "-", "flooder": "--", "alpha": ":"}
    for method in methods:
        for cloud in dict.fromkeys(r["cloud"] for r in rows):
            pts = sorted(
                (r["n_points"], r[f"{method}_s"])
                for r in rows
                if r["cloud"] == cloud and isinstance(r.get(f"{method}_s"), float)
            )
            if pts:
                n, t = zip(*pts)
                ax.loglog(
                    n,
                    t,
                    styles.get(method, "-"),
                    marker=markers.get(cloud, "o"),
                    label=f"{method} {cloud}",
                )
    ax.set_xlabel("N (points)")
    ax.set_ylabel("wall seconds")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _median_rows(rows):
    """One row per (cloud, N): the median over repeats of every numeric column."""
    groups = {}
    for r in rows:
        groups.setdefault((r["cloud"], r["n_points"]), []).append(r)
    out = []
    for grp in groups.values():
        m = dict(grp[0])
        for c in COLUMNS:
            vals = [g.get(c) for g in grp]
            if all(isinstance(v, float) for v in vals):
                m[c] = float(np.median(vals))
        m["repeat"] = "median" if len(grp) > 1 else grp[0]["repeat"]
        out.append(m)
    return out


def run_compare(args):
    rows = []
    for cloud in args.clouds:
        for n in args.sizes:
            for rep in range(args.repeats):
                row = measure(
                    cloud,
                    n,
                    args.landmarks,
                    args.peers,
                    rep,
                    args.timeout_peer,
                    args.points_per_edge,
                    seed=args.seed,
                )
                rows.append(row)
                print(f"# {cloud} N={n:,} repeat {rep}: flood {row['flood_s']:.2f} s", flush=True)
    write_csv(args.csv, rows, COLUMNS)
    med = _median_rows(rows)
    print(
        f"\nflood commit {git_commit()}; landmarks {args.landmarks}; H0-H2; CPU; "
        f"median of {args.repeats}; times in s; two-core check {two_core_ratio():.2f} "
        f"(two processes / one; 1.00 = two free cores)\n"
    )
    cols = [
        "cloud",
        "n_points",
        *(f"flood_{s}_s" for s in STAGES),
        "flood_s",
        "n_edges",
        "n_triangles",
        "n_tetrahedra",
        "tol",
        "max_gap",
        "evals_edge",
        "evals_triangle",
        "evals_tetrahedron",
        "max_sites",
        "splits",
        "filtration_over_kdtree",
        "total_over_kdtree",
    ]
    heads = [
        "cloud",
        "N",
        "index",
        "landmarks",
        "delaunay",
        "filtration",
        "persistence",
        "flood total",
        "edges",
        "triangles",
        "tetrahedra",
        "tol",
        "max gap",
        "evals/edge",
        "evals/tri",
        "evals/tet",
        "max |S|",
        "splits",
        "filtration / cKDTree build",
        "flood total / cKDTree build",
    ]
    print(markdown(med, cols, heads))
    if args.peers:
        cols = ["cloud", "n_points", "flood_s"]
        heads = ["cloud", "N", "flood"]
        if "flooder" in args.peers:
            cols += ["flooder_s", "flooder_over_flood"]
            heads += ["flooder CPU", "flooder / flood"]
        if "alpha" in args.peers:
            cols += ["alpha_build_s", "alpha_persistence_s", "alpha_s", "alpha_over_flood"]
            heads += ["Alpha build", "Alpha persistence", "Alpha total", "Alpha / flood"]
        print()
        print(markdown(med, cols, heads))
    if args.plot:
        plot(args.plot, rows, ["flood", *args.peers])
    print(f"\nCSV: {args.csv}" + (f"; plot: {args.plot}" if args.plot else ""))
    return rows


SCALING_COLUMNS = [
    "cloud",
    "n_points",
    "landmarks",
    "repeat",
    *(f"flood_{s}_s" for s in STAGES),
    "flood_s",
    "flood_peak_rss_mb",
    "kdtree_s",
    "filtration_over_kdtree",
    "max_gap",
    "tol",
]


def run_scaling(args):
    rows = []
    cloud = args.clouds[0]
    for n in args.sizes:
        for rep in range(args.repeats):
            fl = run_job("flood", cloud=cloud, n=n, seed=args.seed, landmarks=args.landmarks)
            row = {
                "cloud": cloud,
                "n_points": n,
                "landmarks": args.landmarks,
                "repeat": rep,
                "flood_s": fl["seconds"],
                "flood_peak_rss_mb": fl["peak_rss_mb"],
                "kdtree_s": fl["kdtree"],
                "max_gap": fl["max_gap"],
                "tol": fl["tol"],
                "filtration_over_kdtree": fl["timings"]["filtration"] / fl["kdtree"],
            }
            for s in STAGES:
                row[f"flood_{s}_s"] = fl["timings"].get(s, float("nan"))
            rows.append(row)
            print(
                f"# {cloud} N={n:,}: {fl['seconds']:.2f} s, peak RSS {fl['peak_rss_mb']:.0f} MiB",
                flush=True,
            )
    write_csv(args.csv, rows, SCALING_COLUMNS)
    med = {}
    for r in rows:
        med.setdefault(r["n_points"], []).append(r)
    med = [dict(g[0], flood_s=float(np.median([x["flood_s"] for x in g]))) for g in med.values()]
    n = np.array([r["n_points"] for r in med], dtype=float)
    t = np.array([r["flood_s"] for r in med])
    slope = float(np.polyfit(np.log(n), np.log(t), 1)[0]) if len(n) > 1 else float("nan")
    print(
        f"\nflood commit {git_commit()}; cloud {cloud}; landmarks {args.landmarks}; "
        f"H0-H2; CPU; times in s; two-core check {two_core_ratio():.2f} "
        f"(two processes / one; 1.00 = two free cores)\n"
    )
    cols = [
        "n_points",
        *(f"flood_{s}_s" for s in STAGES),
        "flood_s",
        "flood_peak_rss_mb",
        "filtration_over_kdtree",
        "max_gap",
    ]
    heads = [
        "N",
        "index",
        "landmarks",
        "delaunay",
        "filtration",
        "persistence",
        "total",
        "peak RSS MiB",
        "filtration / cKDTree build",
        "max gap",
    ]
    print(markdown(med, cols, heads))
    print(f"\nfitted log-log slope of time against N: {slope:.3f}")
    if args.plot:
        plot(args.plot, rows, ["flood"])
    print(f"\nCSV: {args.csv}" + (f"; plot: {args.plot}" if args.plot else ""))
    return rows, slope


def _ints(text):
    return [int(float(x)) for x in text.split(",") if x]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clouds", default=None, help=f"comma list of {','.join(CLOUDS)}")
    p.add_argument("--sizes", type=_ints, default=None, help="comma list of N (1e6 allowed)")
    p.add_argument("--landmarks", type=int, default=None)
    p.add_argument("--peers", default=None, help="comma list of flooder,alpha (or none)")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--seed", type=int, default=0, help="the clouds' seed (another cloud)")
    p.add_argument("--timeout-peer", type=float, default=400.0, help="seconds per peer run")
    p.add_argument("--points-per-edge", type=int, default=30, help="flooder's grid")
    p.add_argument("--csv", default=None)
    p.add_argument("--plot", default=None, help="PNG path ('' for none)")
    p.add_argument("--quick", action="store_true", help="20k cube, 200 landmarks")
    p.add_argument("--scaling", action="store_true", help="flood alone over N")
    args = p.parse_args(argv)
    if args.seed < 0:
        p.error(f"--seed must be >= 0; got {args.seed}")
    if args.quick:
        args.clouds = args.clouds or "cube"
        args.sizes = args.sizes or [20_000]
        args.landmarks = args.landmarks or 200
        args.peers = args.peers if args.peers is not None else "flooder"
        args.points_per_edge = 10 if args.points_per_edge == 30 else args.points_per_edge
        args.timeout_peer = min(args.timeout_peer, 60.0)
    if args.scaling:
        args.clouds = args.clouds or "cheese"
        args.sizes = args.sizes or [100_000, 300_000, 1_000_000, 3_000_000, 10_000_000]
        args.peers = ""
    args.clouds = (args.clouds or "torus,cube,cheese").split(",")
    args.sizes = args.sizes or [100_000]
    args.landmarks = args.landmarks or 1000
    args.peers = [] if args.peers in ("", "none") else (args.peers or "flooder,alpha").split(",")
    for c in args.clouds:
        if c not in CLOUDS:
            p.error(f"unknown cloud {c!r}; choose from {CLOUDS}")
    for q in args.peers:
        if q not in ("flooder", "alpha"):
            p.error(f"unknown peer {q!r}; choose from flooder, alpha")
    stem = "scaling_flood" if args.scaling else "scaling"
    args.csv = args.csv or str(HERE / "results" / f"{stem}.csv")
    if args.plot is None:
        args.plot = str(pathlib.Path(args.csv).with_suffix(".png"))
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.scaling:
        return run_scaling(args)
    return run_compare(args)


if __name__ == "__main__":
    main()
