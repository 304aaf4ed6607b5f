"""LiDAR point clouds: LAS and LAZ files through laspy (LAZ with the lazrs backend).

A LAS file stores each coordinate as an int32 record ``X`` with a per-file ``scale`` and
``offset``: the coordinate is ``X * scale + offset``, computed here in float64 (exact to the
file's resolution). Files are read in chunks of :data:`CHUNK_POINTS` records, so a filtered read
of a large file holds the file's attributes for one chunk at a time, never for the whole file.
"""

import dataclasses
import numbers

import numpy as np

from flood.datasets._columns import COORDINATES, PointCloudInfo, Table, select_columns

__all__ = ["LAS_FORMATS", "LasInfo", "check_classes", "open_las", "read_las", "read_las_rows"]

LAS_FORMATS = (".las", ".laz")
#: Records per read: about 34 MB of point format 3, bounding what a filtered read holds at once.
CHUNK_POINTS = 1_000_000
#: Classification codes are one byte (formats 6-10; formats 0-5 use the low five bits).
N_CLASSES = 256
_RAW = {"x": "X", "y": "Y", "z": "Z"}  # the int32 records behind the scaled coordinates


@dataclasses.dataclass(frozen=True)
class LasInfo(PointCloudInfo):
    """What :func:`~flood.datasets.read_point_cloud` read from a LAS/LAZ file.

    A :class:`PointCloudInfo` whose ``columns`` are LAS dimension names (``x``, ``y``, ``z``
    are the scaled coordinates) and whose ``ignored`` are the file's other dimensions; ``str``
    names the point format and the classification filter instead of every other dimension.

    Attributes
    ----------
    point_format : int
        The LAS point data record format (0-10).
    classes : tuple of int or None
        The classifications kept, or None when every point was read.
    n_records : int
        The point records of the file (before the classification filter).

    Examples
    --------
    >>> info = LasInfo("scan.laz", 1234, ("x", "y", "z"), ("intensity",), 3, (2,), 5000)
    >>> str(info)
    '1,234 points x 3 (columns x, y, z; point format 3; classes 2 of 5,000 points)'
    """

    point_format: int = 0
    classes: tuple = None
    n_records: int = 0

    def __str__(self):
        kept = ""
        if self.classes is not None:
            codes = ", ".join(map(str, self.classes))
            kept = f"; classes {codes} of {self.n_records:,} points"
        return (
            f"{self.n_points:,} points x {len(self.columns)} (columns {', '.join(self.columns)}; "
            f"point format {self.point_format}{kept})"
        )


def check_classes(classes, path):
    """``classes`` as a sorted tuple of distinct classification codes, or None.

    Parameters
    ----------
    classes : None, int, sequence of int, or str
        Classification codes in ``[0, 255]``: one int, a sequence, or a comma-separated str
        such as ``"2,6"``.
    path : pathlib.Path
        The file; ``classes`` other than None need a ``.las`` or ``.laz`` file.

    Examples
    --------
    >>> import pathlib
    >>> check_classes("6, 2", pathlib.Path("scan.laz"))
    (2, 6)
    """
    if classes is None:
        return None
    rule = (
        "The 'classes' parameter of read_point_cloud must be None or distinct LAS "
        f"classification codes (ints in the range [0, {N_CLASSES - 1}], e.g. (2,) for ground), "
        "as one int, a sequence or a comma-separated str such as '2,6'."
    )
    if path.suffix.lower() not in LAS_FORMATS:
        raise ValueError(
            f"The 'classes' parameter of read_point_cloud applies to {' and '.join(LAS_FORMATS)} "
            f"files only. Got {classes!r} for {path}."
        )
    if isinstance(classes, str):
        entries = [entry.strip() for entry in classes.split(",")]
        if not all(entry.isdigit() for entry in entries):
            raise ValueError(f"{rule} Got {classes!r} instead.")
        entries = [int(entry) for entry in entries]
    elif isinstance(classes, numbers.Integral) and not isinstance(classes, (bool, np.bool_)):
        entries = [classes]
    else:
        try:
            entries = list(classes)
        except TypeError:
            raise TypeError(f"{rule} Got {classes!r} instead.") from None
        if not all(
            isinstance(e, numbers.Integral) and not isinstance(e, (bool, np.bool_)) for e in entries
        ):
            raise TypeError(f"{rule} Got {classes!r} instead.")
    codes = [int(e) for e in entries]
    if not codes or len(set(codes)) != len(codes) or not all(0 <= c < N_CLASSES for c in codes):
        raise ValueError(f"{rule} Got {classes!r} instead.")
    return tuple(sorted(codes))


def _laspy(ext):
    """Import laspy (and lazrs for ``.laz``), or say how to install them; return the errors
    that mean "this file is malformed"."""
    try:
        import laspy
    except ImportError as exc:
        raise ImportError(
            f"Reading {ext} files needs the optional dependency laspy: pip install flood-tda[io]"
        ) from exc
    errors = (laspy.errors.LaspyException,)
    try:
        import lazrs
    except ImportError as exc:
        if ext == ".laz":
            raise ImportError(
                "Reading .laz files needs the optional dependency lazrs: pip install flood-tda[io]"
            ) from exc
    else:
        errors += (lazrs.LazrsError,)
    return laspy, errors


def _dimensions(point_format):
    """The selectable columns of a point format (x, y, z first, then the scalar attributes)
    and the dimensions that cannot be columns (multi-element extra bytes such as normals)."""
    labels, ignored = list(COORDINATES), []
    for dim in point_format.dimensions:
        if dim.name in _RAW.values():
            continue
        (labels if dim.num_elements == 1 else ignored).append(dim.name)
    return tuple(labels), tuple(ignored)


def _selection(path, header, wanted, columns):
    """The names of the columns ``wanted`` of a file with this header, and the file's other
    dimensions (the columns not read, then those that cannot be columns)."""
    labels, multi = _dimensions(header.point_format)
    layout = Table(np.empty((0, len(labels))), labels, True, (0, 1, 2))
    index = select_columns(path, layout, wanted, columns)
    ignored = tuple(label for i, label in enumerate(labels) if i not in index) + multi
    return tuple(labels[i] for i in index), ignored


def _check_size(path, header):
    """Refuse an uncompressed file with fewer point records than its header's count (laspy
    would read the records present and say nothing)."""
    if header.are_points_compressed:
        return  # LAZ: the decompressor fails on a short file; the count is checked after it
    size = path.stat().st_size
    count, offset = header.point_count, header.offset_to_point_data
    record = header.point_format.size
    need = offset + count * record
    if size < need:
        found = max(0, (size - offset) // record)
        raise ValueError(
            f"{path}: the header promises {count:,} points but the file holds {found:,} "
            f"(truncated: {size:,} bytes; {count:,} records of {record} bytes from byte "
            f"{offset:,} need {need:,})"
        )


def _check_chunk_table(path, header):
    """Refuse a LAZ file whose chunk table cannot be read or holds fewer records than the
    header's count. The table, which seeking needs, is at the end of the file: a truncated file
    has none (laspy opens it all the same and fails when decompressing)."""
    import lazrs  # present: _laspy checked it for .laz files

    found = header.vlrs.get("LasZipVlr")
    if not found:
        raise ValueError(f"{path}: not a readable .laz file (no LasZip record)")
    vlr = lazrs.LazVlr(found[0].record_data)
    try:
        with open(path, "rb") as source:
            source.seek(header.offset_to_point_data)
            table = lazrs.read_chunk_table(source, vlr)
    except lazrs.LazrsError as exc:
        raise ValueError(
            f"{path}: not a readable .laz file: its chunk table, at the end of the file, cannot "
            f"be read (truncated?) ({exc})"
        ) from None
    held = sum(count for count, _ in table)  # fixed-size chunks: the last one counted full
    if header.point_count > held:
        raise ValueError(
            f"{path}: the header promises {header.point_count:,} points but the file's "
            f"compressed chunks hold at most {held:,}"
        )


def _columns_of(chunk, names, keep, out):
    """Write the float64 columns ``names`` of the records ``keep`` (a mask, or None for all)
    of a chunk into ``out``."""
    for j, name in enumerate(names):
        if name in _RAW:
            axis = "xyz".index(name)
            raw = np.asarray(chunk[_RAW[name]], dtype=np.float64)
            values = raw * chunk.scales[axis] + chunk.offsets[axis]
        else:
            values = np.asarray(chunk[name], dtype=np.float64)
        out[:, j] = values if keep is None else values[keep]


def _read_chunks(reader, names, classes):
    """The kept points of ``reader`` as an (n, len(names)) array, the records read, and the
    number of records of each classification code (None without ``classes``).

    Without ``classes`` the points go straight into one array of the header's size; with
    them, each chunk's kept points are gathered and joined at the end.
    """
    lookup, counts = None, None
    if classes is None:
        points = np.empty((reader.header.point_count, len(names)))
    else:
        lookup = np.zeros(N_CLASSES, dtype=bool)
        lookup[list(classes)] = True
        counts = np.zeros(N_CLASSES, dtype=np.int64)
        parts = []
    n_records = 0
    for chunk in reader.chunk_iterator(CHUNK_POINTS):
        if lookup is None:
            _columns_of(chunk, names, None, points[n_records : n_records + len(chunk)])
        else:
            codes = np.asarray(chunk.classification)
            counts += np.bincount(codes, minlength=N_CLASSES)
            keep = lookup[codes]
            parts.append(np.empty((int(keep.sum()), len(names))))
            _columns_of(chunk, names, keep, parts[-1])
        n_records += len(chunk)
    if lookup is None:
        return points[:n_records], n_records, counts
    return np.concatenate(parts or [np.empty((0, len(names)))]), n_records, counts


def read_las(path, wanted, columns, classes):
    """Read the columns ``wanted`` of the points of ``classes`` of a LAS/LAZ file.

    Parameters
    ----------
    path : pathlib.Path
        An existing ``.las`` or ``.laz`` file.
    wanted : list of int or str, or None
        ``columns`` as parsed by ``parse_columns``: indices into ``x, y, z`` followed by the
        file's other scalar dimensions, or their names (any case); None reads ``x, y, z``.
    columns : object
        ``columns`` as the user gave it, for messages.
    classes : tuple of int or None
        As returned by :func:`check_classes`.

    Returns
    -------
    points : ndarray of shape (n_points, n_columns), dtype float64
    info : LasInfo

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import laspy
    >>> header = laspy.LasHeader(point_format=3, version="1.2")
    >>> header.scales, header.offsets = [0.01, 0.01, 0.01], [500.0, 0.0, 0.0]
    >>> las = laspy.LasData(header)
    >>> las.X, las.Y, las.Z = [0, 100, 250], [0, 0, 0], [100, 100, 100]
    >>> las.classification = [2, 6, 2]
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.las"
    >>> las.write(path)
    >>> points, info = read_las(path, None, None, (2,))
    >>> points
    array([[500. ,   0. ,   1. ],
           [502.5,   0. ,   1. ]])
    >>> print(info)
    2 points x 3 (columns x, y, z; point format 3; classes 2 of 3 points)
    """
    ext = path.suffix.lower()
    laspy, errors = _laspy(ext)
    try:
        with laspy.open(path) as reader:
            header = reader.header
            names, ignored = _selection(path, header, wanted, columns)
            _check_size(path, header)
            points, n_records, counts = _read_chunks(reader, names, classes)
    except errors as exc:
        raise ValueError(f"{path}: not a readable {ext} file ({exc})") from None
    if n_records != header.point_count:
        raise ValueError(
            f"{path}: the header promises {header.point_count:,} points but the file holds "
            f"{n_records:,}"
        )
    if n_records == 0:
        raise ValueError(f"{path}: no points found")
    if len(points) == 0:
        present = ", ".join(map(str, np.flatnonzero(counts)))
        raise ValueError(
            f"{path}: no points of classes {', '.join(map(str, classes))} among its "
            f"{n_records:,}; the file's classes are {present}"
        )
    info = LasInfo(
        str(path), len(points), names, ignored, header.point_format.id, classes, n_records
    )
    return points, info


def open_las(path, wanted, columns):
    """Check a LAS/LAZ file without reading its points; say what a chunked read gives.

    The checks of :func:`read_las` that need no point: the columns, the file size against the
    header's record count (LAS), the chunk table at the end of the file against that count
    (LAZ: a truncated file has none), at least one record.

    Parameters
    ----------
    path : pathlib.Path
        An existing ``.las`` or ``.laz`` file.
    wanted, columns : object
        As for :func:`read_las`.

    Returns
    -------
    info : LasInfo
        Every record of the file (``n_points == n_records``); ``info.columns`` are the names
        to pass to :func:`read_las_rows`.
    """
    ext = path.suffix.lower()
    laspy, errors = _laspy(ext)
    try:
        with laspy.open(path) as reader:
            header = reader.header
            names, ignored = _selection(path, header, wanted, columns)
            _check_size(path, header)
            if header.are_points_compressed:
                _check_chunk_table(path, header)
    except errors as exc:
        raise ValueError(f"{path}: not a readable {ext} file ({exc})") from None
    n_records = header.point_count
    if n_records == 0:
        raise ValueError(f"{path}: no points found")
    return LasInfo(str(path), n_records, names, ignored, header.point_format.id, None, n_records)


def read_las_rows(path, names, start, stop):
    """The float64 columns ``names`` of the records ``start`` to ``stop - 1`` of a LAS/LAZ file.

    Seeks to record ``start`` and reads only the records asked for (LAZ: lazrs decompresses
    from the start of the compressed chunk holding ``start``, one thread: the caller runs
    blocks in parallel).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import laspy
    >>> las = laspy.LasData(laspy.LasHeader(point_format=0, version="1.2"))
    >>> las.X, las.Y, las.Z = [0, 100, 200, 300], [0, 0, 0, 0], [0, 0, 0, 0]  # scale 0.01
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.laz"
    >>> las.write(path)
    >>> read_las_rows(path, ("x", "z"), 1, 3)
    array([[1., 0.],
           [2., 0.]])
    """
    ext = path.suffix.lower()
    laspy, errors = _laspy(ext)
    rows = f"records {start:,}-{stop - 1:,}"
    try:
        with laspy.open(path, laz_backend=laspy.LazBackend.Lazrs) as reader:
            n_records = reader.header.point_count
            reader.seek(start)
            chunk = reader.read_points(stop - start)
    except errors as exc:
        raise ValueError(f"{path}: {rows} are not readable ({exc})") from None
    if len(chunk) != stop - start:
        raise ValueError(
            f"{path}: {rows} are not all there: the file holds {start + len(chunk):,} of the "
            f"{n_records:,} its header promises"
        )
    points = np.empty((len(chunk), len(names)))
    _columns_of(chunk, names, None, points)
    return points
