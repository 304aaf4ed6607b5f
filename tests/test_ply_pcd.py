"""PLY and PCD read in NumPy (issue 31, point 3): files written by open3d, plyfile and PCL-style
hand-written headers read back exactly, attributes as columns, LZF, malformed files refused,
and an open3d that is installed but cannot load named for what it is."""

import builtins
import sys
import warnings

import numpy as np
import open3d as o3d
import plyfile
import pytest

from flood.datasets import read_mesh, read_point_cloud, sample_points, write_point_cloud
from flood.datasets._pcd import lzf_decompress

RNG = np.random.default_rng(31)
N = 300
XYZ = RNG.normal(size=(N, 3)) * [1.0, 100.0, 1e-3]
NORMALS = RNG.normal(size=(N, 3))
COLOURS = RNG.integers(0, 256, size=(N, 3))
INTENSITY = RNG.uniform(0, 4000, size=N).astype(np.float32)


# --- Files written by open3d: flood reads what open3d reads, to the bit.
@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("ascii.ply", {"write_ascii": True}),
        ("binary.ply", {}),
        ("ascii.pcd", {"write_ascii": True}),
        ("binary.pcd", {}),
        ("compressed.pcd", {"compressed": True}),
    ],
)
def test_open3d_files_read_back_exactly(tmp_path, name, options):
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(XYZ))
    cloud.normals = o3d.utility.Vector3dVector(NORMALS)
    cloud.colors = o3d.utility.Vector3dVector(COLOURS / 255)
    path = tmp_path / name
    assert o3d.io.write_point_cloud(str(path), cloud, **options)
    expected = o3d.io.read_point_cloud(str(path))
    # PCD fields are float32 (open3d writes F 4): flood rounds ascii values to them, as PCL
    # does, where open3d keeps the decimal text's float64; binary values are the same.
    dtype = np.float64 if name.endswith(".ply") else np.float32
    points, info = read_point_cloud(path, return_info=True)
    np.testing.assert_array_equal(points, np.asarray(expected.points).astype(dtype))
    normals = "nx,ny,nz" if name.endswith(".ply") else "normal_x,normal_y,normal_z"
    ignored = normals.replace(",", ", ") + ", red, green, blue"
    assert str(info) == f"{N} points x 3 (columns x, y, z; ignored: {ignored})"
    normals_read = read_point_cloud(path, normals)
    np.testing.assert_array_equal(normals_read, np.asarray(expected.normals).astype(dtype))
    colours = read_point_cloud(path, ["red", "green", "blue"])
    np.testing.assert_array_equal(colours, COLOURS)  # 8 bits each: exact in every encoding
    np.testing.assert_array_equal(colours / 255, np.asarray(expected.colors))
    if "ascii" not in name:  # float64 PLY, float32 PCD: the values written
        np.testing.assert_array_equal(points, XYZ.astype(dtype))
        np.testing.assert_array_equal(normals_read, NORMALS.astype(dtype))


def test_files_flood_writes_are_read_by_open3d(tmp_path):
    for ext, dtype in ((".ply", np.float64), (".pcd", np.float32)):
        write_point_cloud(tmp_path / f"c{ext}", XYZ)
        back = np.asarray(o3d.io.read_point_cloud(str(tmp_path / f"c{ext}")).points)
        np.testing.assert_array_equal(back, XYZ.astype(dtype))
        np.testing.assert_array_equal(read_point_cloud(tmp_path / f"c{ext}"), back)


# --- Files written by plyfile: every scalar type, both byte orders, ASCII, other elements.
PLY_TYPES = [
    ("x", "f8"),
    ("y", "f8"),
    ("z", "f8"),
    ("intensity", "f4"),
    ("red", "u1"),
    ("green", "u1"),
    ("blue", "u1"),
    ("flag", "i1"),
    ("ring", "u2"),
    ("offset", "i2"),
    ("label", "i4"),
    ("stamp", "u4"),
]


def _vertex_array():
    vertex = np.empty(N, dtype=PLY_TYPES)
    for j, name in enumerate("xyz"):
        vertex[name] = XYZ[:, j]
    vertex["intensity"] = INTENSITY
    vertex["red"], vertex["green"], vertex["blue"] = COLOURS.T
    vertex["flag"] = RNG.integers(-128, 128, N)
    vertex["ring"] = RNG.integers(0, 2**16, N)
    vertex["offset"] = RNG.integers(-(2**15), 2**15, N)
    vertex["label"] = RNG.integers(-(2**31), 2**31, N)
    vertex["stamp"] = RNG.integers(0, 2**32, N)
    return vertex


@pytest.mark.parametrize("faces_first", [False, True])
@pytest.mark.parametrize(("text", "byte_order"), [(True, "="), (False, "<"), (False, ">")])
def test_plyfile_files_read_back_exactly(tmp_path, text, byte_order, faces_first):
    vertex = _vertex_array()
    faces = np.empty(2, dtype=[("vertex_indices", "i4", (3,))])
    faces["vertex_indices"] = [[0, 1, 2], [2, 1, 3]]
    elements = [
        plyfile.PlyElement.describe(vertex, "vertex"),
        plyfile.PlyElement.describe(faces, "face"),
    ]
    if faces_first:  # rows of a list element before the vertices: skipped row by row
        elements.reverse()
    path = tmp_path / "scan.ply"
    plyfile.PlyData(elements, text=text, byte_order=byte_order).write(str(path))
    names = [name for name, _ in PLY_TYPES]
    table, info = read_point_cloud(path, names, return_info=True)
    for j, name in enumerate(names):
        np.testing.assert_array_equal(table[:, j], vertex[name].astype(np.float64), err_msg=name)
    assert info.columns == tuple(names) and info.n_points == N
    points, info = read_point_cloud(path, return_info=True)
    np.testing.assert_array_equal(points, XYZ)
    assert str(info).startswith(f"{N} points x 3 (columns x, y, z; ignored: intensity, red")
    # Names match in any case; indices count the properties in file order.
    np.testing.assert_array_equal(read_point_cloud(path, "Intensity,4"), table[:, [3, 4]])


def test_cut_ply_with_faces_before_the_vertices_is_refused(tmp_path):
    faces = np.empty(2, dtype=[("vertex_indices", "i4", (3,))])
    faces["vertex_indices"] = [[0, 1, 2], [2, 1, 3]]
    vertex = _vertex_array()
    elements = [
        plyfile.PlyElement.describe(faces, "face"),
        plyfile.PlyElement.describe(vertex, "vertex"),
    ]
    for text in (False, True):
        path = tmp_path / f"cut{int(text)}.ply"
        plyfile.PlyData(elements, text=text).write(str(path))
        path.write_bytes(path.read_bytes()[:-200])
        with pytest.raises(ValueError, match=rf"cut{int(text)}\.ply: truncated file: .* promises"):
            read_point_cloud(path)


# --- PCL-style files: headers as PCL writes them, written here byte by byte.
def _pcl_header(fields, encoding, width=N, height=1):
    """``fields``: (name, TYPE, SIZE, COUNT) as PCL lists them."""
    names, types, sizes, counts = zip(*fields)
    return (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\n"
        f"FIELDS {' '.join(names)}\nSIZE {' '.join(map(str, sizes))}\n"
        f"TYPE {' '.join(types)}\nCOUNT {' '.join(map(str, counts))}\n"
        f"WIDTH {width}\nHEIGHT {height}\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {width * height}\n"
        f"DATA {encoding}\n"
    ).encode()


# x y z, padding, intensity, packed rgb as a float (pcl::PointXYZRGB), a label, 3 curvatures.
PCL_FIELDS = [
    ("x", "F", 4, 1),
    ("y", "F", 4, 1),
    ("z", "F", 4, 1),
    ("_", "U", 1, 4),
    ("intensity", "F", 4, 1),
    ("rgb", "F", 4, 1),
    ("label", "U", 4, 1),
    ("curvature", "F", 8, 3),
]


def _pcl_values():
    packed = (COLOURS[:, 0] << 16) | (COLOURS[:, 1] << 8) | COLOURS[:, 2]
    return {
        "x": XYZ[:, :1].astype("<f4"),
        "y": XYZ[:, 1:2].astype("<f4"),
        "z": XYZ[:, 2:].astype("<f4"),
        "_": np.zeros((N, 4), "<u1"),
        "intensity": INTENSITY[:, None].astype("<f4"),
        "rgb": packed.astype("<u4").view("<f4")[:, None],
        "label": RNG.integers(0, 2**32, (N, 1)).astype("<u4"),
        "curvature": RNG.normal(size=(N, 3)).astype("<f8"),
    }


def _literal_lzf(raw):
    """Valid LZF made of literal runs only (the layout test; references are tested below)."""
    out = bytearray()
    for start in range(0, len(raw), 32):
        chunk = raw[start : start + 32]
        out += bytes([len(chunk) - 1]) + chunk
    return bytes(out)


def _pcl_file(encoding, values, width=N, height=1):
    header = _pcl_header(PCL_FIELDS, encoding, width, height)
    names = [name for name, *_ in PCL_FIELDS]
    if encoding == "ascii":
        lines = []
        for i in range(len(values["x"])):
            row = []
            for name in names:
                kind, size = values[name].dtype.kind, values[name].dtype.itemsize
                digits = "%.9g" if size == 4 else "%.17g"  # enough to round-trip each type
                row += [digits % v if kind == "f" else str(v) for v in values[name][i]]
            lines.append(" ".join(row) + "\n")
        return header + "".join(lines).encode()
    if encoding == "binary":
        dtype = np.dtype([(n, values[n].dtype, (values[n].shape[1],)) for n in names])
        table = np.empty(len(values["x"]), dtype)
        for name in names:
            table[name] = values[name]
        return header + table.tobytes()
    raw = b"".join(np.ascontiguousarray(values[name]).tobytes() for name in names)
    compressed = _literal_lzf(raw)
    return header + np.array([len(compressed), len(raw)], "<u4").tobytes() + compressed


@pytest.mark.parametrize("encoding", ["ascii", "binary", "binary_compressed"])
def test_pcl_style_files_read_back_exactly(tmp_path, encoding):
    values = _pcl_values()
    path = tmp_path / "scan.pcd"
    path.write_bytes(_pcl_file(encoding, values, width=20, height=N // 20))  # organized
    points, info = read_point_cloud(path, return_info=True)
    np.testing.assert_array_equal(points, XYZ.astype(np.float32))
    assert str(info) == (
        f"{N} points x 3 (columns x, y, z; ignored: intensity, red, green, blue, label, "
        "curvature_0, curvature_1, curvature_2)"
    )
    attributes = read_point_cloud(path, "intensity,red,green,blue,label,curvature_2")
    np.testing.assert_array_equal(attributes[:, 0], INTENSITY)
    np.testing.assert_array_equal(attributes[:, 1:4], COLOURS)
    np.testing.assert_array_equal(attributes[:, 4], values["label"][:, 0])
    np.testing.assert_array_equal(attributes[:, 5], values["curvature"][:, 2])


def test_pcd_rgba_and_integer_coordinates(tmp_path):
    alpha = RNG.integers(0, 256, N)
    packed = (alpha << 24) | (COLOURS[:, 0] << 16) | (COLOURS[:, 1] << 8) | COLOURS[:, 2]
    grid = RNG.integers(-(2**15), 2**15, size=(N, 3)).astype("<i2")
    fields = [("x", "I", 2, 1), ("y", "I", 2, 1), ("z", "I", 2, 1), ("rgba", "U", 4, 1)]
    header = _pcl_header(fields, "binary")
    table = np.empty(N, [("xyz", "<i2", (3,)), ("rgba", "<u4")])
    table["xyz"], table["rgba"] = grid, packed
    (tmp_path / "g.pcd").write_bytes(header + table.tobytes())
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "g.pcd"), grid)
    np.testing.assert_array_equal(
        read_point_cloud(tmp_path / "g.pcd", "red,green,blue,alpha"),
        np.column_stack([COLOURS, alpha]),
    )


# --- LZF: the slice-copying decoder against a byte-by-byte reading of liblzf's format.
def _lzf_reference(data, size):
    out, i = bytearray(), 0
    while i < len(data):
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            out += data[i : i + ctrl + 1]
            i += ctrl + 1
            continue
        length = ctrl >> 5
        if length == 7:
            length += data[i]
            i += 1
        ref = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
        i += 1
        for _ in range(length + 2):  # one byte at a time: overlaps repeat themselves
            out.append(out[ref])
            ref += 1
    assert len(out) == size
    return bytes(out)


def _random_lzf(rng, n_tokens):
    """A random valid LZF stream: literal runs and references of every kind (short, long,
    overlapping, up to the 8 KiB window), and its decompressed size."""
    data, size = bytearray(), 0
    for k in range(n_tokens):
        if k == 0 or rng.random() < 0.4:
            run = int(rng.integers(1, 33))
            data += bytes([run - 1]) + rng.bytes(run)
            size += run
            continue
        distance = int(rng.integers(1, min(size, 8192) + 1))
        length = int(rng.choice([rng.integers(3, 9), rng.integers(9, 265)]))
        code = min(length - 2, 7)
        data.append((code << 5) | ((distance - 1) >> 8))
        if code == 7:
            data.append(length - 9)
        data.append((distance - 1) & 0xFF)
        size += length
    return bytes(data), size


@pytest.mark.parametrize("seed", range(5))
def test_lzf_decompress_matches_the_byte_by_byte_reference(seed):
    data, size = _random_lzf(np.random.default_rng(seed), 2000)
    assert lzf_decompress(data, size) == _lzf_reference(data, size)


@pytest.mark.parametrize(
    ("data", "size", "match"),
    [
        (bytes([4]) + b"ab", 5, r"corrupt LZF data at byte 1 of 3"),  # literal past the end
        (bytes([0]) + b"a" + bytes([0x20, 1]), 4, r"corrupt LZF data"),  # before the start
        (bytes([0]) + b"a" + bytes([0x20]), 4, r"corrupt LZF data"),  # reference cut
        (bytes([2]) + b"abc", 5, r"decompresses to 3 bytes; expected 5"),
        (bytes([2]) + b"abc", 2, r"corrupt LZF data"),  # longer than stated
    ],
)
def test_lzf_decompress_refuses_corrupt_streams(data, size, match):
    with pytest.raises(ValueError, match=match):
        lzf_decompress(data, size)


# --- Malformed and inconsistent files stay refused, with the file and the cause named.
PLY_HEAD = "ply\nformat binary_little_endian 1.0\nelement vertex 2\n"


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        (
            "list.ply",
            PLY_HEAD + "property float x\nproperty list uchar int ids\nend_header\n",
            r"list\.ply: no points could be read: the vertex element has a list property",
        ),
        (
            "format.ply",
            "ply\nformat binary_middle_endian 1.0\nelement vertex 1\nend_header\n",
            r"format\.ply: .* unknown format 'binary_middle_endian'",
        ),
        (
            "type.ply",
            PLY_HEAD + "property float128 x\nend_header\n",
            r"type\.ply: .* header line 4 \(unknown type 'float128'\)",
        ),
        (
            "empty.ply",
            "ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nend_header\n",
            r"empty\.ply: no points could be read: the header promises no vertex values",
        ),
        (
            "columns.ply",
            "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
            "property float z\nend_header\n1 2 3 4\n5 6 7 8\n",
            r"columns\.ply: a vertex line holds 4 values; the header lists 3 properties",
        ),
        (
            "words.ply",
            "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
            "property float z\nend_header\n1 2 3\n5 six 7\n",
            r"words\.ply: malformed ascii vertex data",
        ),
        (
            "type.pcd",
            "VERSION 0.7\nFIELDS x y z\nSIZE 2 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 1\n"
            "POINTS 1\nDATA binary\n",
            r"type\.pcd: .* field 'x' has TYPE F and SIZE 2",
        ),
        (
            "lists.pcd",
            "VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F\nCOUNT 1 1 1\nWIDTH 1\n"
            "POINTS 1\nDATA binary\n",
            r"lists\.pcd: .* FIELDS, SIZE, TYPE and COUNT list different numbers of values",
        ),
        (
            "columns.pcd",
            "VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 2\n"
            "POINTS 2\nDATA ascii\n1 2 3 4\n5 6 7 8\n",
            r"columns\.pcd: a point line holds 4 values; the header's FIELDS and COUNT say 3",
        ),
    ],
)
def test_malformed_headers_and_bodies_are_refused(tmp_path, name, content, match):
    (tmp_path / name).write_bytes(content.encode() + bytes(64))
    with pytest.raises(ValueError, match=match):
        read_point_cloud(tmp_path / name)


def test_cut_and_corrupt_compressed_pcd_are_refused(tmp_path):
    content = _pcl_file("binary_compressed", _pcl_values())
    (tmp_path / "cut.pcd").write_bytes(content[:-10])
    with pytest.raises(ValueError, match=r"cut\.pcd: truncated file: the header promises 300"):
        read_point_cloud(tmp_path / "cut.pcd")
    start = content.index(b"DATA binary_compressed\n") + len(b"DATA binary_compressed\n")
    broken = bytearray(content)
    broken[start + 8] = 0xFF  # the first token: a reference to before the start
    (tmp_path / "corrupt.pcd").write_bytes(bytes(broken))
    with pytest.raises(ValueError, match=r"corrupt\.pcd: .* binary_compressed body: corrupt LZF"):
        read_point_cloud(tmp_path / "corrupt.pcd")
    sizes = np.frombuffer(content[start : start + 8], "<u4").copy()
    sizes[1] += 4  # more bytes than the fields of 300 points
    (tmp_path / "size.pcd").write_bytes(content[:start] + sizes.tobytes() + content[start + 8 :])
    with pytest.raises(ValueError, match=r"size\.pcd: .* the compressed body holds"):
        read_point_cloud(tmp_path / "size.pcd")


def test_nan_points_of_an_organized_pcd_are_refused(tmp_path):
    values = _pcl_values()
    values["x"][5] = np.nan  # PCL marks invalid points of organized clouds with NaN
    (tmp_path / "nan.pcd").write_bytes(_pcl_file("binary", values))
    with pytest.raises(ValueError, match=r"nan\.pcd: array has 1 row\(s\) with NaN .* row 5"):
        read_point_cloud(tmp_path / "nan.pcd")
    # The other columns are still readable: NaN only matters where it is read.
    assert read_point_cloud(tmp_path / "nan.pcd", "y,z").shape == (N, 2)


# --- open3d installed but unable to load: the message names the missing system library.
def _open3d_fails_with(monkeypatch, error):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "open3d" or name.startswith("open3d."):
            raise error
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "open3d", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)


@pytest.mark.parametrize("kind", [OSError, ImportError])
def test_open3d_that_cannot_load_names_the_system_library(tmp_path, monkeypatch, kind):
    (tmp_path / "t.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    write_point_cloud(tmp_path / "c.ply", XYZ)
    # What the loader says on a Debian machine without libusb-1.0-0 (open3d 0.20 raises the
    # ImportError; a ctypes load, as in other versions, the OSError).
    message = "libusb-1.0.so.0: cannot open shared object file: No such file or directory"
    _open3d_fails_with(monkeypatch, kind(message))
    with pytest.raises(ImportError) as caught:
        read_mesh(tmp_path / "t.obj")
    text = str(caught.value)
    assert text.startswith("Reading .obj meshes needs open3d, which is installed but cannot ")
    assert "system library libusb-1.0.so.0" in text and "apt-get install libusb-1.0-0" in text
    assert "pip install" not in text
    with pytest.raises(ImportError, match=r"apt-get install libusb-1\.0-0"):
        sample_points((XYZ[:3], np.array([[0, 1, 2]])), 5, method="poisson")
    # Points need no open3d at all.
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "c.ply"), XYZ)


def test_open3d_missing_a_library_not_known_says_which(monkeypatch, tmp_path):
    (tmp_path / "t.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    _open3d_fails_with(monkeypatch, OSError("libfoo.so.2: cannot open shared object file"))
    match = r"cannot load the system library libfoo\.so\.2 .* apt-file search libfoo\.so\.2"
    with pytest.raises(ImportError, match=match):
        read_mesh(tmp_path / "t.obj")


def test_ascii_ply_value_beyond_float32_is_refused_without_a_warning(tmp_path):
    """An ASCII value too large for the float property that holds it reads as its binary
    twin would (inf) and is refused by the finiteness check, naming the row; the cast itself
    raises no overflow warning."""
    path = tmp_path / "big.ply"
    path.write_text(
        "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
        "property float z\nend_header\n0 0 0\n1 1e39 1\n2 2 2\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"big\.ply: .*row 1: \[1\.0, inf, 1\.0\]"):
            read_point_cloud(path)
