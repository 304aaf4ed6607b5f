"""The ``flood`` command line: ``flood demo`` and ``flood compute FILE``."""

import argparse
import sys
import time
import warnings

import numpy as np

from flood._complex import flood_complex
from flood._validation import check_n_points, check_points

DEMO_SHAPES = ("torus", "swiss-cheese")


def _parser():
    p = argparse.ArgumentParser(
        prog="flood",
        description="Certified Flood-complex persistent homology of point clouds.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp):
        sp.add_argument("--landmarks", type=int, default=1000, help="landmarks (default 1000)")
        sp.add_argument(
            "--tol",
            type=float,
            default=None,
            help="certified gap per simplex (default 1%% of the covering radius; 0: exact)",
        )
        sp.add_argument("--method", choices=("certified", "grid"), default="certified")
        sp.add_argument("--device", default=None, help="'cpu' or 'cuda' (default: auto)")
        sp.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        sp.add_argument(
            "--plot",
            default=None,
            metavar="PNG",
            help="write a persistence diagram plot to this PNG file",
        )
        sp.add_argument("--quiet", action="store_true", help="no progress bars")

    d = sub.add_parser("demo", help="run on a generated cloud and print a summary")
    d.add_argument("--shape", choices=DEMO_SHAPES, default="torus")
    d.add_argument("--points", type=int, default=1_000_000, help="points (default 1,000,000)")
    common(d)
    d.set_defaults(plot="flood-demo.png")

    c = sub.add_parser(
        "compute", help="diagrams of a point file (.npy .npz .xyz .txt .csv .ply .pcd .pts)"
    )
    c.add_argument("file")
    c.add_argument("--out", default=None, help="output .npz (default: FILE stem + _diagrams.npz)")
    c.add_argument("--dims", default=None, help="homology dimensions, e.g. 0,1,2 (default all)")
    common(c)
    return p


def _summary(res, X, dims, stream):
    dgms = res.diagrams(dims)
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


def _check_plot_dependency(args):
    """Fail before the computation, not after it, when --plot cannot be honoured."""
    if args.plot:
        from flood.plotting import _pyplot

        _pyplot()


def _parse_dims(text, dim):
    try:
        dims = [int(q) for q in text.split(",")]
    except ValueError:
        raise ValueError(f"--dims must be comma-separated ints; got {text!r}") from None
    bad = [q for q in dims if not 0 <= q <= dim]
    if bad:
        raise ValueError(
            f"--dims must be homology dimensions in the range [0, {dim}] for {dim}-D points; "
            f"got {bad[0]}"
        )
    return dims


def _run(args, stream):
    _check_plot_dependency(args)
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
    else:
        from flood.datasets import read_point_cloud

        X = check_points(read_point_cloud(args.file), name=args.file)
        check_n_points(len(X), X.shape[1], name=args.file)
        title = f"Flood PH of {args.file}"
    dim = X.shape[1]
    if args.command == "compute" and args.dims:
        dims = _parse_dims(args.dims, dim)
    else:
        dims = list(range(max(dim, 1)))
    res = flood_complex(
        X,
        args.landmarks,
        tol=args.tol,
        method=args.method,
        device=args.device,
        random_state=args.seed,
        progress=not args.quiet,
    )
    dgms = _summary(res, X, dims, stream)
    if args.command == "compute":
        import pathlib

        out = args.out or str(pathlib.Path(args.file).with_suffix("")) + "_diagrams.npz"
        np.savez(
            out,
            **{f"H{q}": d for q, d in zip(dims, dgms)},
            landmarks=res.landmarks,
            covering_radius=res.covering_radius,
            tol=res.tol,
        )
        print(f"wrote {out}", file=stream)
    if args.plot:
        _plot(dgms, dims, args.plot, title, stream)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"flood: warning: {str(message).splitlines()[0]}", file=sys.stderr)


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
        print(f"flood: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("flood: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
