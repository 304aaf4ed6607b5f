"""Point clouds larger than memory: a file read as a dask array of row blocks.

``read_point_cloud(path, chunks=n)`` returns a ``dask.array.Array`` of shape (n_points, dim),
float64, ``n`` rows per block (the last one shorter), without reading a point: the graph holds
the path and the rows of each block. Computing a block reads only its rows (a ``.npy`` file
memory-mapped; LAS/LAZ through laspy's seek; a Zarr array the chunks that hold them) and checks
them with :func:`~flood.datasets.check_chunk`, so a NaN is reported with the rows of its block.
What the header alone can refuse (shape, dtype, columns, a truncated LAS/LAZ) is refused before
any block is read. Zarr stores are read whole here too (``read_point_cloud`` without
``chunks``). Dask and zarr are optional dependencies, imported when used.
"""

import dataclasses
import pathlib

import numpy as np

from flood.datasets._columns import PointCloudInfo, Table, select_columns
from flood.datasets._las import open_las, read_las_rows
from flood.datasets._validation import check_chunk, check_int, check_layout

__all__ = ["CHUNKED_FORMATS", "check_chunked", "is_zarr", "read_chunked", "read_zarr"]

ZARR_SUFFIX = ".zarr"
#: The metadata file of a Zarr node: v3 (array or group), v2 array, v2 group.
_ZARR_METADATA = ("zarr.json", ".zarray", ".zgroup")
#: The formats whose rows can be read without reading the rows before them.
CHUNKED_FORMATS = (".las", ".laz", ".npy", ZARR_SUFFIX)
#: What zarr raises for a store it cannot read (its errors derive from these).
_ZARR_ERRORS = (OSError, ValueError, KeyError)
_INSTALL = "pip install flood-tda[dask]"


def _dask_array():
    """Import dask.array, or say how to install it."""
    try:
        import dask.array
    except ImportError as exc:
        raise ImportError(
            "The 'chunks' parameter of read_point_cloud needs the optional dependency dask: "
            f"{_INSTALL}"
        ) from exc
    return dask.array


def _zarr():
    """Import zarr, or say how to install it."""
    try:
        import zarr
    except ImportError as exc:
        raise ImportError(
            f"Reading Zarr stores needs the optional dependency zarr: {_INSTALL}"
        ) from exc
    return zarr


def is_zarr(path):
    """Whether ``path`` names a Zarr store: a ``*.zarr`` path, or a folder holding a Zarr
    node's metadata (an array inside a store, such as ``scan.zarr/points``)."""
    if path.suffix.lower() == ZARR_SUFFIX:
        return True
    return path.is_dir() and any((path / name).is_file() for name in _ZARR_METADATA)


def check_chunked(path, chunks, classes):
    """``chunks`` as an int (None stays None), after checking that it applies to ``path``.

    Parameters
    ----------
    path : pathlib.Path
    chunks : object
        The ``chunks`` parameter of ``read_point_cloud``: None or an int >= 1 (not a bool).
    classes : tuple of int or None
        The checked ``classes`` parameter: a classification filter keeps an unknown number of
        each block's records, so it cannot be combined with ``chunks``.

    Examples
    --------
    >>> import pathlib
    >>> check_chunked(pathlib.Path("scan.laz"), 1_000_000, None)
    1000000
    >>> check_chunked(pathlib.Path("scan.csv"), 1000, None)
    Traceback (most recent call last):
    ...
    ValueError: The 'chunks' parameter of read_point_cloud applies to .las, .laz and .npy \
files and Zarr stores only (whose rows can be read without reading the rows before them). \
Got chunks=1000 for scan.csv (a .csv file).
    """
    if chunks is None:
        return None
    chunks = check_int(chunks, "chunks", "read_point_cloud", low=1)
    if not (is_zarr(path) or path.suffix.lower() in CHUNKED_FORMATS):
        kind = f"a {path.suffix.lower()} file" if path.suffix else "no extension"
        raise ValueError(
            "The 'chunks' parameter of read_point_cloud applies to .las, .laz and .npy files "
            "and Zarr stores only (whose rows can be read without reading the rows before "
            f"them). Got chunks={chunks!r} for {path} ({kind})."
        )
    if classes is not None:
        raise ValueError(
            "The 'classes' parameter of read_point_cloud cannot be combined with 'chunks': "
            "the points each block keeps are unknown until it is read. Read the classification "
            "as a column (columns=['x', 'y', 'z', 'classification']) and filter the dask "
            f"array instead. Got classes={classes!r} and chunks={chunks!r}."
        )
    return chunks


def _stamp(path):
    """What changes when a file is rewritten: part of the dask keys of its blocks."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _unchanged(array, shape, dtype, path):
    """Refuse a file whose array changed between opening and reading a block."""
    if tuple(array.shape) != shape or np.dtype(array.dtype) != np.dtype(dtype):
        raise ValueError(
            f"{path}: the array has shape {tuple(array.shape)} and dtype {array.dtype} now; "
            f"expected {shape} and {dtype}, as when read_point_cloud opened it (the file changed)"
        )


@dataclasses.dataclass(frozen=True)
class _NpySource:
    """The rows of a ``.npy`` file, memory-mapped by each read."""

    path: str
    stamp: tuple
    shape: tuple
    dtype: str
    index: tuple

    def read(self, start, stop):
        array = np.load(self.path, mmap_mode="r", allow_pickle=False)
        _unchanged(array, self.shape, self.dtype, self.path)
        return np.asarray(array[start:stop, list(self.index)], dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class _ZarrSource:
    """The rows of a Zarr array (``store`` is the array's own folder)."""

    path: str
    stamp: tuple
    store: str
    shape: tuple
    dtype: str
    index: tuple

    def read(self, start, stop):
        array = _zarr().open_array(self.store, mode="r")
        _unchanged(array, self.shape, self.dtype, self.path)
        return np.asarray(array[start:stop], dtype=np.float64)[:, list(self.index)]


@dataclasses.dataclass(frozen=True)
class _LasSource:
    """The records of a LAS/LAZ file, each read seeking to its first record."""

    path: str
    stamp: tuple
    index: tuple  # the LAS dimension names of the columns

    def read(self, start, stop):
        return read_las_rows(pathlib.Path(self.path), self.index, start, stop)


def _block(source, block_info=None):
    """One block of rows of ``source``, read and checked (dask passes ``block_info``)."""
    (start, stop), _ = block_info[None]["array-location"]
    block = source.read(start, stop)
    return check_chunk(block, start, source.path, n_rows=stop - start, dim=len(source.index))


def _blocks(source, n_points, chunks):
    """The dask array of ``source``'s rows, ``chunks`` rows per block."""
    da = _dask_array()
    from dask.base import tokenize

    sizes = (chunks,) * (n_points // chunks) + ((n_points % chunks,) if n_points % chunks else ())
    return da.map_blocks(
        _block,
        name=f"read_point_cloud-{tokenize(source, chunks)}",
        chunks=(sizes, (len(source.index),)),
        dtype=np.float64,
        meta=np.empty((0, 0)),
        source=source,
    )


def _table(shape, what):
    """The layout of an array file: columns named by their indices, all read by default."""
    labels = tuple(str(i) for i in range(shape[1]))
    return Table(np.empty((0, shape[1])), labels, False, tuple(range(shape[1])), what=what)


def _info(path, n_points, table, index):
    labels = tuple(table.labels[i] for i in index)
    ignored = tuple(label for i, label in enumerate(table.labels) if i not in index)
    return PointCloudInfo(str(path), n_points, labels, ignored)


def _open_npy(path, wanted, columns):
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npy file ({exc})") from None
    check_layout(array.shape, array.dtype, path)
    table = _table(array.shape, "array")
    index = tuple(select_columns(path, table, wanted, columns))
    source = _NpySource(str(path), _stamp(path), array.shape, array.dtype.str, index)
    return source, _info(path, array.shape[0], table, index)


def _open_zarr(path):
    """The array of a Zarr store (its array ``points``, else its first array, for a group),
    its folder, and how messages name it."""
    zarr = _zarr()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such Zarr store")
    try:
        node = zarr.open(str(path), mode="r")
    except _ZARR_ERRORS as exc:
        raise ValueError(f"{path}: not a readable Zarr store ({exc})") from None
    if not isinstance(node, zarr.Group):
        return node, path, "array"
    keys = sorted(node.array_keys())
    if not keys:
        raise ValueError(f"{path}: the Zarr group holds no arrays")
    key = "points" if "points" in keys else keys[0]
    return node[key], path / key, f"array {key!r}"


def read_zarr(path):
    """All columns of a Zarr array, read whole (``read_point_cloud`` without ``chunks``).

    Returns
    -------
    table : Table
    """
    array, _, what = _open_zarr(path)
    check_layout(array.shape, array.dtype, path, what)
    try:
        values = np.asarray(array[...])
    except _ZARR_ERRORS as exc:
        raise ValueError(f"{path}: {what} is not readable ({exc})") from None
    return dataclasses.replace(_table(array.shape, what), values=values)


def _open_zarr_source(path, wanted, columns):
    array, store, what = _open_zarr(path)
    check_layout(array.shape, array.dtype, path, what)
    table = _table(array.shape, what)
    index = tuple(select_columns(path, table, wanted, columns))
    metadata = next(store / name for name in _ZARR_METADATA if (store / name).is_file())
    shape, dtype = tuple(array.shape), np.dtype(array.dtype).str
    source = _ZarrSource(str(path), _stamp(metadata), str(store), shape, dtype, index)
    return source, _info(path, shape[0], table, index)


def read_chunked(path, wanted, columns, chunks):
    """The points of a ``.npy``, LAS/LAZ file or Zarr store as a dask array of row blocks.

    Parameters
    ----------
    path : pathlib.Path
        An existing ``.npy``, ``.las`` or ``.laz`` file, or a Zarr store.
    wanted : list of int or str, or None
        ``columns`` as parsed by ``parse_columns`` (names for LAS/LAZ dimensions only).
    columns : object
        ``columns`` as the user gave it, for messages.
    chunks : int
        Rows per block, as checked by :func:`check_chunked`.

    Returns
    -------
    points : dask.array.Array of shape (n_points, n_columns), dtype float64
        Blocks of ``chunks`` rows (the last one shorter), each read and checked when computed.
    info : PointCloudInfo
        A :class:`~flood.datasets.LasInfo` for LAS/LAZ files.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cloud.npy"
    >>> np.save(path, np.arange(12.0).reshape(6, 2))
    >>> points, info = read_chunked(path, None, None, 4)
    >>> points.chunks
    ((4, 2), (2,))
    >>> points.blocks[1].compute()
    array([[ 8.,  9.],
           [10., 11.]])
    """
    _dask_array()  # a missing dask is said before the file is opened
    if is_zarr(path):
        source, info = _open_zarr_source(path, wanted, columns)
    elif path.suffix.lower() == ".npy":
        source, info = _open_npy(path, wanted, columns)
    else:
        info = open_las(path, wanted, columns)
        source = _LasSource(str(path), _stamp(path), info.columns)
    return _blocks(source, info.n_points, chunks), info
