"""``flood compute/demo --features N --report FILE.html``: where the holes are, printed,
written as CSV beside the diagrams, and drawn in an offline HTML report."""

import csv
import pathlib

import numpy as np

#: Suffix of the features table written beside the diagrams (``X_npy_diagrams.npz`` ->
#: ``X_npy_diagrams_features.csv``).
FEATURES_SUFFIX = "_features.csv"
#: Points drawn in the report (a random sample of the cloud's rows).
REPORT_POINTS = 20_000


def add_arguments(sp):
    """The options of this module, for the ``compute`` and ``demo`` parsers."""
    sp.add_argument(
        "--features",
        type=int,
        default=0,
        metavar="N",
        help="print the N most persistent holes (H1 and up: dimension, persistence, centre, "
        f"radius); compute also writes them beside the diagrams (*{FEATURES_SUFFIX}); "
        "cycles need flood-tda[cycles]",
    )
    sp.add_argument(
        "--report",
        default=None,
        metavar="HTML",
        help="write an offline HTML report: diagram, barcode and a rotatable 3-D view of "
        "the holes' cycles (the --features N holes, at least 20)",
    )


def check_arguments(args, output_path):
    """The rules of the options (before any work); returns nothing, sets ``args.report``."""
    if args.features < 0:
        raise ValueError(f"--features must be an int >= 0; got {args.features}")
    if args.report:
        args.report = output_path(args.report, (".html",), "--report")


def features_csv_path(out):
    """Where ``compute`` writes the features: beside its ``.npz`` diagrams."""
    out = pathlib.Path(out)
    return out.with_name(out.stem + FEATURES_SUFFIX)


def write_outputs(args, res, X, stream, out=None):
    """Print and write the features, write the report; ``out``: the diagrams' path."""
    if not args.features and not args.report:
        return
    n = max(args.features, 20 if args.report else 0)
    table = res.features(top=n, min_persistence=args.min_persistence)
    if args.features:
        print_features(table[: args.features], stream)
        if out is not None:
            path = features_csv_path(out)
            write_features_csv(table[: args.features], path)
            print(f"wrote {path}", file=stream)
    if args.report:
        from flood._report import write_report

        size = write_report(res, args.report, _sample(X, REPORT_POINTS), features=table)
        size_text = f"{size / 1e6:.1f} MB" if size > 1e6 else f"{size / 1e3:.0f} kB"
        print(f"wrote {args.report} ({size_text})", file=stream)


def print_features(table, stream):
    dim = table["centre"].shape[1] if len(table) else 0
    print(f"{len(table)} most persistent holes:", file=stream)
    print(f"  {'H':>2} {'persistence':>11} {'radius':>9}  centre", file=stream)
    for row in table:
        centre = ", ".join(f"{c:.4g}" for c in row["centre"][:dim])
        print(
            f"  {row['dimension']:>2} {row['persistence']:>11.4g} {row['radius']:>9.4g}  "
            f"({centre})",
            file=stream,
        )


def write_features_csv(table, path):
    """One row per feature: the scalar columns, ``centre_0 ...``, the simplices as
    space-separated landmark indices, and the cycle's size."""
    dim = table["centre"].shape[1] if len(table) else 0
    header = ["dimension", "birth", "death", "persistence", "radius"]
    header += [f"centre_{j}" for j in range(dim)]
    header += ["birth_simplex", "death_simplex", "cycle_simplices"]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in table:
            w.writerow(
                [int(row["dimension"])]
                + [repr(float(row[k])) for k in header[1:5]]
                + [repr(float(c)) for c in row["centre"]]
                + [
                    " ".join(map(str, row["birth_simplex"])),
                    " ".join(map(str, row["death_simplex"])),
                ]
                + [len(row["cycle"])]
            )


def _sample(X, n, seed=0):
    """At most ``n`` rows of X (an array or a dask array) in random order."""
    if len(X) <= n:
        return np.asarray(X)
    rows = np.sort(np.random.default_rng(seed).choice(len(X), n, replace=False))
    part = X[rows]
    return np.asarray(part.compute() if hasattr(part, "compute") else part)
