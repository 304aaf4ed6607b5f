"""Point-cloud and mesh I/O of flood.datasets: round trips, malformed files, OFF quirks."""

import os

import numpy as np
import pytest

from flood.datasets import (
    read_mesh,
    read_point_cloud,
    sample_points,
    write_mesh,
    write_point_cloud,
)

POINTS = np.random.default_rng(0).normal(size=(200, 3)) * [1.0, 10.0, 1e-3]


@pytest.mark.parametrize(
    ("ext", "atol"),
    [
        (".npy", 0.0),
        (".npz", 0.0),
        (".csv", 0.0),
        (".txt", 0.0),
        (".xyz", 0.0),
        (".ply", 0.0),  # binary float64
        (".pcd", 1e-6),  # binary float32
        (".pts", 1e-9),  # 10 decimals
    ],
)
def test_point_cloud_round_trip(tmp_path, ext, atol):
    path = tmp_path / f"cloud{ext}"
    write_point_cloud(path, POINTS)
    back = read_point_cloud(path)
    assert back.dtype == np.float64 and back.shape == POINTS.shape
    np.testing.assert_allclose(back, POINTS, rtol=1e-6 if atol else 0, atol=atol)
    # Upper-case extensions and str paths work too.
    upper = tmp_path / f"CLOUD{ext.upper()}"
    write_point_cloud(str(upper), POINTS)
    np.testing.assert_allclose(read_point_cloud(str(upper)), back)


@pytest.mark.parametrize("ext", [".npy", ".npz", ".csv", ".txt", ".xyz"])
def test_other_dimensions_round_trip(tmp_path, ext):
    pts = np.arange(20.0).reshape(4, 5)
    write_point_cloud(tmp_path / f"c{ext}", pts)
    np.testing.assert_array_equal(read_point_cloud(tmp_path / f"c{ext}", columns=range(5)), pts)
    # Text files: the first three columns are the coordinates unless columns= says otherwise.
    default = pts if ext in (".npy", ".npz") else pts[:, :3]
    np.testing.assert_array_equal(read_point_cloud(tmp_path / f"c{ext}"), default)


def test_text_variants(tmp_path):
    (tmp_path / "a.csv").write_text("x, y, z\n1, 2, 3\n\n# comment\n4,5,6  # trailing\n")
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "a.csv"), [[1, 2, 3], [4, 5, 6]])
    (tmp_path / "b.xyz").write_text("# scan\n1 2\t3\n  4 5 6\n")
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "b.xyz"), [[1, 2, 3], [4, 5, 6]])
    (tmp_path / "c.txt").write_text("1,2\n3,4\n")
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "c.txt", "0,1"), [[1, 2], [3, 4]])
    (tmp_path / "d.xyz").write_text("7 8 9\n")
    assert read_point_cloud(tmp_path / "d.xyz").shape == (1, 3)


def test_npz_key_choice(tmp_path):
    np.savez(tmp_path / "a.npz", other=np.zeros((2, 3)), points=np.ones((4, 3)))
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "a.npz"), np.ones((4, 3)))
    np.savez(tmp_path / "b.npz", np.full((3, 2), 2.0), np.zeros((5, 5)))
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "b.npz"), np.full((3, 2), 2.0))


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("points.xyz", "1 2 3\n4 5 6\n7 8\n", r"points\.xyz: line 3 has 2 columns; expected 3"),
        ("points.txt", "1 2 3\n4 5 nan\n", r"points\.txt: line 2 contains a non-finite value"),
        ("points.csv", "x,y,z\n1,2,3\n\n3,abc,4\n", r"points\.csv: line 4 has a value that is not"),
        ("points.csv", "x,y,z\n1,2,3\n4,5\n", r"points\.csv: line 3 has 2 columns; expected 3"),
        ("points.txt", "", r"points\.txt: no points found"),
        ("points.csv", "# only a comment\n\n", r"points\.csv: no points found"),
        ("points.xyz", "x y z\n1 2 3\n", r"points\.xyz: line 1 .* header line is only allowed"),
        ("points.xyz", "1 2 3\n4 5 inf\n6 7 8\n", r"points\.xyz: line 2 contains a non-finite"),
        ("junk.pts", "not a point cloud\n", r"junk\.pts: line 1 has a value that is not a"),
    ],
)
def test_malformed_text(tmp_path, name, content, match):
    (tmp_path / name).write_text(content)
    with pytest.raises(ValueError, match=match):
        read_point_cloud(tmp_path / name)


def test_malformed_numpy(tmp_path):
    np.save(tmp_path / "full.npy", POINTS)
    (tmp_path / "trunc.npy").write_bytes((tmp_path / "full.npy").read_bytes()[:90])
    with pytest.raises(ValueError, match=r"trunc\.npy: not a readable \.npy file"):
        read_point_cloud(tmp_path / "trunc.npy")
    np.save(tmp_path / "flat.npy", np.zeros(5))
    with pytest.raises(ValueError, match=r"flat\.npy: array has shape \(5,\); expected"):
        read_point_cloud(tmp_path / "flat.npy")
    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"empty\.npy: array has shape \(0, 3\); expected"):
        read_point_cloud(tmp_path / "empty.npy")
    bad = POINTS.copy()
    bad[7, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(ValueError, match=r"nan\.npy: array has 1 row\(s\) with NaN .* row 7"):
        read_point_cloud(tmp_path / "nan.npy")
    np.save(tmp_path / "text.npy", np.array([["a", "b"]]))
    with pytest.raises(ValueError, match=r"text\.npy: array has dtype <U1"):
        read_point_cloud(tmp_path / "text.npy")
    np.savez(tmp_path / "full.npz", points=POINTS)
    (tmp_path / "trunc.npz").write_bytes((tmp_path / "full.npz").read_bytes()[:300])
    with pytest.raises(ValueError, match=r"trunc\.npz: not a readable \.npz file"):
        read_point_cloud(tmp_path / "trunc.npz")
    np.savez(tmp_path / "none.npz")
    with pytest.raises(ValueError, match=r"none\.npz: the archive holds no arrays"):
        read_point_cloud(tmp_path / "none.npz")


@pytest.mark.parametrize("ext", [".ply", ".pcd"])
def test_malformed_ply_and_pcd(tmp_path, ext):
    (tmp_path / f"junk{ext}").write_text("this is not a point cloud\n")
    with pytest.raises(ValueError, match=rf"junk\{ext}: no points could be read"):
        read_point_cloud(tmp_path / f"junk{ext}")


def test_unknown_extension_and_missing_file(tmp_path):
    (tmp_path / "a.e57").write_text("1 2 3\n")
    with pytest.raises(ValueError, match=r"a\.e57: unknown point-cloud extension '\.e57'"):
        read_point_cloud(tmp_path / "a.e57")
    for ext in (".e57", ".las", ".laz"):  # LAS/LAZ are read, not written
        with pytest.raises(ValueError, match=rf"unknown writable point-cloud extension '\{ext}'"):
            write_point_cloud(tmp_path / f"a{ext}", POINTS)
    with pytest.raises(FileNotFoundError, match=r"missing\.xyz: no such file"):
        read_point_cloud(tmp_path / "missing.xyz")
    with pytest.raises(ValueError, match=r"a\.ply: \.ply files hold 3-D points"):
        write_point_cloud(tmp_path / "a.ply", np.zeros((4, 2)))
    with pytest.raises(ValueError, match="'points' has shape"):
        write_point_cloud(tmp_path / "a.npy", np.zeros(4))
    with pytest.raises(ValueError, match=r"'points' has 1 row\(s\) with NaN or infinity"):
        write_point_cloud(tmp_path / "a.npy", [[0.0, 1.0], [np.inf, 0.0]])


# A cube: 8 vertices, 12 triangles, area 6, written as 6 quads in OFF.
CUBE_V = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=float)
CUBE_QUADS = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]


def _area(vertices, triangles):
    a, b, c = (vertices[triangles[:, j]] for j in range(3))
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum()


def test_off_modelnet_header_merged_with_counts(tmp_path):
    text = "OFF4 2 0\n0 0 0\n1 0 0\n0 1 0\n1 1 0\n3 0 1 2\n3 1 3 2\n"
    (tmp_path / "modelnet.off").write_text(text)
    vertices, triangles = read_mesh(tmp_path / "modelnet.off")
    assert vertices.shape == (4, 3) and vertices.dtype == np.float64
    np.testing.assert_array_equal(triangles, [[0, 1, 2], [1, 3, 2]])
    assert triangles.dtype == np.int64
    # open3d really reads this file as empty: the reason for our own parser.
    import open3d as o3d

    with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
        assert len(o3d.io.read_triangle_mesh(str(tmp_path / "modelnet.off")).triangles) == 0


def test_off_normal_with_comments_blank_lines_and_quads(tmp_path):
    lines = ["# a cube", "OFF", "", "8 6 12  # counts"]
    lines += [" ".join(map(str, v)) for v in CUBE_V.astype(int)]
    lines += ["", "# faces"] + ["4 " + " ".join(map(str, q)) + " 255 0 0" for q in CUBE_QUADS]
    (tmp_path / "cube.off").write_text("\n".join(lines) + "\n")
    vertices, triangles = read_mesh(tmp_path / "cube.off")
    np.testing.assert_array_equal(vertices, CUBE_V)
    assert triangles.shape == (12, 3)
    assert _area(vertices, triangles) == pytest.approx(6.0)
    (tmp_path / "same_line.off").write_text("OFF 3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
    assert read_mesh(tmp_path / "same_line.off")[1].tolist() == [[0, 1, 2]]
    # COFF: colours after the coordinates and after the faces (floats or ints, mixed rows).
    coff = "COFF\n4 2 0\n0 0 0 1 0 0 1\n1 0 0\n0 1 0 0.5 0.5 0.5 1\n1 1 0\n"
    coff += "3 0 1 2 0.2 0.3 0.4\n3 1 3 2\n"
    (tmp_path / "colour.off").write_text(coff)
    vertices, triangles = read_mesh(tmp_path / "colour.off")
    np.testing.assert_array_equal(vertices, [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]])
    np.testing.assert_array_equal(triangles, [[0, 1, 2], [1, 3, 2]])


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("", r"bad\.off: empty file"),
        ("PLY\n3 1 0\n", r"bad\.off: line 1 must start with 'OFF'"),
        ("OFF\n", r"bad\.off: missing the vertex/face counts"),
        ("OFF\n3 x 0\n", r"bad\.off: line 2 \(counts\) is not a list of integers"),
        ("OFF\n3\n", r"bad\.off: line 2 must hold the counts"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n", r"bad\.off: truncated file: .* 3 vertices and 1 faces"),
        ("OFF\n3 1 0\n0 0 0\n1 0\n0 1 0\n3 0 1 2\n", r"bad\.off: line 4 \(vertex 1\) must"),
        ("OFF\n3 1 0\n0 0 0\n1 0 nan\n0 1 0\n3 0 1 2\n", r"bad\.off: line 4 \(vertex 1\) is not"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 5\n", r"bad\.off: line 6 refers to a vertex"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1\n", r"bad\.off: line 6 must hold a face"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n2 0 1\n", r"bad\.off: line 6 must hold a face"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1.5 2\n", r"bad\.off: line 6 \(face\) is not"),
    ],
)
def test_off_malformed(tmp_path, content, match):
    (tmp_path / "bad.off").write_text(content)
    with pytest.raises(ValueError, match=match):
        read_mesh(tmp_path / "bad.off")


@pytest.mark.parametrize("ext", [".off", ".obj", ".ply", ".stl"])
def test_mesh_round_trip(tmp_path, ext):
    triangles = np.array([t for q in CUBE_QUADS for t in ([q[0], q[1], q[2]], [q[0], q[2], q[3]])])
    write_mesh(tmp_path / f"cube{ext}", CUBE_V * 2.5, triangles)
    vertices, back = read_mesh(tmp_path / f"cube{ext}")
    assert back.shape == (12, 3) and back.dtype == np.int64
    # STL stores each triangle's corners (no shared vertices): compare corner coordinates.
    np.testing.assert_allclose(vertices[back], (CUBE_V * 2.5)[triangles], atol=1e-6)
    assert _area(vertices, back) == pytest.approx(6 * 2.5**2)


def test_mesh_errors(tmp_path):
    with pytest.raises(ValueError, match=r"m\.dae: unknown mesh extension"):
        read_mesh(tmp_path / "m.dae")
    with pytest.raises(FileNotFoundError, match=r"m\.obj: no such file"):
        read_mesh(tmp_path / "m.obj")
    (tmp_path / "junk.ply").write_text("not a mesh")
    with pytest.raises(ValueError, match=r"junk\.ply: no triangles could be read"):
        read_mesh(tmp_path / "junk.ply")
    with pytest.raises(ValueError, match="triangles refer to vertices outside"):
        write_mesh(tmp_path / "m.off", CUBE_V, [[0, 1, 8]])


def _unit_square():
    return np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0.0]]), np.array(
        [[0, 1, 2], [0, 2, 3]]
    )


def test_sample_points_uniform_by_area():
    # Two triangles of areas 1/2 and 4 (an L-shaped strip): counts follow the areas.
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 0, 1], [9, 0, 1], [5, 2, 1.0]])
    triangles = np.array([[0, 1, 2], [3, 4, 5]])
    X = sample_points((vertices, triangles), 45_000, random_state=0)
    assert X.shape == (45_000, 3) and X.dtype == np.float64
    assert abs((X[:, 2] == 0).mean() - 0.5 / 4.5) < 0.005
    first = X[X[:, 2] == 0]
    assert np.all(first[:, :2] >= -1e-12) and np.all(first[:, :2].sum(axis=1) <= 1 + 1e-12)
    # Uniform inside a triangle: the centroid of the samples is the triangle's centroid.
    np.testing.assert_allclose(first[:, :2].mean(axis=0), [1 / 3, 1 / 3], atol=0.01)
    np.testing.assert_array_equal(X, sample_points((vertices, triangles), 45_000, random_state=0))
    assert not np.array_equal(X, sample_points((vertices, triangles), 45_000, random_state=1))


def test_sample_points_poisson_and_paths(tmp_path):
    square = _unit_square()
    X = sample_points(square, 300, method="poisson", random_state=0)
    assert X.shape == (300, 3) and np.all(X[:, 2] == 0)
    np.testing.assert_array_equal(X, sample_points(square, 300, method="poisson", random_state=0))
    assert not np.array_equal(X, sample_points(square, 300, method="poisson", random_state=1))
    # Poisson-disk points are spread more evenly than independent ones.
    from scipy.spatial import cKDTree

    U = sample_points(square, 300, random_state=0)
    nn = [cKDTree(P[:, :2]).query(P[:, :2], k=2)[0][:, 1].min() for P in (X, U)]
    assert nn[0] > 2 * nn[1]
    write_mesh(tmp_path / "square.off", *square)
    np.testing.assert_array_equal(
        sample_points(tmp_path / "square.off", 50, random_state=3),
        sample_points(square, 50, random_state=3),
    )


def test_sample_points_errors():
    with pytest.raises(ValueError, match="'method' parameter of sample_points"):
        sample_points(_unit_square(), 10, method="grid")
    with pytest.raises(ValueError, match="must have positive surface area"):
        sample_points((np.zeros((3, 3)), np.array([[0, 1, 2]])), 10)
    with pytest.raises(TypeError, match="'mesh' parameter of sample_points"):
        sample_points(42, 10)
    with pytest.raises(ValueError, match="'n_points' parameter of sample_points"):
        sample_points(_unit_square(), 0)


def test_missing_open3d_says_what_to_install(tmp_path, monkeypatch):
    write_mesh(tmp_path / "cube.ply", CUBE_V, [[0, 1, 3], [0, 3, 2]])
    monkeypatch.setitem(__import__("sys").modules, "open3d", None)  # import open3d fails
    with pytest.raises(ImportError, match=r"\.ply meshes needs .* pip install flood-tda\[mesh\]"):
        read_mesh(tmp_path / "cube.ply")
    with pytest.raises(ImportError, match=r"pip install flood-tda\[mesh\]"):
        sample_points(_unit_square(), 10, method="poisson")
    # Point files (PLY and PCD included), the NumPy sampler and the OFF parser do not.
    for ext in (".ply", ".pcd"):
        write_point_cloud(tmp_path / f"a{ext}", POINTS)
        np.testing.assert_allclose(read_point_cloud(tmp_path / f"a{ext}"), POINTS, rtol=1e-6)
    write_mesh(tmp_path / "s.off", *_unit_square())
    assert sample_points(tmp_path / "s.off", 10, random_state=0).shape == (10, 3)


# --- Files are read whole or refused (issue 12, point 1): files written here, byte by byte.
CLOUD = np.random.default_rng(3).uniform(-1, 1, size=(200, 3))
NORMALS = CLOUD / np.linalg.norm(CLOUD, axis=1, keepdims=True)


def _ply(encoding, points=CLOUD, normals=None):
    """A PLY file: x, y, z as doubles, then optional float normals."""
    fields = [("x", "double"), ("y", "double"), ("z", "double")]
    rows = points if normals is None else np.hstack([points, normals])
    fields += [] if normals is None else [("nx", "float"), ("ny", "float"), ("nz", "float")]
    header = f"ply\nformat {encoding} 1.0\ncomment by hand\nelement vertex {len(rows)}\n"
    header += "".join(f"property {kind} {name}\n" for name, kind in fields) + "end_header\n"
    if encoding == "ascii":
        body = "".join(" ".join(f"{v:.17g}" for v in row) + "\n" for row in rows).encode()
    else:
        dtype = np.dtype([(name, "<f8" if kind == "double" else "<f4") for name, kind in fields])
        table = np.empty(len(rows), dtype=dtype)
        for j, (name, _) in enumerate(fields):
            table[name] = rows[:, j]
        body = table.tobytes()
    return header.encode() + body


def _pcd(encoding, points=CLOUD, width=None):
    n = len(points)
    header = (
        "# .PCD v0.7 - written by hand\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\n"
        f"COUNT 1 1 1\nWIDTH {width or n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\n"
        f"DATA {encoding}\n"
    )
    if encoding == "ascii":
        body = "".join(" ".join(f"{v:.9g}" for v in row) + "\n" for row in points).encode()
    else:
        body = points.astype("<f4").tobytes()
    return header.encode() + body


@pytest.mark.parametrize(
    ("name", "content", "atol"),
    [
        pytest.param("binary.ply", _ply("binary_little_endian"), 0.0, id="binary.ply"),
        pytest.param("ascii.ply", _ply("ascii"), 0.0, id="ascii.ply"),
        pytest.param("binary.pcd", _pcd("binary"), 1e-6, id="binary.pcd"),
        pytest.param("ascii.pcd", _pcd("ascii"), 1e-6, id="ascii.pcd"),
    ],
)
def test_truncated_ply_and_pcd_files_are_refused(tmp_path, name, content, atol):
    (tmp_path / name).write_bytes(content)
    np.testing.assert_allclose(read_point_cloud(tmp_path / name), CLOUD, rtol=0, atol=atol)
    promise = "element vertex 200" if name.endswith(".ply") else "POINTS 200"
    body = len(content) - content.index(b"end_header\n" if ".ply" in name else b"DATA")
    for cut in (body // 2, 7):  # half the points, or all but a few bytes of the last one
        (tmp_path / f"cut_{name}").write_bytes(content[:-cut])
        with pytest.raises(
            ValueError,
            match=rf"cut_{name}: truncated file: the header promises 200 points "
            rf"\('{promise}'\) but the file holds only 1?\d\d complete ones",
        ):
            read_point_cloud(tmp_path / f"cut_{name}")


def test_pcd_header_counts_must_agree_and_pts_counts_are_checked(tmp_path):
    (tmp_path / "a.pcd").write_bytes(_pcd("ascii", width=150))
    with pytest.raises(ValueError, match=r"a\.pcd: .* POINTS 200 but WIDTH x HEIGHT = 150 x 1"):
        read_point_cloud(tmp_path / "a.pcd")
    rows = "".join(f"{x:.17g} {y:.17g} {z:.17g} 7 255 0 0\n" for x, y, z in CLOUD)
    (tmp_path / "scan.pts").write_text(f"200\n{rows}")
    points, info = read_point_cloud(tmp_path / "scan.pts", return_info=True)
    np.testing.assert_array_equal(points, CLOUD)
    assert str(info) == "200 points x 3 (columns 0, 1, 2; ignored: 3, 4, 5, 6)"
    (tmp_path / "cut.pts").write_text(f"250\n{rows}")
    with pytest.raises(ValueError, match=r"cut\.pts: the header promises 250 points .* holds 200"):
        read_point_cloud(tmp_path / "cut.pts")


def test_ply_attributes_are_described_and_not_read(tmp_path):
    (tmp_path / "n.ply").write_bytes(_ply("binary_little_endian", normals=NORMALS))
    points, info = read_point_cloud(tmp_path / "n.ply", return_info=True)
    np.testing.assert_array_equal(points, CLOUD)
    assert str(info) == "200 points x 3 (columns x, y, z; ignored: nx, ny, nz)"
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "n.ply", "x,y"), CLOUD[:, :2])


# --- Coordinates vs attributes (issue 12, point 2).
def test_xyz_with_normals_reads_three_columns(tmp_path):
    np.savetxt(tmp_path / "n.xyz", np.hstack([CLOUD, NORMALS]))
    points, info = read_point_cloud(tmp_path / "n.xyz", return_info=True)
    np.testing.assert_array_equal(points, CLOUD)
    assert str(info) == "200 points x 3 (columns 0, 1, 2; ignored: 3, 4, 5)"
    assert info.columns == ("0", "1", "2") and info.n_points == 200
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "n.xyz", [3, 4, 5]), NORMALS)


def test_pandas_csv_with_index_column_reads_x_y_z(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"intensity": 1.0, "Z": CLOUD[:, 2], "X": CLOUD[:, 0], "Y": CLOUD[:, 1]})
    frame.to_csv(tmp_path / "p.csv")  # header ",intensity,Z,X,Y"; first column: row numbers
    assert (tmp_path / "p.csv").read_text().startswith(",intensity,Z,X,Y\n0,")
    points, info = read_point_cloud(tmp_path / "p.csv", return_info=True)
    np.testing.assert_array_equal(points, CLOUD)
    assert str(info) == "200 points x 3 (columns X, Y, Z; ignored: (index), intensity)"
    # By name (any case, in the order given) or by index (the index column counts).
    np.testing.assert_array_equal(
        read_point_cloud(tmp_path / "p.csv", ["y", "x"]), CLOUD[:, [1, 0]]
    )
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "p.csv", "3,4"), CLOUD[:, :2])
    # Without x, y, z names: the first three columns after the index.
    pd.DataFrame(CLOUD, columns=["a", "b", "c"]).to_csv(tmp_path / "abc.csv")
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "abc.csv"), CLOUD)


def test_fewer_than_three_columns_says_to_use_columns(tmp_path):
    np.savetxt(tmp_path / "flat.xyz", CLOUD[:, :2])
    with pytest.raises(
        ValueError,
        match=r"flat\.xyz has 2 column\(s\) .* pass columns \[0, 1\] to read_point_cloud",
    ):
        read_point_cloud(tmp_path / "flat.xyz")
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "flat.xyz", [0, 1]), CLOUD[:, :2])


@pytest.mark.parametrize(
    ("columns", "error"),
    [
        ([0, 6], ValueError),  # no column 6
        ([1, 1], ValueError),  # repeated
        (["x", "w"], ValueError),  # no such name
        ([-1], ValueError),
        ([], ValueError),
        ("0,,1", ValueError),
        ([0.0, 1.0], TypeError),
        ([True], TypeError),
        (3, TypeError),
    ],
)
def test_bad_columns_name_the_parameter(tmp_path, columns, error):
    write_point_cloud(tmp_path / "c.csv", CLOUD)  # header x,y,z
    np.savetxt(tmp_path / "n.xyz", np.hstack([CLOUD, NORMALS]))
    for name in ("c.csv", "n.xyz"):
        with pytest.raises(error, match=r"The 'columns' parameter of read_point_cloud must"):
            read_point_cloud(tmp_path / name, columns=columns)
    with pytest.raises(ValueError, match=r"'columns' .* of .*n\.xyz \(indices 0 to 5\)\. Got"):
        read_point_cloud(tmp_path / "n.xyz", columns=["x"])  # a headerless file has no names


def test_readers_are_quiet(tmp_path, capfd):
    # Complete vertices, cut faces: the points are read (open3d's RPly complained on stderr).
    mesh = _ply("ascii").replace(
        b"end_header", b"element face 2\nproperty list uchar int v\nend_header"
    )
    (tmp_path / "mesh.ply").write_bytes(mesh + b"3 0 1 2\n3 1 2")
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "mesh.ply"), CLOUD)
    out, err = capfd.readouterr()
    assert "RPly" not in out + err and "Open3D" not in out + err


def test_filtered_stderr_drops_only_noise_and_keeps_everything_on_errors(capfd):
    from flood.datasets._native import filtered_stderr

    def noise(line):
        return line.startswith("RPly:")

    with filtered_stderr(noise):
        os.write(2, b"RPly: Unexpected end of file\nreal problem\n")
    assert capfd.readouterr().err == "real problem\n"
    with pytest.raises(OSError, match="init failed"):
        with filtered_stderr(noise):
            os.write(2, b"RPly: context for the failure\n")
            raise OSError("init failed")
    assert capfd.readouterr().err == "RPly: context for the failure\n"


def test_filtered_stderr_from_several_threads_leaves_descriptor_2_working(capfd):
    import threading

    from flood.datasets._native import filtered_stderr

    def work():
        for _ in range(50):
            with filtered_stderr(lambda line: line.startswith("RPly:")):
                os.write(2, b"RPly: noise\n")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"
