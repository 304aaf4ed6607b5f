"""The ``flood`` command line: ``flood demo`` and ``flood compute FILE``."""

import argparse
import contextlib
import os
import pathlib
import re
import sys
import time
import warnings

import numpy as np

from flood import _cli_holes as holes
from flood._complex import flood_complex
from flood._estimate import estimate
from flood._validation import (
    MAX_DIM,
    METHODS,
    check_homology_dimensions,
    check_min_persistence,
    check_n_points,
    check_points,
)
from flood._version import __version__
from flood.datasets._io import POINT_CLOUD_FORMATS

DEMO_SHAPES = ("torus", "swiss-cheese")
#: Rows per chunk of ``compute --workers/--scheduler`` (24 MB of 3-D float64 points).
DEFAULT_CHUNK_ROWS = 1_000_000
#: Suffix of ``--out`` (appended when a name has none, as ``numpy.savez`` does).
OUT_SUFFIX = ".npz"
#: Suffixes of ``--plot`` (the first is appended when a name has none).
PLOT_SUFFIXES = (".png", ".pdf", ".svg")
#: The command-line option of each Python parameter, for messages.
OPTIONS = {
    "landmarks": "--landmarks",
    "tol": "--tol",
    "method": "--method",
    "device": "--device",
    "random_state": "--seed",
    "homology_dimensions": "--dims",
    "min_persistence": "--min-persistence",
    "columns": "--columns",
    "classes": "--classes",
    "chunks": "--chunks",
}


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Ends each option's help with "(default: X)", unless the help explains its default."""

    def _get_help_string(self, action):
        if "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _parser():
    formatter = _Formatter
    p = argparse.ArgumentParser(
        prog="flood",
        description="Certified Flood-complex persistent homology of point clouds.",
        formatter_class=formatter,
    )
    p.add_argument("--version", action="version", version=f"flood {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp, plot_default):
        sp.add_argument("--landmarks", type=int, default=1000, help="number of landmarks")
        sp.add_argument(
            "--tol",
            type=float,
            default=None,
            help="certified gap per simplex; 0: exact (default: 1%% of the landmark "
            "covering radius)",
        )
        sp.add_argument("--method", choices=METHODS, default=METHODS[0], help="filtration")
        sp.add_argument(
            "--device",
            default=None,
            help="'cpu' or 'cuda[:n]' (default: CUDA if present, else cpu)",
        )
        sp.add_argument("--seed", type=int, default=0, help="seed of the landmark sampling")
        sp.add_argument(
            "--min-persistence",
            type=float,
            default=0.0,
            help="leave out the pairs with death - birth <= this radius",
        )
        sp.add_argument(
            "--plot",
            default=plot_default,
            metavar="PNG",
            help=f"write a persistence diagram plot ({', '.join(PLOT_SUFFIXES)}; "
            f"{PLOT_SUFFIXES[0]} is appended to a name without suffix)"
            + ("" if plot_default else " (default: no plot)"),
        )
        sp.add_argument("--quiet", action="store_true", help="no progress bars")
        holes.add_arguments(sp)

    d = sub.add_parser(
        "demo", help="run on a generated cloud and print a summary", formatter_class=formatter
    )
    d.add_argument("--shape", choices=DEMO_SHAPES, default="torus", help="generated cloud")
    d.add_argument("--points", type=int, default=1_000_000, help="number of points")
    common(d, "flood-demo.png")

    c = sub.add_parser(
        "compute",
        help=f"diagrams of a point file ({' '.join(POINT_CLOUD_FORMATS)})",
        formatter_class=formatter,
    )
    c.add_argument("file", help="point cloud file, one point per row")
    c.add_argument(
        "--out",
        default=None,
        help=f"output {OUT_SUFFIX} file (default: next to FILE, named by its stem and "
        f"suffix, e.g. torus_npy_diagrams{OUT_SUFFIX} for torus.npy)",
    )
    c.add_argument(
        "--dims",
        default=None,
        help="distinct homology dimensions, e.g. 0,1,2 (default: 0 to the points' dimension - 1)",
    )
    c.add_argument(
        "--columns",
        default=None,
        help="the columns that are coordinates, by index or header name, e.g. 0,1 or x,y "
        "(default: x, y, z where a header names them, else the first three columns of a "
        "text file; every column of .npy/.npz)",
    )
    c.add_argument(
        "--classes",
        default=None,
        help="keep the points of these LAS classifications, e.g. 2 (ground) or 2,6 "
        "(default: every point; .las/.laz files only)",
    )
    c.add_argument(
        "--workers",
        type=int,
        default=None,
        help="run on a local Dask cluster of this many worker processes (one thread each), "
        "reading FILE in chunks (.npy, .las, .laz, Zarr); needs flood-tda[dask]",
    )
    c.add_argument(
        "--scheduler",
        default=None,
        help="run on the Dask cluster of this scheduler address, e.g. tcp://host:8786, "
        "reading FILE in chunks (the workers need flood-tda and the file)",
    )
    c.add_argument(
        "--chunks",
        type=int,
        default=None,
        help=f"rows per chunk of FILE (default {DEFAULT_CHUNK_ROWS:,} with --workers or "
        "--scheduler; alone: one process, chunk by chunk, never the whole file in memory)",
    )
    c.add_argument(
        "--memory-limit",
        default=None,
        help="memory limit of each --workers process, e.g. 2GiB (default: dask's, the "
        "machine's memory over the workers); a run whose chunks or largest simplex would not "
        "fit is refused before it starts",
    )
    c.add_argument(
        "--work-dir",
        default=None,
        help="an existing folder for the tiles the run writes (a copy of FILE sorted in "
        "space, removed at the end; default: the system's temporary folder); on a cluster of "
        "several machines, one that every worker sees",
    )
    c.add_argument(
        "--estimate",
        action="store_true",
        help="print the predicted time and peak memory of each stage for FILE's shape "
        "(flood.estimate; a .npy file's header only) and exit without computing",
    )
    common(c, None)
    return p


def _summary(res, X, dims, min_persistence, stream):
    possible = [q for q in dims if q < X.shape[1]]  # others are empty: warned by _parse_dims
    found = res.diagrams(possible, min_persistence=min_persistence) if possible else []
    found = dict(zip(possible, found, strict=True))
    dgms = [found.get(q, np.empty((0, 2))) for q in dims]
    rows = [
        ("points", f"{len(X):,}"),
        ("dimension", str(X.shape[1])),
        ("landmarks", f"{len(res.landmarks):,}"),
        ("simplices", " / ".join(f"{n:,}" for n in res.n_simplices)),
        ("covering radius", f"{res.covering_radius:.4g}"),
    ]
    if res.method == "certified":
        rows.append(("tol / max gap", f"{res.tol:.3g} / {res.max_gap:.3g}"))
        ev = ", ".join(f"{v:.0f}" for _, v in sorted(res.evaluations.items()))
        rows.append(("evaluations/simplex", ev))
    for stage, t in res.timings.items():
        rows.append((f"time: {stage}", f"{t:.2f} s"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}", file=stream)
    print(file=stream)
    print("longest bars (birth, death, persistence):", file=stream)
    for q, dg in zip(dims, dgms):
        pers = dg[:, 1] - dg[:, 0]
        top = np.argsort(-pers)[:3]
        bars = ", ".join(f"({dg[i, 0]:.3g}, {dg[i, 1]:.3g}, {pers[i]:.3g})" for i in top)
        print(f"  H{q}: {len(dg)} bars; {bars}", file=stream)
    return dgms


def _plot(dgms, dims, path, title, stream):
    from flood.plotting import _pyplot, plot_diagrams

    plt = _pyplot()
    ax = plot_diagrams(dgms, dims, title=title)
    ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(ax.figure)
    print(f"wrote {path}", file=stream)


def _output_path(path, suffixes, option):
    """The file ``path`` names once its suffix is settled (the first of ``suffixes`` is
    appended to a name without one), after checking it can be written: its folder exists
    and is writable, it is not a folder, and its suffix is one of ``suffixes``."""
    out = pathlib.Path(path)
    if out.is_dir():
        raise ValueError(f"{option} {str(path)!r} is a folder; expected a file name.")
    if not out.suffix:
        out = out.with_name(out.name + suffixes[0])
    if out.suffix.lower() not in suffixes:
        raise ValueError(
            f"{option} must name a {' or '.join(suffixes)} file. Got {str(path)!r} instead."
        )
    folder = out.parent
    if not folder.is_dir():
        raise ValueError(f"{option} {str(path)!r}: the folder {str(folder)!r} does not exist.")
    if out.is_dir():
        raise ValueError(f"{option} {str(out)!r} is a folder; expected a file name.")
    if not os.access(folder, os.W_OK | os.X_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ValueError(f"{option} {str(path)!r}: no permission to write there.")
    return str(out)


def _default_out(file):
    """``torus.npy`` -> ``torus_npy_diagrams.npz`` next to it (distinct per input file)."""
    path = pathlib.Path(file)
    tag = path.suffix.lstrip(".").lower()
    name = f"{path.stem}_{tag}_diagrams" if tag else f"{path.name}_diagrams"
    return str(path.with_name(name + OUT_SUFFIX))


def _option_names(message):
    """``message`` with each Python parameter named as its command-line option."""

    def option(match):
        return OPTIONS.get(match.group(1), match.group(0))

    message = re.sub(r"\b[Tt]he '(\w+)' parameter(?: of [\w.]+)?", option, message)
    return re.sub(
        r"\b(\w+)=(\S+)",
        lambda m: f"{OPTIONS[m.group(1)]} {m.group(2)}" if m.group(1) in OPTIONS else m.group(0),
        message,
    )


def _check_plot_dependency(args):
    """Fail before the computation, not after it, when --plot cannot be honoured."""
    if args.plot:
        from flood.plotting import _pyplot

        _pyplot()


def _parse_dims(text, dim):
    """``--dims``: comma-separated ints, by the rule of :func:`check_homology_dimensions`."""
    try:
        dims = [int(q) for q in text.split(",")]
    except ValueError:
        raise ValueError(f"--dims must be comma-separated ints; got {text!r}") from None
    return list(check_homology_dimensions(dims, dim, owner="--dims"))


def _dask_options(args):
    """Whether ``compute`` runs on dask (``--workers``, ``--scheduler`` or ``--chunks``), after
    checking those options."""
    if args.command != "compute":
        return False
    if args.workers is not None and args.scheduler is not None:
        raise ValueError(
            f"--workers and --scheduler exclude each other (a local cluster or a running "
            f"one); got --workers {args.workers} and --scheduler {args.scheduler}"
        )
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be an int >= 1; got {args.workers}")
    if args.chunks is not None and args.chunks < 1:
        raise ValueError(f"--chunks must be an int >= 1 (rows per chunk); got {args.chunks}")
    if args.scheduler is not None and not args.scheduler.strip():
        raise ValueError("--scheduler must be a scheduler address, e.g. tcp://host:8786; got ''")
    if args.memory_limit is not None:
        if args.workers is None:
            raise ValueError(
                "--memory-limit applies to the local cluster of --workers; "
                f"got --memory-limit {args.memory_limit} without --workers"
            )
        args.memory_limit = _parse_memory(args.memory_limit)
    dask = args.workers is not None or args.scheduler is not None or args.chunks is not None
    if args.work_dir is not None:
        if not dask:
            raise ValueError(
                "--work-dir applies to chunked runs (--workers, --scheduler or --chunks); "
                f"got --work-dir {args.work_dir} without them"
            )
        if not os.path.isdir(args.work_dir):
            raise ValueError(f"--work-dir must be an existing folder; got {args.work_dir!r}")
    return dask


def _parse_memory(text):
    """``--memory-limit`` in bytes (dask's units: 2GiB, 1.5GB, 800MiB, 10**9)."""
    try:
        from dask.utils import parse_bytes
    except ImportError as exc:
        raise ImportError("--memory-limit needs dask: pip install 'flood-tda[dask]'") from exc
    try:
        value = parse_bytes(text)
    except (ValueError, TypeError):
        value = None
    if not value or value <= 0:
        raise ValueError(
            f"--memory-limit must be a positive size such as 2GiB or 800MiB; got {text!r}"
        )
    return int(value)


@contextlib.contextmanager
def _dask_client(args, stream):
    """The Dask client of ``--workers`` (a LocalCluster, closed after) or ``--scheduler``;
    none for ``--chunks`` alone (this process, chunk by chunk)."""
    if args.workers is None and args.scheduler is None:
        yield None
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError(
            "--workers and --scheduler need dask.distributed: pip install 'flood-tda[dask]'"
        ) from exc
    if args.workers is not None:
        with (
            LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                memory_limit=args.memory_limit if args.memory_limit is not None else "auto",
            ) as cluster,
            Client(cluster) as client,
        ):
            limit = "" if args.memory_limit is None else f", {args.memory_limit / 2**30:.2f} GiB"
            print(f"dask: local cluster of {args.workers} worker processes{limit}", file=stream)
            yield client
        return
    try:
        client = Client(args.scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise OSError(f"--scheduler {args.scheduler}: cannot connect ({exc})") from exc
    with client:
        n = len(client.scheduler_info().get("workers", {}))
        print(f"dask: scheduler {args.scheduler}, {n} workers", file=stream)
        yield client


def _check_args(args):
    """The checks that need no data, before the work: options, output paths, plotting."""
    check_min_persistence(args.min_persistence, owner="--min-persistence")
    if args.command == "compute" and args.dims:
        _parse_dims(args.dims, None)
    if args.command == "compute":
        args.out = _output_path(args.out or _default_out(args.file), (OUT_SUFFIX,), "--out")
    if args.plot:
        args.plot = _output_path(args.plot, PLOT_SUFFIXES, "--plot")
    holes.check_arguments(args, _output_path)
    _check_plot_dependency(args)


def _estimate(args, stream):
    """``compute --estimate``: the predicted cost of the one-process run on FILE's shape."""
    if _dask_options(args):
        raise ValueError(
            "--estimate predicts a run in one process; got it with --workers, --scheduler or "
            "--chunks"
        )
    n_points, dim = _file_shape(args)
    check_n_points(n_points, dim, name=args.file)
    dims = _parse_dims(args.dims, dim) if args.dims else list(range(dim))
    est = estimate(
        n_points,
        dim,
        args.landmarks,
        max_dimension=min(dim, max(dims) + 1),
        tol=args.tol,
        method=args.method,
    )
    print(est, file=stream)


def _file_shape(args):
    """(n_points, dim) of FILE: a plain .npy file's header only (memory-mapped, no data read),
    any other file (or .npy with --columns) read as ``compute`` reads it."""
    path = pathlib.Path(args.file)
    if path.suffix.lower() == ".npy" and args.columns is None and path.is_file():
        try:
            shape = np.load(path, mmap_mode="r").shape
        except (OSError, ValueError):
            shape = ()  # then the reader below says what is wrong with the file
        if len(shape) == 2 and 1 <= shape[1] <= MAX_DIM:
            return shape
    from flood.datasets import read_point_cloud

    X = read_point_cloud(args.file, columns=args.columns, classes=args.classes)
    return check_points(X, name=args.file).shape


def _run(args, stream):
    if args.command == "compute" and args.estimate:
        _estimate(args, stream)
        return
    _check_args(args)
    if args.command == "demo":
        if args.points < 1:
            raise ValueError(f"--points must be a positive int; got {args.points}")
        from flood.datasets import make_swiss_cheese, make_torus

        t0 = time.perf_counter()
        if args.shape == "torus":
            X = make_torus(args.points, R=1.0, r=0.35, noise=0.01, random_state=args.seed)
        else:
            X = make_swiss_cheese(args.points, n_voids=10, random_state=args.seed)
        print(
            f"generated a {args.points:,}-point {args.shape} in {time.perf_counter() - t0:.2f} s",
            file=stream,
        )
        title = f"Flood PH of a {args.points:,}-point {args.shape}"
    elif _dask_options(args):
        with _dask_client(args, stream):
            _compute_chunked(args, stream)
        return
    else:
        from flood.datasets import read_point_cloud

        X, info = read_point_cloud(
            args.file, columns=args.columns, classes=args.classes, return_info=True
        )
        if not args.quiet:
            print(f"read {args.file}: {info}", file=sys.stderr)
        X = check_points(X, name=args.file)
        check_n_points(len(X), X.shape[1], name=args.file)
        title = f"Flood PH of {args.file}"
    _finish(args, X, title, stream)


def _compute_chunked(args, stream):
    """``compute`` on a dask array read in chunks: on the client's workers, or here chunk by
    chunk; the file is never read whole into this process."""
    from flood.datasets import read_point_cloud

    chunks = args.chunks if args.chunks is not None else DEFAULT_CHUNK_ROWS
    X, info = read_point_cloud(
        args.file, columns=args.columns, classes=args.classes, chunks=chunks, return_info=True
    )
    if not args.quiet:
        print(f"read {args.file} in chunks of {chunks:,} rows: {info}", file=sys.stderr)
    _finish(args, X, f"Flood PH of {args.file}", stream)


def _finish(args, X, title, stream):
    """flood_complex on X (an array, or a dask array), the summary, the output, the plot."""
    dim = X.shape[1]
    if args.command == "compute" and args.dims:
        dims = _parse_dims(args.dims, dim)
    else:
        dims = list(range(max(dim, 1)))
    chunked = {"work_dir": args.work_dir} if getattr(args, "work_dir", None) else {}
    res = flood_complex(
        X,
        args.landmarks,
        max_dimension=min(dim, max(dims) + 1),
        tol=args.tol,
        method=args.method,
        device=args.device,
        random_state=args.seed,
        progress=not args.quiet,
        **chunked,
    )
    dgms = _summary(res, X, dims, args.min_persistence, stream)
    if args.command == "compute":
        out = args.out
        np.savez(
            out,
            **{f"H{q}": d for q, d in zip(dims, dgms)},
            landmarks=res.landmarks,
            covering_radius=res.covering_radius,
            tol=res.tol,
            min_persistence=args.min_persistence,
        )
        print(f"wrote {out}", file=stream)
    holes.write_outputs(args, res, X, stream, args.out if args.command == "compute" else None)
    if args.plot:
        _plot(dgms, dims, args.plot, title, stream)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"flood: warning: {_option_names(str(message).splitlines()[0])}", file=sys.stderr)


def main(argv=None):
    """Entry point of the ``flood`` command; returns the exit status.

    0 on success; 2 for a usage error or bad input (a malformed or missing file, invalid
    values, a missing optional dependency: one line ``flood: error: ...`` on stderr, no
    traceback); 130 when interrupted. Warnings are printed as one line each.
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else 2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            _run(args, sys.stdout)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"flood: error: {_option_names(msg)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("flood: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
