"""PLY and PCD headers: what a file promises (points, fields and their types), checked
against what its body holds.

The readers of :mod:`flood.datasets._ply` and :mod:`flood.datasets._pcd` read the body with
NumPy in the layout parsed here; :func:`check_header` first refuses a body too short for the
promised points (open3d, the reader before them, filled the missing rows with zeros).
"""

import dataclasses
import os
import struct

# A PLY/PCD header is a few hundred bytes; reading more than this without finding its end
# means the file is not one of these formats.
MAX_HEADER_BYTES = 1 << 16
# Bytes read at a time when counting the values of an ASCII body.
CHUNK_BYTES = 1 << 20

# PLY's scalar types (both spellings of the specification) as NumPy type codes.
PLY_TYPES = {
    "char": "i1",
    "int8": "i1",
    "uchar": "u1",
    "uint8": "u1",
    "short": "i2",
    "int16": "i2",
    "ushort": "u2",
    "uint16": "u2",
    "int": "i4",
    "int32": "i4",
    "uint": "u4",
    "uint32": "u4",
    "float": "f4",
    "float32": "f4",
    "double": "f8",
    "float64": "f8",
}
PLY_BYTE_ORDERS = {"ascii": "<", "binary_little_endian": "<", "binary_big_endian": ">"}
# PCD's TYPE letter and SIZE as NumPy type codes; PCL writes its machine's byte order, little
# endian on every platform it supports.
PCD_TYPES = {
    ("F", 4): "<f4",
    ("F", 8): "<f8",
    **{("I", n): f"<i{n}" for n in (1, 2, 4, 8)},
    **{("U", n): f"<u{n}" for n in (1, 2, 4, 8)},
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
    # The NumPy dtype of each field ("<f8", ">u1"), or ("list", count dtype, item dtype) for
    # a PLY list property.
    types: tuple = ()
    counts: tuple = ()  # values per field: PCD's COUNT, 1 for PLY
    skipped: tuple = ()  # PLY: the elements before the vertex element, as (rows, types)


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
    form, elements = None, []  # elements: [name, count, [(property, type)]]
    for number, text in enumerate(lines[1:-1], start=2):
        words = text.split()
        if words[:1] == ["format"] and len(words) >= 2:
            if words[1] not in PLY_BYTE_ORDERS:
                known = ", ".join(PLY_BYTE_ORDERS)
                why = f"header line {number}: unknown format {words[1]!r}; expected one of {known}"
                raise _refuse(path, ".ply", why)
            form = words[1]
        elif words[:1] == ["element"] and len(words) == 3 and words[2].isdigit():
            elements.append([words[1], int(words[2]), []])
        elif words[:1] == ["property"] and elements and len(words) >= 3:
            elements[-1][2].append((words[-1], _ply_type(path, number, words, form)))
        elif words[:1] not in (["comment"], ["obj_info"], []):
            raise _refuse(path, ".ply", f"header line {number} is not valid PLY: {text!r}")
    vertex = [i for i, e in enumerate(elements) if e[0] == "vertex"]
    if form is None or not vertex:
        missing = "'format'" if form is None else "'element vertex'"
        raise _refuse(path, ".ply", f"the header has no {missing} line")
    encoding = "ascii" if form == "ascii" else "binary"
    rows = [_row_size(properties, encoding) for _, _, properties in elements[: vertex[0] + 1]]
    before = sum(count * row for (_, count, _), row in zip(elements, rows[:-1]))
    per_point = rows[-1] if all(rows) else 0
    _, count, properties = elements[vertex[0]]
    skipped = tuple((n, tuple(kind for _, kind in props)) for _, n, props in elements[: vertex[0]])
    return Header(
        n_points=count,
        promise=f"element vertex {count}",
        fields=tuple(name for name, _ in properties),
        encoding=encoding,
        offset=offset,
        before=before,
        per_point=per_point,
        types=tuple(kind for _, kind in properties),
        counts=(1,) * len(properties),
        skipped=skipped,
    )


def _ply_type(path, number, words, form):
    """A property's NumPy dtype (``"<f8"``), or ``("list", count dtype, item dtype)``."""
    names = words[2:4] if words[1] == "list" else words[1:2]
    unknown = [name for name in names if name not in PLY_TYPES]
    if unknown or len(words) != (5 if words[1] == "list" else 3):
        why = f"unknown type {unknown[0]!r}" if unknown else "malformed property"
        raise _refuse(path, ".ply", f"header line {number} ({why}): {' '.join(words)!r}")
    order = PLY_BYTE_ORDERS.get(form, "<")
    codes = tuple(order + PLY_TYPES[name] for name in names)
    return ("list", *codes) if words[1] == "list" else codes[0]


def _row_size(properties, encoding):
    """Values (ascii) or bytes (binary) of one row of a PLY element; 0 if not fixed (lists)."""
    if any(isinstance(kind, tuple) for _, kind in properties):
        return 0
    if encoding == "ascii":
        return len(properties)
    return sum(int(kind[2:]) for _, kind in properties)


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
        letters = keys.get("TYPE", ["F"] * len(fields))
    except (KeyError, IndexError, ValueError):
        why = "the header needs FIELDS, WIDTH and integer SIZE, COUNT, POINTS values"
        raise _refuse(path, ".pcd", why) from None
    if points != width * height:
        raise ValueError(
            f"{path}: the header is inconsistent: POINTS {points} but WIDTH x HEIGHT = "
            f"{width} x {height} = {width * height}"
        )
    if not len(sizes) == len(counts) == len(letters) == len(fields):
        why = "FIELDS, SIZE, TYPE and COUNT list different numbers of values"
        raise _refuse(path, ".pcd", why)
    if min(width, height, *counts) < 1:
        raise _refuse(path, ".pcd", "WIDTH, HEIGHT and COUNT must be >= 1")
    types = tuple(PCD_TYPES.get((t.upper(), n)) for t, n in zip(letters, sizes))
    if None in types:
        field, letter, size = next(x for x, t in zip(zip(fields, letters, sizes), types) if not t)
        why = f"field {field!r} has TYPE {letter} and SIZE {size}; expected F 4/8, I or U 1/2/4/8"
        raise _refuse(path, ".pcd", why)
    encoding = (keys["DATA"] or ["?"])[0].lower()
    if encoding == "ascii":
        per_point = sum(counts)
    elif encoding in ("binary", "binary_compressed"):
        per_point = sum(s * c for s, c in zip(sizes, counts))
    else:
        raise _refuse(path, ".pcd", f"unknown DATA encoding {encoding!r}")
    return Header(
        n_points=points,
        promise=f"POINTS {points}",
        fields=fields,
        encoding=encoding,
        offset=offset,
        before=0,
        per_point=per_point,
        types=types,
        counts=tuple(counts),
    )


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
        ``n_points`` (the promised number of points), ``fields`` (the names of a point's
        values: ``x``, ``y``, ``z`` and any attributes), their ``types`` and ``counts``, the
        ``encoding`` and the body's ``offset``: the layout the PLY and PCD readers read.

    Raises
    ------
    ValueError
        If the header is malformed, or the body holds fewer complete points than promised.
    """
    header = _ply_header(path) if ext == ".ply" else _pcd_header(path)
    if header.per_point == 0 or header.n_points == 0:
        return header  # variable-size rows (PLY lists): the reader counts the rows it reads
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
