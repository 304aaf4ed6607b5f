"""Reading and writing point clouds: NumPy and text formats natively, PLY/PCD via open3d."""

import dataclasses
import numbers
import pathlib
import zipfile

import numpy as np

from flood.datasets._headers import check_header
from flood.datasets._native import filtered_stderr

__all__ = ["PointCloudInfo", "read_point_cloud", "write_point_cloud"]

_NUMPY_FORMATS = (".npy", ".npz")
_TEXT_FORMATS = (".csv", ".pts", ".txt", ".xyz")
_OPEN3D_FORMATS = (".pcd", ".ply")
POINT_CLOUD_FORMATS = tuple(sorted(_NUMPY_FORMATS + _TEXT_FORMATS + _OPEN3D_FORMATS))
# Where a file names its columns these are the coordinates; elsewhere the first three columns
# are (the convention of CloudCompare and PDAL), and the rest are attributes (normals, colours).
COORDINATES = ("x", "y", "z")
INDEX_LABEL = "(index)"  # the unnamed first column pandas writes: row numbers, not a coordinate


def _open3d(what):
    """Import open3d, or say how to install it."""
    try:
        import open3d
    except ImportError as exc:
        raise ImportError(
            f"{what} needs the optional dependency open3d: pip install flood-tda[io]"
        ) from exc
    return open3d


def _is_open3d_noise(line):
    """RPly's own error lines and open3d's log lines: flood raises its own errors instead."""
    return line.startswith("RPly:") or "[Open3D" in line


def _existing(path):
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return path


def _suffix(path, formats, kind):
    ext = path.suffix.lower()
    if ext not in formats:
        raise ValueError(
            f"{path}: unknown {kind} extension {ext!r}; expected one of {', '.join(formats)}"
        )
    return ext


def _as_cloud(array, path, what="array"):
    """Check that ``array`` is a non-empty, finite, numeric 2-D array; return it as float64.

    The messages use the wording of :func:`flood._validation.check_points` ("``what`` has
    shape ...; expected ..."), prefixed by the file.
    """
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{path}: {what} has dtype {array.dtype}; expected real numbers")
    if array.ndim != 2 or array.shape[1] < 1:
        raise ValueError(f"{path}: {what} has shape {array.shape}; expected (n_points, dim)")
    if array.shape[0] == 0:
        raise ValueError(
            f"{path}: {what} has shape {array.shape}; expected (n_points, dim) with n_points >= 1"
        )
    array = array.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(array).all(axis=1))
    if len(bad):
        raise ValueError(
            f"{path}: {what} has {len(bad)} row(s) with NaN or infinity (first: row {bad[0]}: "
            f"{array[bad[0]].tolist()}); expected finite coordinates"
        )
    return array


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
class _Table:
    """All columns of a file before the coordinates are chosen."""

    values: np.ndarray  # (n_rows, n_columns)
    labels: tuple  # one label per column: its name, or its index as a str
    named: bool  # whether the labels are names from the file (columns= may use them)
    default: tuple  # the columns read when columns=None
    ignored: tuple = ()  # attributes of the file that were not loaded at all (PLY normals)
    what: str = "array"  # how messages name the values
    needs_three: bool = False  # whether the default columns must be three (text files)
    diagnose: object = None  # diagnose(index): raise the precise error for non-finite values


def _parse_columns(columns):
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


def _select(path, table, wanted, columns):
    """Indices into ``table.values`` of the columns to read."""
    labels = table.labels
    if wanted is None:
        if table.needs_three and len(table.default) < len(COORDINATES):
            n = len(labels)
            raise ValueError(
                f"{path} has {n} column(s) ({', '.join(labels)}); the first three columns are "
                f"read as the coordinates x, y, z. For {n}-D points pass "
                f"columns={list(range(n))} to read_point_cloud (flood compute: --columns "
                f"{','.join(map(str, range(n)))})."
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


def _read_numpy(path, ext):
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a readable {ext} file ({exc})") from None
    what = "array"
    if ext == ".npz":
        with data:
            if not data.files:
                raise ValueError(f"{path}: the archive holds no arrays")
            key = "points" if "points" in data.files else data.files[0]
            try:
                data = data[key]
            except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
                raise ValueError(f"{path}: array {key!r} is not readable ({exc})") from None
        what = f"array {key!r}"
    array = np.asarray(data)
    if array.dtype.kind not in "biuf" or array.ndim != 2 or not array.shape[1]:
        _as_cloud(array, path, what)  # raises the shape or dtype error
    labels = tuple(str(i) for i in range(array.shape[1]))
    return _Table(array, labels, False, tuple(range(array.shape[1])), what=what)


def _data_lines(path):
    """Yield ``(line_number, text)`` for lines that are neither blank nor comments (#)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.split("#", 1)[0].strip()
            if text:
                yield number, text


def _split(text, delimiter):
    return [t.strip() for t in text.split(delimiter)] if delimiter else text.split()


def _is_number_row(tokens):
    try:
        [float(t) for t in tokens]
    except ValueError:
        return False
    return True


def _diagnose_text(path, delimiter, header_line, index=None):
    """Slow line-by-line pass that finds the first bad line and raises a precise ValueError.

    Every value must be a number; those of the columns ``index`` (default: all) also finite.
    """
    n_cols = None
    for number, text in _data_lines(path):
        if number <= header_line:
            continue
        tokens = _split(text, delimiter)
        if n_cols is None:
            n_cols = len(tokens)
        if len(tokens) != n_cols:
            raise ValueError(f"{path}: line {number} has {len(tokens)} columns; expected {n_cols}")
        try:
            values = np.array([float(t) for t in tokens])
        except ValueError:
            raise ValueError(
                f"{path}: line {number} has a value that is not a number: {text!r}"
            ) from None
        if not np.all(np.isfinite(values if index is None else values[index])):
            raise ValueError(f"{path}: line {number} contains a non-finite value: {text!r}")
    if n_cols is None:
        raise ValueError(f"{path}: no points found")


def _text_layout(path, ext):
    """Delimiter, header names (or None), the last line before the data, and a promised count.

    A ``.csv`` file may start with a header line of column names; a ``.pts`` file with a line
    holding only the number of points.
    """
    lines = _data_lines(path)
    first, second = next(lines, None), next(lines, None)
    lines.close()
    if first is None:
        raise ValueError(f"{path}: no points found")
    names, count = None, None
    if ext == ".pts" and first[1].isdigit() and second is not None:
        count, first = int(first[1]), second
    delimiter = "," if "," in first[1] else None
    skip = 0 if count is None else first[0] - 1
    if not _is_number_row(_split(first[1], delimiter)):
        if ext != ".csv":
            raise ValueError(
                f"{path}: line {first[0]} has a value that is not a number: {first[1]!r} "
                "(a header line is only allowed in .csv files)"
            )
        names, skip = _split(first[1], delimiter), first[0]
    return delimiter, names, skip, count


def _read_text(path, ext):
    delimiter, names, skip, count = _text_layout(path, ext)
    try:
        array = np.loadtxt(
            path, delimiter=delimiter, comments="#", skiprows=skip, ndmin=2, dtype=float
        )
    except ValueError:
        _diagnose_text(path, delimiter, skip)
        raise  # pragma: no cover - the diagnosis always finds the bad line
    if array.size == 0:
        raise ValueError(f"{path}: no points found")
    if count is not None and len(array) != count:
        raise ValueError(
            f"{path}: the header promises {count:,} points (line 1) but the file holds "
            f"{len(array):,}"
        )
    n_cols = array.shape[1]
    if names is None:
        labels, named = tuple(str(i) for i in range(n_cols)), False
    else:
        if len(names) != n_cols:
            raise ValueError(
                f"{path}: the header names {len(names)} columns but the data has {n_cols}"
            )
        labels, named = tuple(names), True
        if labels[0] == "" or labels[0].startswith("Unnamed: "):
            labels = (INDEX_LABEL,) + labels[1:]
    lower = [label.lower() for label in labels] if named else []
    if all(lower.count(c) == 1 for c in COORDINATES) and lower:
        default = tuple(lower.index(c) for c in COORDINATES)
    else:
        default = tuple(i for i, label in enumerate(labels) if label != INDEX_LABEL)[:3]

    def diagnose(index):
        _diagnose_text(path, delimiter, skip, index)

    return _Table(array, labels, named, default, diagnose=diagnose, needs_three=True)


def _read_open3d(path, ext):
    header = check_header(path, ext)
    o3d = _open3d(f"Reading {ext} files")
    with (
        filtered_stderr(_is_open3d_noise),
        o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error),
    ):
        cloud = o3d.io.read_point_cloud(str(path), format=ext[1:])
    points = np.asarray(cloud.points, dtype=np.float64)
    if len(points) != header.n_points or len(points) == 0:
        raise ValueError(
            f"{path}: no points could be read: the header promises {header.n_points:,} "
            f"points ({header.promise!r}) but open3d read {len(points):,}"
        )
    ignored = tuple(field for field in header.fields if field not in COORDINATES)
    return _Table(points, COORDINATES, True, (0, 1, 2), ignored)


def read_point_cloud(path, columns=None, *, return_info=False):
    """Read a point cloud from a file into a float64 array.

    Supported formats, chosen by the (case-insensitive) extension:

    - ``.npy``: a 2-D array; ``.npz``: the array named ``points``, else the first array;
      every column is a coordinate;
    - ``.xyz``, ``.txt``, ``.pts``, ``.csv``: one point per line, values separated by
      whitespace or by commas; ``#`` starts a comment; blank lines are skipped; a ``.csv``
      file may start with one header line of column names (such as ``x,y,z``), a ``.pts``
      file with a line holding the number of points (checked). The coordinates are the
      columns named ``x``, ``y``, ``z`` (any case) where a header names them all, else the
      first three columns (an unnamed first column, the index pandas writes, is skipped);
      the other columns are attributes (normals, colours, intensity) and are not read;
    - ``.ply``, ``.pcd``: read with open3d (``pip install flood-tda[io]``): the ``x``,
      ``y``, ``z`` fields. The header's point count is checked first: a truncated file is
      refused (open3d alone would fill the missing points with zeros).

    Parameters
    ----------
    path : str or path-like
        The file.
    columns : sequence of int or str, or str, default=None
        The columns to read instead, in order: indices (0 is the file's first column, an
        index column included) or names from the file's header (``.csv``; ``x``, ``y``, ``z``
        of ``.ply``/``.pcd``), or one comma-separated str (``"0,1"``, ``"x,y"``). Use it for
        2-D or higher-dimensional data, whose text files have fewer or more than three
        coordinate columns.
    return_info : bool, default=False
        Also return a :class:`PointCloudInfo` saying what was read.

    Returns
    -------
    points : ndarray of shape (n_points, n_dims), dtype float64
        The coordinates.
    info : PointCloudInfo
        Only with ``return_info=True``; ``str(info)`` reads like
        ``"20,000 points x 3 (columns x, y, z; ignored: nx, ny, nz)"``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the extension is unknown, ``columns`` does not select columns of the file, a text
        file has fewer than three columns and no ``columns``, or the file is malformed (empty,
        truncated, fewer or more points than its header says, rows of different lengths,
        values that are not finite numbers); the message names the file, and for text files
        the line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from flood.datasets import read_point_cloud, write_point_cloud
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_point_cloud(folder / "cloud.csv", np.eye(3))
    >>> read_point_cloud(folder / "cloud.csv")
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    >>> _ = (folder / "normals.xyz").write_text("0 0 1 0 0 1\\n1 0 0 0 1 0\\n")
    >>> points, info = read_point_cloud(folder / "normals.xyz", return_info=True)
    >>> print(info)
    2 points x 3 (columns 0, 1, 2; ignored: 3, 4, 5)
    >>> read_point_cloud(folder / "normals.xyz", columns=[0, 1])
    array([[0., 0.],
           [1., 0.]])
    """
    path = pathlib.Path(path)
    ext = _suffix(path, POINT_CLOUD_FORMATS, "point-cloud")
    wanted = _parse_columns(columns)
    path = _existing(path)
    if ext in _NUMPY_FORMATS:
        table = _read_numpy(path, ext)
    elif ext in _TEXT_FORMATS:
        table = _read_text(path, ext)
    else:
        table = _read_open3d(path, ext)
    index = _select(path, table, wanted, columns)
    points = table.values[:, index]
    if table.diagnose is not None and not np.isfinite(points).all():
        table.diagnose(index)
    points = _as_cloud(points, path, table.what)
    if not return_info:
        return points
    labels = tuple(table.labels[i] for i in index)
    ignored = tuple(label for i, label in enumerate(table.labels) if i not in index)
    return points, PointCloudInfo(str(path), len(points), labels, ignored + table.ignored)


def write_point_cloud(path, points):
    """Write a point cloud to a file; the format follows the extension.

    ``.npy`` and ``.npz`` (array ``points``) are exact; ``.xyz`` and ``.txt`` (space separated)
    and ``.csv`` (comma separated, with a header line ``x,y,z`` or ``x0,x1,...``) use 17
    significant digits, which is exact for float64, as does ``.pts`` (a first line with the
    number of points, then the points; 3-D only); ``.ply`` (binary, float64) and ``.pcd``
    (binary, float32) need open3d and 3-D points. :func:`read_point_cloud` reads the first
    three columns of headerless text files by default: pass it ``columns`` to read back
    points of other dimensions.

    Parameters
    ----------
    path : str or path-like
        The file to write (its folder must exist); overwritten if present.
    points : array-like of shape (n_points, n_dims)
        Finite coordinates.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from flood.datasets import read_point_cloud, write_point_cloud
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cloud.npz"
    >>> write_point_cloud(path, np.zeros((4, 2)))
    >>> read_point_cloud(path).shape
    (4, 2)
    """
    path = pathlib.Path(path)
    ext = _suffix(path, POINT_CLOUD_FORMATS, "point-cloud")
    points = _as_cloud(points, path, what="'points'")
    if ext in _NUMPY_FORMATS:
        # Through a handle: np.save/np.savez would append ".npy"/".npz" to "CLOUD.NPY".
        with open(path, "wb") as handle:
            if ext == ".npy":
                np.save(handle, points)
            else:
                np.savez(handle, points=points)
    elif ext == ".csv":
        names = (
            ["x", "y", "z"] if points.shape[1] == 3 else [f"x{i}" for i in range(points.shape[1])]
        )
        np.savetxt(path, points, fmt="%.17g", delimiter=",", header=",".join(names), comments="")
    elif ext in (".txt", ".xyz"):
        np.savetxt(path, points, fmt="%.17g")
    elif points.shape[1] != 3:
        raise ValueError(f"{path}: {ext} files hold 3-D points; 'points' has shape {points.shape}")
    elif ext == ".pts":
        np.savetxt(path, points, fmt="%.17g", header=str(len(points)), comments="")
    else:
        o3d = _open3d(f"Writing {ext} files")
        cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
        with (
            filtered_stderr(_is_open3d_noise),
            o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error),
        ):
            ok = o3d.io.write_point_cloud(str(path), cloud, format=ext[1:])
        if not ok:
            raise OSError(f"{path}: open3d could not write the file")
