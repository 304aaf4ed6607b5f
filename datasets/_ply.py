"""PLY point clouds in NumPy: the vertex element of ASCII and binary (little and big endian)
files, every scalar property a column; writing binary float64 x, y, z.

Why NumPy and not a library: flood's header parser (:mod:`flood.datasets._headers`) already
reads every PLY header to refuse truncated files, and with it the body of a point file is
one ``np.loadtxt`` (ASCII) or one ``np.fromfile`` of a structured dtype (binary). plyfile,
the library made for PLY, is GPL-3.0 (flood is MIT) and requires NumPy >= 2; open3d, used
before, is a 312 MB install that fails to import without the system library libusb-1.0 and
reads only x, y, z, normals and colours. Meshes (faces) are still read with open3d, see
:mod:`flood.datasets._mesh`.
"""

import io

import numpy as np

from flood.datasets._columns import as_declared, named_table
from flood.datasets._headers import check_header


def _refuse(path, why):
    return ValueError(f"{path}: no points could be read: {why}")


def _skip_rows(handle, header):
    """Move ``handle`` from the end of the header to the first vertex (a binary body)."""
    for rows, types in header.skipped:
        if not any(isinstance(kind, tuple) for kind in types):
            handle.seek(rows * sum(np.dtype(kind).itemsize for kind in types), 1)
            continue
        for _ in range(rows):  # rows with lists (faces before vertices): rare, row by row
            for kind in types:
                if not isinstance(kind, tuple):
                    handle.seek(np.dtype(kind).itemsize, 1)
                    continue
                size = np.dtype(kind[1]).itemsize
                raw = handle.read(size)
                if len(raw) < size:
                    return False
                count = int(np.frombuffer(raw, dtype=kind[1])[0])
                handle.seek(count * np.dtype(kind[2]).itemsize, 1)
    return True


def _read_ascii(path, header):
    with open(path, "rb") as handle:
        handle.seek(header.offset)
        for _ in range(sum(rows for rows, _ in header.skipped)):  # one line per row
            handle.readline()
        start = handle.tell()
        text = io.TextIOWrapper(handle, encoding="ascii", errors="replace")
        try:
            values = np.loadtxt(
                text, dtype=np.float64, comments=None, ndmin=2, max_rows=header.n_points
            )
        except ValueError as exc:
            handle.seek(start)
            complete = sum(line.endswith(b"\n") for line, _ in zip(handle, range(header.n_points)))
            if complete < header.n_points:  # cut inside the vertices: not a bad value
                values = np.empty((complete, len(header.fields)))
            else:
                raise ValueError(f"{path}: malformed ascii vertex data ({exc})") from None
    if values.shape[1:] != (len(header.fields),):
        raise ValueError(
            f"{path}: a vertex line holds {values.shape[1]} values; the header lists "
            f"{len(header.fields)} properties ({', '.join(header.fields)})"
        )
    # A float property holds float32 values, as in a binary file: round the decimal text.
    return [as_declared(values[:, j], kind) for j, kind in enumerate(header.types)]


def _read_binary(path, header):
    dtype = np.dtype([(f"f{j}", kind) for j, kind in enumerate(header.types)])
    with open(path, "rb") as handle:
        handle.seek(header.offset)
        found = _skip_rows(handle, header)
        table = np.fromfile(handle, dtype=dtype, count=header.n_points if found else 0)
    return [table[f"f{j}"] for j in range(len(header.types))]


def read_ply(path):
    """Read the vertex element of a PLY file: every scalar property a named float64 column.

    Parameters
    ----------
    path : pathlib.Path
        An existing ``.ply`` file.

    Returns
    -------
    table : Table
        The columns in file order (``x``, ``y``, ``z``, ``nx``, ``red``, ``intensity``, ...);
        by default ``x``, ``y``, ``z`` are read.

    Raises
    ------
    ValueError
        If the header is malformed or promises no vertices, the body holds fewer vertices
        than promised, or the vertex element has a list property.
    """
    header = check_header(path, ".ply")
    lists = [f for f, kind in zip(header.fields, header.types) if isinstance(kind, tuple)]
    if lists:
        raise _refuse(path, f"the vertex element has a list property ({lists[0]!r})")
    if header.n_points == 0 or not header.fields:
        raise _refuse(path, f"the header promises no vertex values ({header.promise!r})")
    read = _read_ascii if header.encoding == "ascii" else _read_binary
    columns = read(path, header)
    if len(columns[0]) < header.n_points:  # where rows with lists before the vertices hid it
        raise ValueError(
            f"{path}: truncated file: the header promises {header.n_points:,} points "
            f"({header.promise!r}) but the file holds only {len(columns[0]):,} complete ones"
        )
    return named_table(list(zip(header.fields, columns)))


def write_ply(path, points):
    """Write 3-D points as a binary little-endian PLY file of float64 ``x``, ``y``, ``z``."""
    header = (
        "ply\nformat binary_little_endian 1.0\ncomment written by flood\n"
        f"element vertex {len(points)}\nproperty double x\nproperty double y\n"
        "property double z\nend_header\n"
    )
    with open(path, "wb") as handle:
        handle.write(header.encode("ascii"))
        handle.write(np.ascontiguousarray(points, dtype="<f8").tobytes())
