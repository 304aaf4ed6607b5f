"""Which columns of a point-cloud file are its coordinates, and what the reader says it read."""

import dataclasses
import numbers

import numpy as np

# Where a file names its columns these are the coordinates; elsewhere the first three columns
# are (the convention of CloudCompare and PDAL), and the rest are attributes (normals, colours).
COORDINATES = ("x", "y", "z")
INDEX_LABEL = "(index)"  # the unnamed first column pandas writes: row numbers, not a coordinate


@dataclasses.dataclass(frozen=True)
class PointCloudInfo:
    """What :func:`read_point_cloud` read; ``str(info)`` is a one-line description.

    Attributes
    ----------
    path : str
        The file.
    n_points : int
        Rows read.
    columns : tuple of str
        The columns read, in order: their names where the file names them (a CSV header,
        PLY/PCD fields), else their indices.
    ignored : tuple of str
        The other columns of the file (attributes such as normals or colours).

    Examples
    --------
    >>> str(PointCloudInfo("scan.xyz", 20000, ("0", "1", "2"), ("3", "4", "5")))
    '20,000 points x 3 (columns 0, 1, 2; ignored: 3, 4, 5)'
    """

    path: str
    n_points: int
    columns: tuple
    ignored: tuple = ()

    def __str__(self):
        ignored = f"; ignored: {', '.join(self.ignored)}" if self.ignored else ""
        return (
            f"{self.n_points:,} points x {len(self.columns)} "
            f"(columns {', '.join(self.columns)}{ignored})"
        )


@dataclasses.dataclass
class Table:
    """All columns of a file before the coordinates are chosen."""

    values: np.ndarray  # (n_rows, n_columns)
    labels: tuple  # one label per column: its name, or its index as a str
    named: bool  # whether the labels are names from the file (columns= may use them)
    default: tuple  # the columns read when columns=None
    ignored: tuple = ()  # attributes of the file that were not loaded at all (PLY normals)
    what: str = "array"  # how messages name the values
    needs_three: bool = False  # whether the default columns must be three (text files)
    diagnose: object = None  # diagnose(index): raise the precise error for non-finite values


def coordinate_columns(labels):
    """The columns read when ``columns=None``: those named ``x``, ``y``, ``z`` (any case) where
    the file names each once, else the first three (an index column skipped).

    Examples
    --------
    >>> coordinate_columns(("(index)", "intensity", "Z", "X", "Y"))
    (3, 4, 2)
    >>> coordinate_columns(("0", "1", "2", "3"))
    (0, 1, 2)
    """
    lower = [label.lower() for label in labels]
    if lower and all(lower.count(c) == 1 for c in COORDINATES):
        return tuple(lower.index(c) for c in COORDINATES)
    return tuple(i for i, label in enumerate(labels) if label != INDEX_LABEL)[:3]


def as_declared(values, kind):
    """Decimal values parsed as float64, rounded to the float type a header declares for them
    (``"<f4"``: float32), so that an ASCII file reads as its binary twin; others unchanged."""
    if np.dtype(kind).kind == "f" and np.dtype(kind).itemsize < 8:
        # a value beyond the declared type's range becomes inf, as its binary twin cannot
        # hold it: the readers' finiteness check names it (no stray overflow warning)
        with np.errstate(over="ignore"):
            return values.astype(kind).astype(np.float64)
    return values


def named_table(columns, what="array"):
    """A :class:`Table` of named float64 columns (PLY properties, PCD fields).

    Parameters
    ----------
    columns : list of (str, ndarray of shape (n_rows,))
        Each column's name and values, in file order.
    what : str, default="array"
        How messages name the values.
    """
    labels = tuple(name for name, _ in columns)
    values = np.empty((len(columns[0][1]), len(columns)), dtype=np.float64)
    for j, (_, column) in enumerate(columns):
        values[:, j] = column
    return Table(values, labels, True, coordinate_columns(labels), what=what, needs_three=True)


def parse_columns(columns):
    """``columns`` as a list of int indices and str names (None stays None)."""
    if columns is None:
        return None
    rule = (
        "The 'columns' parameter of read_point_cloud must be a sequence of column indices "
        "(ints >= 0) or names, or a comma-separated str such as '0,1' or 'x,y'."
    )
    entries = columns.split(",") if isinstance(columns, str) else columns
    try:
        entries = list(entries)
    except TypeError:
        raise TypeError(f"{rule} Got {columns!r} instead.") from None
    parsed = []
    for entry in entries:
        if isinstance(entry, str):
            entry = entry.strip()
            parsed.append(int(entry) if entry.isdigit() else entry)
        elif isinstance(entry, numbers.Integral) and not isinstance(entry, (bool, np.bool_)):
            parsed.append(int(entry))
        else:
            raise TypeError(f"{rule} Got {columns!r} instead.")
    if not parsed or "" in parsed or any(isinstance(e, int) and e < 0 for e in parsed):
        raise ValueError(f"{rule} Got {columns!r} instead.")
    return parsed


def select_columns(path, table, wanted, columns):
    """Indices into ``table.values`` of the columns to read."""
    labels = table.labels
    if wanted is None:
        if table.needs_three and len(table.default) < len(COORDINATES):
            n = len(labels)
            seq = ",".join(map(str, range(n)))
            raise ValueError(
                f"{path} has {n} column(s) ({', '.join(labels)}); by default the first three "
                f"are the coordinates x, y, z. For {n}-D points pass columns {list(range(n))} "
                f"to read_point_cloud, or --columns {seq} to flood compute."
            )
        return list(table.default)
    names = "; names: " + ", ".join(labels) if table.named else ""
    rule = (
        f"The 'columns' parameter of read_point_cloud must select distinct columns of {path} "
        f"(indices 0 to {len(labels) - 1}{names})."
    )
    lower = [label.lower() for label in labels]
    index = []
    for entry in wanted:
        if isinstance(entry, str):
            matches = [i for i, label in enumerate(labels) if label == entry] or [
                i for i, label in enumerate(lower) if label == entry.lower()
            ]
            if not table.named or len(matches) != 1:
                raise ValueError(f"{rule} Got {columns!r} instead.")
            entry = matches[0]
        if entry >= len(labels) or entry in index:
            raise ValueError(f"{rule} Got {columns!r} instead.")
        index.append(entry)
    return index
