"""Reading and writing point clouds: NumPy, text, PLY and PCD formats natively (PLY and PCD in
NumPy on flood's own header parser: see :mod:`flood.datasets._ply` for why), LAS/LAZ (read
only) via laspy."""

import pathlib
import zipfile

import numpy as np

from flood.datasets._chunked import ZARR_SUFFIX, check_chunked, is_zarr, read_chunked, read_zarr
from flood.datasets._columns import (
    INDEX_LABEL,
    PointCloudInfo,
    Table,
    coordinate_columns,
    parse_columns,
    select_columns,
)
from flood.datasets._las import LAS_FORMATS, check_classes, read_las
from flood.datasets._pcd import read_pcd, write_pcd
from flood.datasets._ply import read_ply, write_ply
from flood.datasets._survey import is_survey, read_survey
from flood.datasets._validation import check_layout

__all__ = ["PointCloudInfo", "read_point_cloud", "write_point_cloud"]

_NUMPY_FORMATS = (".npy", ".npz")
_TEXT_FORMATS = (".csv", ".pts", ".txt", ".xyz")
_HEADED_FORMATS = {".pcd": (read_pcd, write_pcd), ".ply": (read_ply, write_ply)}
#: The extensions write_point_cloud writes; read_point_cloud reads these and LAS/LAZ.
WRITABLE_FORMATS = tuple(sorted(_NUMPY_FORMATS + _TEXT_FORMATS + tuple(_HEADED_FORMATS)))
POINT_CLOUD_FORMATS = tuple(sorted(WRITABLE_FORMATS + LAS_FORMATS))


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
    shape ...; expected ..."), prefixed by the file; the shape and dtype rule is
    :func:`~flood.datasets._validation.check_layout`, shared with chunked reads.
    """
    array = np.asarray(array)
    check_layout(array.shape, array.dtype, path, what)
    array = array.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(array).all(axis=1))
    if len(bad):
        raise ValueError(
            f"{path}: {what} has {len(bad)} row(s) with NaN or infinity (first: row {bad[0]}: "
            f"{array[bad[0]].tolist()}); expected finite coordinates"
        )
    return array


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
    return Table(array, labels, False, tuple(range(array.shape[1])), what=what)


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
    default = coordinate_columns(labels)

    def diagnose(index):
        _diagnose_text(path, delimiter, skip, index)

    return Table(array, labels, named, default, diagnose=diagnose, needs_three=True)


def read_point_cloud(path, columns=None, *, classes=None, chunks=None, return_info=False):
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
    - ``.ply`` (ASCII, binary little and big endian: the vertex element) and ``.pcd``
      (ascii, binary, binary_compressed), read in NumPy (no dependency): every property or
      field is a column, named as in the header (``x``, ``y``, ``z``, ``nx``, ``intensity``,
      ``red``, ...; a PCD field of COUNT n gives ``name_0`` ... ``name_{n-1}``, a packed PCD
      ``rgb``/``rgba`` ``red``, ``green``, ``blue`` (``alpha``)); the coordinates are ``x``,
      ``y``, ``z``, the other columns attributes. A file whose body is shorter than its header
      promises, or whose header is inconsistent, is refused;
    - ``.las``, ``.laz``: LiDAR files, read with laspy (``pip install flood-tda[io]``, which
      brings the lazrs backend for LAZ) in chunks of a million points: the coordinates
      ``x``, ``y``, ``z`` with the file's scale and offset applied (``X * scale + offset`` in
      float64); the columns are ``x``, ``y``, ``z`` and then the point format's other
      dimensions (``intensity``, ``classification``, ``gps_time``, ...); ``classes`` keeps
      the points of some classifications. A file with fewer point records than its header
      says is refused;
    - a Zarr store (a ``*.zarr`` folder: its array ``points``, else its first array; or the
      folder of an array inside a store), read with zarr (``pip install flood-tda[dask]``);
    - a survey of LAS/LAZ tiles: a glob pattern (``"survey/*.laz"``) or a folder holding
      ``.las``/``.laz`` files, every file read (sorted by name) and the rows joined; with
      ``chunks`` each block holds rows of one file (:mod:`flood.datasets._survey`).

    With ``chunks``, a ``.npy`` file, a LAS/LAZ file or a Zarr store is not read: the result
    is a ``dask.array.Array`` of blocks of ``chunks`` rows, each read alone when computed (a
    ``.npy`` file memory-mapped, LAS/LAZ through laspy's seek) and checked then: a block with
    NaN or infinite values raises a ValueError naming the file and the block's rows (see
    :func:`check_chunk`). Shape, dtype, columns and truncated LAS/LAZ files are checked at
    once, from the header.

    Parameters
    ----------
    path : str or path-like
        The file.
    columns : sequence of int or str, or str, default=None
        The columns to read instead, in order: indices (0 is the file's first column, an
        index column included) or names from the file's header (``.csv``; properties and
        fields of ``.ply``/``.pcd`` such as ``intensity`` or ``red``; LAS dimension names such
        as ``intensity`` of ``.las``/``.laz``),
        or one comma-separated str (``"0,1"``, ``"x,y"``). Use it for 2-D or
        higher-dimensional data, whose text files have fewer or more than three coordinate
        columns.
    classes : int, sequence of int or str, default=None
        ``.las``/``.laz`` only: keep the points whose classification is one of these codes
        (ints in [0, 255], e.g. ``(2,)`` for ground, or ``"2,6"``); None keeps every point.
        Not with ``chunks`` (a block's kept points are unknown until it is read): read the
        ``classification`` column instead and filter the dask array.
    chunks : int, default=None
        Rows per block (an int >= 1) of a dask array to return instead (needs ``pip install
        flood-tda[dask]``); ``.npy``, ``.las``, ``.laz`` and Zarr only.
    return_info : bool, default=False
        Also return a :class:`PointCloudInfo` saying what was read.

    Returns
    -------
    points : ndarray or dask.array.Array of shape (n_points, n_dims), dtype float64
        The coordinates; a dask array with ``chunks``.
    info : PointCloudInfo
        Only with ``return_info=True``; ``str(info)`` reads like
        ``"20,000 points x 3 (columns x, y, z; ignored: nx, ny, nz)"``; for LAS/LAZ files a
        :class:`LasInfo`, ``"1,234 points x 3 (columns x, y, z; point
        format 3; classes 2 of 5,000 points)"``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the extension is unknown, ``columns`` does not select columns of the file, a text
        file has fewer than three columns and no ``columns``, or the file is malformed (empty,
        truncated, fewer or more points than its header says, rows of different lengths,
        values that are not finite numbers), or ``classes`` is malformed, given for a file
        that is not LAS/LAZ, or keeps no point, or ``chunks`` is not a positive int (a
        ``TypeError`` if it is not an int) or is given for another format or with
        ``classes``; the message names the file, and for text files the line.
    ImportError
        If the file needs an optional dependency (laspy, lazrs, dask, zarr) that is missing.

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
    >>> write_point_cloud(folder / "big.npy", np.ones((5, 3)))
    >>> read_point_cloud(folder / "big.npy", chunks=2).chunks
    ((2, 2, 1), (3,))
    """
    path = pathlib.Path(path)
    zarr_store = is_zarr(path)
    if not zarr_store and is_survey(path):

        def one(file):
            return read_point_cloud(file, columns, classes=classes, chunks=chunks, return_info=True)

        points, info = read_survey(path, one, chunked=chunks is not None)
        return (points, info) if return_info else points
    ext = ZARR_SUFFIX if zarr_store else _suffix(path, POINT_CLOUD_FORMATS, "point-cloud")
    wanted = parse_columns(columns)
    classes = check_classes(classes, path)
    chunks = check_chunked(path, chunks, classes)
    path = path if zarr_store else _existing(path)
    if chunks is not None:
        points, info = read_chunked(path, wanted, columns, chunks)
        return (points, info) if return_info else points
    if ext in LAS_FORMATS:
        points, info = read_las(path, wanted, columns, classes)
        points = _as_cloud(points, path)
        return (points, info) if return_info else points
    if zarr_store:
        table = read_zarr(path)
    elif ext in _NUMPY_FORMATS:
        table = _read_numpy(path, ext)
    elif ext in _TEXT_FORMATS:
        table = _read_text(path, ext)
    else:
        table = _HEADED_FORMATS[ext][0](path)
    index = select_columns(path, table, wanted, columns)
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
    number of points, then the points; 3-D only); ``.ply`` (binary little endian, float64)
    and ``.pcd`` (binary, float32) hold 3-D points. :func:`read_point_cloud` reads the first
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
    ext = _suffix(path, WRITABLE_FORMATS, "writable point-cloud")
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
        _HEADED_FORMATS[ext][1](path, points)
