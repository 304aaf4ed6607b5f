"""Reading and writing point clouds: NumPy and text formats natively, PLY/PCD/PTS via open3d."""

import pathlib
import zipfile

import numpy as np

__all__ = ["read_point_cloud", "write_point_cloud"]

_NUMPY_FORMATS = (".npy", ".npz")
_TEXT_FORMATS = (".csv", ".txt", ".xyz")
_OPEN3D_FORMATS = (".pcd", ".ply", ".pts")
POINT_CLOUD_FORMATS = tuple(sorted(_NUMPY_FORMATS + _TEXT_FORMATS + _OPEN3D_FORMATS))


def _open3d(what):
    """Import open3d, or say how to install it."""
    try:
        import open3d
    except ImportError as exc:
        raise ImportError(
            f"{what} needs the optional dependency open3d: pip install flood-tda[io]"
        ) from exc
    return open3d


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
    """Check that ``array`` is a non-empty, finite, numeric 2-D array; return it as float64."""
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{path}: {what} has dtype {array.dtype}; expected a real numeric dtype")
    if array.ndim != 2 or array.shape[1] < 1:
        raise ValueError(f"{path}: {what} has shape {array.shape}; expected (n_points, n_dims)")
    if array.shape[0] == 0:
        raise ValueError(f"{path}: no points found")
    array = array.astype(np.float64, copy=False)
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        raise ValueError(f"{path}: row {int(np.argmax(bad))} contains a non-finite value")
    return array


def _read_numpy(path, ext):
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a readable {ext} file ({exc})") from None
    if ext == ".npy":
        return _as_cloud(data, path)
    with data:
        if not data.files:
            raise ValueError(f"{path}: the archive holds no arrays")
        key = "points" if "points" in data.files else data.files[0]
        try:
            array = data[key]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{path}: array {key!r} is not readable ({exc})") from None
    return _as_cloud(array, path, what=f"array {key!r}")


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


def _diagnose_text(path, delimiter, header_line):
    """Slow line-by-line pass that finds the first bad line and raises a precise ValueError."""
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
            values = [float(t) for t in tokens]
        except ValueError:
            raise ValueError(
                f"{path}: line {number} has a value that is not a number: {text!r}"
            ) from None
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{path}: line {number} contains a non-finite value: {text!r}")
    if n_cols is None:
        raise ValueError(f"{path}: no points found")


def _read_text(path, ext):
    lines = _data_lines(path)
    first = next(lines, None)
    lines.close()
    if first is None:
        raise ValueError(f"{path}: no points found")
    delimiter = "," if "," in first[1] else None
    header_line = 0
    if not _is_number_row(_split(first[1], delimiter)):
        if ext != ".csv":
            raise ValueError(
                f"{path}: line {first[0]} has a value that is not a number: {first[1]!r} "
                "(a header line is only allowed in .csv files)"
            )
        header_line = first[0]
    try:
        array = np.loadtxt(
            path, delimiter=delimiter, comments="#", skiprows=header_line, ndmin=2, dtype=float
        )
    except ValueError:
        _diagnose_text(path, delimiter, header_line)
        raise  # pragma: no cover - the diagnosis always finds the bad line
    if array.size == 0:
        raise ValueError(f"{path}: no points found")
    if not np.all(np.isfinite(array)):
        _diagnose_text(path, delimiter, header_line)
    return array


def _read_open3d(path, ext):
    o3d = _open3d(f"Reading {ext} files")
    with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
        cloud = o3d.io.read_point_cloud(str(path), format=ext[1:])
    points = np.asarray(cloud.points, dtype=np.float64)
    if len(points) == 0:
        raise ValueError(f"{path}: no points could be read (empty or malformed {ext} file)")
    return _as_cloud(points, path)


def read_point_cloud(path):
    """Read a point cloud from a file into a float64 array.

    Supported formats, chosen by the (case-insensitive) extension:

    - ``.npy``: a 2-D array; ``.npz``: the array named ``points``, else the first array;
    - ``.xyz``, ``.txt``, ``.csv``: one point per line, values separated by whitespace or by
      commas; ``#`` starts a comment; blank lines are skipped; a ``.csv`` file may start with
      one header line (such as ``x,y,z``);
    - ``.ply``, ``.pcd``, ``.pts``: read with open3d (``pip install flood-tda[io]``); always
      three columns.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    points : ndarray of shape (n_points, n_dims), dtype float64
        Every column of the file (an ``.xyz`` file with normals gives 6 columns).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the extension is unknown or the file is malformed (empty, truncated, rows of
        different lengths, values that are not finite numbers); the message names the file,
        and for text files the line.

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
    """
    path = pathlib.Path(path)
    ext = _suffix(path, POINT_CLOUD_FORMATS, "point-cloud")
    path = _existing(path)
    if ext in _NUMPY_FORMATS:
        return _read_numpy(path, ext)
    if ext in _TEXT_FORMATS:
        return _read_text(path, ext)
    return _read_open3d(path, ext)


def write_point_cloud(path, points):
    """Write a point cloud to a file; the format follows the extension.

    ``.npy`` and ``.npz`` (array ``points``) are exact; ``.xyz`` and ``.txt`` (space separated)
    and ``.csv`` (comma separated, with a header line ``x,y,z`` or ``x0,x1,...``) use 17
    significant digits, which is exact for float64; ``.ply`` (binary, float64), ``.pcd``
    (binary, float32) and ``.pts`` (text, 10 decimals) need open3d and 3-D points.

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
    elif ext in _TEXT_FORMATS:
        np.savetxt(path, points, fmt="%.17g")
    else:
        if points.shape[1] != 3:
            raise ValueError(
                f"{path}: {ext} files hold 3-D points; 'points' has shape {points.shape}"
            )
        o3d = _open3d(f"Writing {ext} files")
        cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
        with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
            ok = o3d.io.write_point_cloud(str(path), cloud, format=ext[1:])
        if not ok:
            raise OSError(f"{path}: open3d could not write the file")
