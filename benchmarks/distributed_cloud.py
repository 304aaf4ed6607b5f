"""One cloud larger than a worker: flood on a dask array, one process against a LocalCluster.

The cloud is written once to a .npy file (``--order tiles`` sorts its rows into a 16^dim grid
of tiles, as LiDAR tiles or a Morton-sorted store would be; ``random`` keeps them shuffled)
and read with ``flood.datasets.read_point_cloud(path, chunks=--chunks)``: no process holds X
except the single-process run. Each method runs in its own spawned process:

- ``cluster``: ``flood_complex`` on the dask array with a ``LocalCluster`` of ``--workers``
  single-threaded workers (``--memory-limit`` each, pausing and spilling off: a worker over
  95% of its limit is restarted and the run fails or slows), FPS landmarks;
- ``local``: the same dask array without a Client (this process, chunk by chunk);
- ``single``: ``flood_complex(np.load(path), landmarks=<the cluster run's>, tol=<its tol>)``,
  the reference (its time leaves FPS out: the landmarks are given).

Reported per method: wall seconds and stages, peak RSS of the client process and of each
worker (``ru_maxrss``, also before the run: a worker's baseline with flood and Warp loaded; a
worker restarted over 95% of its limit is counted, its peak lost), the blocks (and the
sub-blocks they ran in: a halo over a share of the worker's memory limit is indexed in parts),
the largest halo a block held, the rows the block tasks read, an estimate of the bytes read
per worker (the two chunk passes read X once each, plus the blocks' reads, spread over the
workers), the bytes read and written over the bytes of X (``moved_over_x``: the survey and
the partition read X, the partition writes its tiles, the blocks read theirs), the points
the blocks indexed per point of X, the simplices computed per simplex (faces shared by
blocks count in each), the tiles, the blocks' summed seconds of read, tree and kernel, and
the bottleneck distance of the diagrams to the single-process run divided by tol
(certified: at most 2); the tasks' summed CPU seconds (each on one thread) over the CPU
seconds of the single-process run, and the efficiency of a 16-worker schedule of the measured task
times (chunk passes, then blocks, longest first; :func:`schedule_efficiency`). The header
records a two-core check (``_peers.two_core_ratio``) and the load.

    python benchmarks/distributed_cloud.py --n-points 10000000 --chunks 1000000 --workers 2 \\
        --memory-limit 1.5GiB --csv benchmarks/results/distributed_cloud.csv
    python benchmarks/distributed_cloud.py --quick          # smoke test, about a minute
"""

import argparse
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _peers  # noqa: E402
from _peers import CLOUDS, make_cloud, peak_rss_mb, two_core_ratio  # noqa: E402
from scaling import git_commit, markdown, write_csv  # noqa: E402

METHODS = ("cluster", "local", "single")
COLUMNS = [
    "method",
    "cloud",
    "n_points",
    "order",
    "landmarks",
    "chunks",
    "workers",
    "memory_limit_mb",
    "x_mb",
    "seconds",
    "landmarks_s",
    "tiles_s",
    "delaunay_s",
    "filtration_s",
    "client_peak_rss_mb",
    "worker_base_rss_mb",
    "worker_peak_rss_mb",
    "workers_restarted",
    "blocks",
    "sub_blocks",
    "max_halo_mb",
    "blocks_read_mb",
    "read_per_worker_mb",
    "moved_over_x",
    "tree_points_per_point",
    "evaluations_per_simplex",
    "tiles",
    "block_read_s",
    "block_tree_s",
    "block_kernel_s",
    "cpu_s",
    "task_cpu_over_single",
    "schedule_16_efficiency",
    "tol",
    "bottleneck_over_tol",
]
#: Tiles per axis of ``--order tiles``.
TILES = 16


def _write(path, cloud, n, seed, order):
    X = make_cloud(cloud, n, seed)
    if order == "tiles":
        lo, span = X.min(axis=0), np.ptp(X, axis=0).max()
        cell = np.minimum((TILES * (X - lo) / span).astype(np.int64), TILES - 1)
        X = X[np.lexsort(cell.T[::-1])]
    np.save(path, X)
    return {"x_mb": X.nbytes / 2**20, "dim": X.shape[1]}


def _result(res, seconds):
    w = res.work
    dim = res.landmarks.shape[1]
    out = {
        "seconds": seconds,
        **{f"{k}_s": v for k, v in res.timings.items()},
        "tol": res.tol,
        "L": res.landmarks,
        "diagrams": [np.asarray(d) for d in res.diagrams()],
        "blocks": w.get("blocks", ""),
        "sub_blocks": int(w["sub_blocks"].sum()) if "sub_blocks" in w else "",
        "max_halo_mb": w["halo_points"].max() * dim * 8 / 2**20 if "halo_points" in w else "",
        "blocks_read_mb": w["rows_read"].sum() * dim * 8 / 2**20 if "rows_read" in w else "",
        "client_peak_rss_mb": peak_rss_mb(),
    }
    if "bytes_read" in w:  # dask runs: what the run moved, and where the blocks' time went
        out["moved_over_x"] = (w["bytes_read"] + w["bytes_written"]) / w["x_bytes"]
        for key in ("tree_points_per_point", "evaluations_per_simplex", "tiles"):
            out[key] = w[key]
        for stage, total in zip(("read", "tree", "kernel"), w["block_seconds"].sum(axis=0)):
            out[f"block_{stage}_s"] = total
        out["task_s"] = float(w["chunk_cpu_seconds"].sum() + w["block_cpu_seconds"].sum())
        out["schedule_16_efficiency"] = schedule_efficiency(
            [*w["chunk_seconds"].T, w["block_seconds"].sum(axis=1)], 16
        )
    return out


def schedule_efficiency(phases, workers):
    """Efficiency of ``workers`` workers running the measured task times of each phase (the
    phases one after another; in a phase, each task to the first free worker, longest first):
    the summed task time over ``workers`` times the summed makespans."""
    import heapq

    total = span = 0.0
    for times in phases:
        free = [0.0] * workers
        for t in sorted(times, reverse=True):
            heapq.heappush(free, heapq.heappop(free) + float(t))
        total += float(np.sum(times))
        span += max(free)
    return total / (workers * span) if span > 0 else 1.0


def _warm():
    import flood  # noqa: F401  (what a worker loads for its first task)
    from flood._warp import init_warp

    init_warp()
    return peak_rss_mb()


def _job_dask(path, chunks, landmarks, seed, workers, memory_limit, block_size):
    import dask

    from flood import flood_complex
    from flood.datasets import read_point_cloud

    X = read_point_cloud(path, chunks=chunks)
    if not workers:
        t0 = time.perf_counter()
        res = flood_complex(X, landmarks, random_state=seed, device="cpu", block_size=block_size)
        return _result(res, time.perf_counter() - t0)
    from dask.distributed import Client, LocalCluster

    off = {f"distributed.worker.memory.{k}": False for k in ("target", "spill", "pause")}
    with (
        dask.config.set(off),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        base = client.run(_warm)
        pids = set(client.run(os.getpid).values())
        t0 = time.perf_counter()
        res = flood_complex(
            X, landmarks, random_state=seed, device="cpu", n_threads=1, block_size=block_size
        )
        out = _result(res, time.perf_counter() - t0)
        out["worker_base_rss_mb"] = max(base.values())
        out["worker_peak_rss_mb"] = max(client.run(peak_rss_mb).values())
        # a worker over 95% of its limit is replaced: its peak is lost with it
        out["workers_restarted"] = len(set(client.run(os.getpid).values()) - pids)
    return out


def _job_single(path, landmarks, tol):
    from flood import flood_complex

    X = np.load(path)
    t0, cpu0 = time.perf_counter(), time.process_time()
    res = flood_complex(X, landmarks=landmarks, tol=tol, device="cpu")
    out = _result(res, time.perf_counter() - t0)
    out["cpu_s"] = time.process_time() - cpu0  # both threads
    return out


JOBS = {"write": _write, "dask": _job_dask, "single": _job_single}


def run_job(job, **kwargs):
    """``JOBS[job](**kwargs)`` in a spawned, non-daemonic process (its own peak RSS; the
    cluster job starts worker processes)."""
    return _peers.run_job(JOBS[job], daemon=False, **kwargs)


def _memory_mb(limit):
    if limit is None:
        return ""
    from dask.utils import parse_bytes

    return parse_bytes(limit) / 2**20


def measure(args, path):
    """One row per method, the cluster run first (its landmarks serve the others)."""
    import gudhi

    info = run_job(
        "write", path=str(path), cloud=args.cloud, n=args.n_points, seed=0, order=args.order
    )
    common = {
        "cloud": args.cloud,
        "n_points": args.n_points,
        "order": args.order,
        "landmarks": args.landmarks,
        "x_mb": info["x_mb"],
    }
    dask_options = dict(path=str(path), chunks=args.chunks, seed=0, block_size=args.block_size)
    runs = {
        "cluster": run_job(
            "dask",
            landmarks=args.landmarks,
            workers=args.workers,
            memory_limit=args.memory_limit,
            **dask_options,
        )
    }
    L, tol = runs["cluster"]["L"], runs["cluster"]["tol"]
    if "local" in args.methods:
        runs["local"] = run_job("dask", landmarks=L, workers=0, memory_limit=None, **dask_options)
    if "single" in args.methods:
        runs["single"] = run_job("single", path=str(path), landmarks=L, tol=tol)
    rows = []
    for method, run in runs.items():
        row = dict(common, method=method, **{k: v for k, v in run.items() if k in COLUMNS})
        if method != "single":
            row["chunks"] = args.chunks
            row["workers"] = args.workers if method == "cluster" else 0
        if method == "cluster":
            row["memory_limit_mb"] = _memory_mb(args.memory_limit)
            row["read_per_worker_mb"] = (2 * info["x_mb"] + run["blocks_read_mb"]) / args.workers
        if "single" in runs and method != "single":
            row["task_cpu_over_single"] = run["task_s"] / runs["single"]["cpu_s"]
            ref = runs["single"]["diagrams"]
            bn = max(gudhi.bottleneck_distance(a, b) for a, b in zip(run["diagrams"], ref))
            row["bottleneck_over_tol"] = bn / tol
        rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cloud", default="cheese", choices=CLOUDS)
    parser.add_argument("--n-points", type=int, default=10_000_000)
    parser.add_argument("--order", default="tiles", choices=("tiles", "random"))
    parser.add_argument("--landmarks", type=int, default=1000)
    parser.add_argument("--chunks", type=int, default=1_000_000, help="rows per chunk")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default=None, help="per worker, e.g. 1.5GiB")
    parser.add_argument("--block-size", type=int, default=None)
    parser.add_argument("--methods", default=",".join(METHODS), help="cluster always runs")
    parser.add_argument("--csv", default="benchmarks/results/distributed_cloud.csv")
    parser.add_argument("--quick", action="store_true", help="200k points, 200 landmarks")
    args = parser.parse_args(argv)
    args.methods = set(args.methods.split(","))
    if args.quick:
        args.n_points, args.landmarks, args.chunks = 200_000, 200, 50_000
    with tempfile.TemporaryDirectory(prefix="flood-distributed-") as tmp:
        rows = measure(args, pathlib.Path(tmp) / "cloud.npy")
    write_csv(args.csv, rows, COLUMNS)
    print(
        f"flood commit {git_commit()}; {args.cloud}, N={args.n_points:,} ({args.order} order), "
        f"{args.landmarks} landmarks, chunks of {args.chunks:,} rows; CPU; times in s, "
        f"memory in MiB; two-core check {two_core_ratio():.2f}; load {os.getloadavg()[0]:.2f}\n"
    )
    cols = [c for c in COLUMNS if c not in ("cloud", "n_points", "order", "landmarks")]
    print(markdown(rows, cols, cols))
    print(f"\nCSV: {args.csv}")
    return rows


if __name__ == "__main__":
    main()
