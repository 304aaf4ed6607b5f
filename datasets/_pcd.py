"""PCD point clouds (PCL's format) in NumPy: ascii, binary and binary_compressed bodies, every
field a column; writing binary float32 x, y, z.

Why NumPy and not a library: flood's header parser (:mod:`flood.datasets._headers`) already
reads every PCD header, and with it an ascii body is one ``np.loadtxt`` and a binary body one
``np.fromfile`` of a structured dtype. pypcd4, the maintained PCD library, brings pydantic
(about 10 MB) and a compiled LZF extension for what these few lines do; open3d, used before,
is a 312 MB install that fails to import without the system library libusb-1.0. The one part
a library would add, LZF decompression for binary_compressed files, is :func:`lzf_decompress`
below: about thirty lines of pure Python that copy whole runs by slices (PCL's own
``lzfDecompress`` is the reference). It is slower than C where the data compress well:
measured on 1,000,000 float32 x, y, z, 0.3 s for random values (long literal runs), 0.1 s for
a grid, 3.4 s for values rounded to 0.01 (many short references), where open3d takes 0.2 s.

Columns: a field of COUNT n > 1 gives the columns ``name_0`` ... ``name_{n-1}``; PCL's packed
colours ``rgb`` (0x00RRGGBB) and ``rgba`` (0xAARRGGBB), stored as a 4-byte F or U field, give
``red``, ``green``, ``blue`` (and ``alpha``) in [0, 255], named as PLY names them; PCL's
padding fields ``_`` are dropped.
"""

import io

import numpy as np

from flood.datasets._columns import as_declared, named_table
from flood.datasets._headers import check_header

# Packed colour fields: the byte (from the least significant) of each channel.
_RGB = (("red", 2), ("green", 1), ("blue", 0))
_COLOURS = {"rgb": _RGB, "rgba": (*_RGB, ("alpha", 3))}
_PADDING = "_"  # PCL's name for the bytes it pads a point with


def lzf_decompress(data, size):
    """Decompress an LZF stream (liblzf's format, used by PCD's binary_compressed bodies).

    Parameters
    ----------
    data : bytes
        The compressed stream.
    size : int
        The length of the decompressed data, as the PCD body states it.

    Returns
    -------
    bytes
        ``size`` bytes.

    Raises
    ------
    ValueError
        If the stream is corrupt: a run past its end or past ``size``, a back reference
        before the start, or an output of another length.

    Examples
    --------
    >>> # 'abc' (a literal of 3 bytes), then 6 bytes copied from 3 bytes back
    >>> lzf_decompress(bytes([2]) + b"abc" + bytes([0x80, 2]), 9)
    b'abcabcabc'
    """
    out = bytearray(size)
    i = o = 0
    n = len(data)
    try:
        while i < n:
            ctrl = data[i]
            i += 1
            if ctrl < 32:  # a literal run of ctrl + 1 bytes
                length = ctrl + 1
                if i + length > n or o + length > size:
                    raise IndexError
                out[o : o + length] = data[i : i + length]
                i += length
            else:  # a back reference: length, then distance - 1 in 13 bits
                length = ctrl >> 5
                if length == 7:
                    length += data[i]
                    i += 1
                length += 2
                ref = o - ((ctrl & 0x1F) << 8) - data[i] - 1
                i += 1
                if ref < 0 or o + length > size:
                    raise IndexError
                distance = o - ref
                if distance >= length:
                    out[o : o + length] = out[ref : ref + length]
                else:  # overlapping: the last `distance` bytes repeat
                    pattern = bytes(out[ref:o])
                    out[o : o + length] = (pattern * (length // distance + 1))[:length]
            o += length
    except IndexError:
        raise ValueError(f"corrupt LZF data at byte {i} of {n}") from None
    if o != size:
        raise ValueError(f"the LZF data decompresses to {o:,} bytes; expected {size:,}")
    return bytes(out)


def _refuse(path, why):
    return ValueError(f"{path}: no points could be read: {why}")


def _read_ascii(path, header):
    with open(path, "rb") as handle:
        handle.seek(header.offset)
        text = io.TextIOWrapper(handle, encoding="ascii", errors="replace")
        try:
            values = np.loadtxt(
                text, dtype=np.float64, comments=None, ndmin=2, max_rows=header.n_points
            )
        except ValueError as exc:
            raise ValueError(f"{path}: malformed ascii point data ({exc})") from None
    if values.shape[1:] != (sum(header.counts),):
        raise ValueError(
            f"{path}: a point line holds {values.shape[1]} values; the header's FIELDS and "
            f"COUNT say {sum(header.counts)}"
        )
    ends = np.cumsum(header.counts)
    # An F 4 field holds float32 values, as in a binary file: round the decimal text.
    return [
        as_declared(values[:, end - count : end], kind)
        for end, count, kind in zip(ends, header.counts, header.types)
    ]


def _read_binary(path, header):
    layout = enumerate(zip(header.types, header.counts))
    dtype = np.dtype([(f"f{j}", kind, (count,)) for j, (kind, count) in layout])
    with open(path, "rb") as handle:
        handle.seek(header.offset)
        table = np.fromfile(handle, dtype=dtype, count=header.n_points)
    return [table[f"f{j}"] for j in range(len(header.types))]


def _read_compressed(path, header):
    """The fields of a binary_compressed body: LZF of each field's values, field after field."""
    with open(path, "rb") as handle:
        handle.seek(header.offset)
        compressed, size = np.frombuffer(handle.read(8), dtype="<u4")
        data = handle.read(int(compressed))
    if size != header.n_points * header.per_point:
        raise _refuse(
            path,
            f"the compressed body holds {int(size):,} bytes; {header.promise!r} and the "
            f"fields need {header.n_points * header.per_point:,}",
        )
    try:
        raw = lzf_decompress(data, int(size))
    except ValueError as exc:
        raise _refuse(path, f"binary_compressed body: {exc}") from None
    fields, start = [], 0
    for kind, count in zip(header.types, header.counts):
        end = start + header.n_points * count * np.dtype(kind).itemsize
        fields.append(np.frombuffer(raw[start:end], dtype=kind).reshape(-1, count))
        start = end
    return fields


def _columns(header, fields):
    """Named 1-D columns of the fields: counts spread, colours unpacked, padding dropped."""
    columns = []
    for name, kind, values in zip(header.fields, header.types, fields):
        if name == _PADDING:
            continue
        if name in _COLOURS and values.shape[1] == 1 and np.dtype(kind).itemsize == 4:
            packed = np.asarray(values[:, 0], dtype=kind).view("<u4")
            for channel, byte in _COLOURS[name]:
                columns.append((channel, (packed >> (8 * byte)) & 0xFF))
        elif values.shape[1] == 1:
            columns.append((name, values[:, 0]))
        else:
            columns.extend((f"{name}_{k}", values[:, k]) for k in range(values.shape[1]))
    return columns


def read_pcd(path):
    """Read a PCD file: every field a named float64 column.

    Parameters
    ----------
    path : pathlib.Path
        An existing ``.pcd`` file.

    Returns
    -------
    table : Table
        The columns in file order (``x``, ``y``, ``z``, ``intensity``, ``red``, ...); by
        default ``x``, ``y``, ``z`` are read.

    Raises
    ------
    ValueError
        If the header is malformed or inconsistent (POINTS and WIDTH x HEIGHT differ), or the
        body holds fewer points than promised or is corrupt.
    """
    header = check_header(path, ".pcd")
    if header.n_points == 0:
        raise _refuse(path, f"the header promises no points ({header.promise!r})")
    if header.encoding == "ascii":
        fields = _read_ascii(path, header)
    elif header.encoding == "binary":
        fields = _read_binary(path, header)
    else:
        fields = _read_compressed(path, header)
    if len(fields[0]) < header.n_points:
        raise ValueError(
            f"{path}: truncated file: the header promises {header.n_points:,} points "
            f"({header.promise!r}) but the file holds only {len(fields[0]):,} complete ones"
        )
    columns = _columns(header, fields)
    if not columns:
        raise _refuse(path, "the header lists only padding fields ('_')")
    return named_table(columns)


def write_pcd(path, points):
    """Write 3-D points as a binary PCD file (v0.7) of float32 ``x``, ``y``, ``z``."""
    n = len(points)
    header = (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\n"
        f"TYPE F F F\nCOUNT 1 1 1\nWIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\n"
        f"POINTS {n}\nDATA binary\n"
    )
    with open(path, "wb") as handle:
        handle.write(header.encode("ascii"))
        handle.write(np.ascontiguousarray(points, dtype="<f4").tobytes())
