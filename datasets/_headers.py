"""PLY and PCD headers: how many points a file promises, checked against what its body holds.

open3d fills the rows missing from a truncated PLY or ASCII PCD file with zeros and only
prints a warning, so :func:`check_header` reads the (always ASCII) header itself and refuses
a body too short for the promised points before open3d sees the file.
"""

import dataclasses
import os
import struct

# A PLY/PCD header is a few hundred bytes; reading more than this without finding its end
# means the file is not one of these formats.
MAX_HEADER_BYTES = 1 << 16
# Bytes read at a time when counting the values of an ASCII body.
CHUNK_BYTES = 1 << 20

PLY_TYPE_SIZES = {
    "char": 1,
    "int8": 1,
    "uchar": 1,
    "uint8": 1,
    "short": 2,
    "int16": 2,
    "ushort": 2,
    "uint16": 2,
    "int": 4,
    "int32": 4,
    "uint": 4,
    "uint32": 4,
    "float": 4,
    "float32": 4,
    "double": 8,
    "float64": 8,
}
PCD_KEYS = ("VERSION", "FIELDS", "SIZE", "TYPE", "COUNT", "WIDTH", "HEIGHT", "VIEWPOINT", "POINTS")


@dataclasses.dataclass(frozen=True)
class Header:
    """What a PLY/PCD header promises about the body that follows it."""

    n_points: int
    promise: str  # the header's own words, for messages: "element vertex 20000"
    fields: tuple  # names of the values of one point, in file order
    encoding: str  # "ascii", "binary" or "binary_compressed"
    offset: int  # first byte of the body
    before: int  # values (ascii) or bytes (binary) of the body before the first point
    per_point: int  # values (ascii) or bytes (binary) per point; 0 when not fixed


def _refuse(path, ext, why):
    return ValueError(f"{path}: no points could be read: {why}")


def _header_lines(path, ext, last):
    """The header's lines up to the one for which ``last(words)`` holds, and the body offset."""
    with open(path, "rb") as handle:
        head = handle.read(MAX_HEADER_BYTES)
    lines, start = [], 0
    while True:
        end = head.find(b"\n", start)
        if end < 0:
            raise _refuse(path, ext, f"no complete {ext} header in the first {len(head)} bytes")
        text = head[start:end].decode("ascii", errors="replace").strip()
        lines.append(text)
        start = end + 1
        if last(text.split()):
            return lines, start


def _ply_header(path):
    lines, offset = _header_lines(path, ".ply", lambda words: words[:1] == ["end_header"])
    if lines[0] != "ply":
        raise _refuse(path, ".ply", f"line 1 is {lines[0]!r}; expected 'ply'")
    encoding, elements = None, []  # elements: [name, count, [(property, size or 0)]]
    for number, text in enumerate(lines[1:-1], start=2):
        words = text.split()
        if words[:1] == ["format"] and len(words) >= 2:
            encoding = "ascii" if words[1] == "ascii" else "binary"
        elif words[:1] == ["element"] and len(words) == 3 and words[2].isdigit():
            elements.append([words[1], int(words[2]), []])
        elif words[:1] == ["property"] and elements and len(words) >= 3:
            size = 0 if words[1] == "list" else PLY_TYPE_SIZES.get(words[1], 0)
            elements[-1][2].append((words[-1], size))
        elif words[:1] not in (["comment"], ["obj_info"], []):
            raise _refuse(path, ".ply", f"header line {number} is not valid PLY: {text!r}")
    vertex = [i for i, e in enumerate(elements) if e[0] == "vertex"]
    if encoding is None or not vertex:
        missing = "'format'" if encoding is None else "'element vertex'"
        raise _refuse(path, ".ply", f"the header has no {missing} line")
    rows = [_row_size(properties, encoding) for _, _, properties in elements[: vertex[0] + 1]]
    before = sum(count * row for (_, count, _), row in zip(elements, rows[:-1]))
    per_point = rows[-1] if all(rows) else 0
    _, count, properties = elements[vertex[0]]
    fields = tuple(name for name, _ in properties)
    return Header(count, f"element vertex {count}", fields, encoding, offset, before, per_point)


def _row_size(properties, encoding):
    """Values (ascii) or bytes (binary) of one row of a PLY element; 0 if not fixed (lists)."""
    sizes = [size for _, size in properties]
    if not all(sizes):
        return 0
    return len(sizes) if encoding == "ascii" else sum(sizes)


def _pcd_header(path):
    lines, offset = _header_lines(path, ".pcd", lambda words: words[:1] == ["DATA"])
    keys = {}
    for number, text in enumerate(lines, start=1):
        words = text.split("#", 1)[0].split()
        if not words:
            continue
        if words[0] not in PCD_KEYS + ("DATA",):
            raise _refuse(path, ".pcd", f"header line {number} is not valid PCD: {text!r}")
        keys[words[0]] = words[1:]
    try:
        width, height = int(keys["WIDTH"][0]), int(keys.get("HEIGHT", ["1"])[0])
        points = int(keys["POINTS"][0]) if "POINTS" in keys else width * height
        fields = tuple(keys["FIELDS"])
        sizes = [int(s) for s in keys.get("SIZE", ["4"] * len(fields))]
        counts = [int(c) for c in keys.get("COUNT", ["1"] * len(fields))]
    except (KeyError, IndexError, ValueError):
        why = "the header needs FIELDS, WIDTH and integer SIZE, COUNT, POINTS values"
        raise _refuse(path, ".pcd", why) from None
    if points != width * height:
        raise ValueError(
            f"{path}: the header is inconsistent: POINTS {points} but WIDTH x HEIGHT = "
            f"{width} x {height} = {width * height}"
        )
    if len(sizes) != len(fields) or len(counts) != len(fields):
        raise _refuse(path, ".pcd", "FIELDS, SIZE and COUNT list different numbers of values")
    encoding = (keys["DATA"] or ["?"])[0].lower()
    if encoding == "ascii":
        per_point = sum(counts)
    elif encoding in ("binary", "binary_compressed"):
        per_point = sum(s * c for s, c in zip(sizes, counts))
    else:
        raise _refuse(path, ".pcd", f"unknown DATA encoding {encoding!r}")
    return Header(points, f"POINTS {points}", fields, encoding, offset, 0, per_point)


def _count_values(path, offset, limit):
    """Values after byte ``offset`` (counted up to ``limit`` and slightly beyond).

    Returns the count and whether the file ends inside a value (no whitespace after the
    last one): a cut there may have shortened that value, so it is not counted.
    """
    n, partial = 0, False
    with open(path, "rb") as handle:
        handle.seek(offset)
        while n < limit or (n == limit and partial):
            chunk = handle.read(CHUNK_BYTES)
            if not chunk:
                return n - partial, partial
            words = chunk.split()
            # A value cut by the chunk boundary was counted at the end of the last chunk.
            n += len(words) - (partial and not chunk[:1].isspace() and bool(words))
            partial = not chunk[-1:].isspace()
    return n, False


def _body_points(path, header):
    """How many complete points the body holds (at most what is needed to tell), and whether
    an ASCII body ends inside a value."""
    size = os.path.getsize(path) - header.offset
    if header.encoding == "binary_compressed":
        with open(path, "rb") as handle:
            handle.seek(header.offset)
            sizes = handle.read(8)
        if len(sizes) < 8:
            return 0, False
        compressed, raw = struct.unpack("<II", sizes)
        if size - 8 < compressed:
            return 0, False
        return raw // header.per_point, False
    cut = False
    if header.encoding == "ascii":
        limit = header.before + header.n_points * header.per_point
        size, cut = _count_values(path, header.offset, limit)
    return max(size - header.before, 0) // header.per_point, cut


def check_header(path, ext):
    """Read the header of a ``.ply``/``.pcd`` file; refuse a body shorter than it promises.

    Parameters
    ----------
    path : pathlib.Path
        An existing file.
    ext : {".ply", ".pcd"}
        Its format.

    Returns
    -------
    header : Header
        ``n_points`` (the promised number of points) and ``fields`` (the names of a point's
        values: ``x``, ``y``, ``z`` and any attributes).

    Raises
    ------
    ValueError
        If the header is malformed, or the body holds fewer complete points than promised.
    """
    header = _ply_header(path) if ext == ".ply" else _pcd_header(path)
    if header.per_point == 0 or header.n_points == 0:
        return header  # variable-size rows (PLY lists): open3d's count is checked after
    found, cut = _body_points(path, header)
    if found < header.n_points:
        unit = "values" if header.encoding == "ascii" else "bytes"
        ends = "; the file ends inside a value" if cut else ""
        raise ValueError(
            f"{path}: truncated file: the header promises {header.n_points:,} points "
            f"({header.promise!r}) but the file holds only {found:,} complete ones "
            f"({header.encoding} data, {header.per_point} {unit} per point){ends}"
        )
    return header
