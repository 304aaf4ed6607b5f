"""Point-cloud and mesh I/O of flood.datasets: round trips, malformed files, OFF quirks."""

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
    np.testing.assert_array_equal(read_point_cloud(tmp_path / f"c{ext}"), pts)


def test_text_variants(tmp_path):
    (tmp_path / "a.csv").write_text("x, y, z\n1, 2, 3\n\n# comment\n4,5,6  # trailing\n")
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "a.csv"), [[1, 2, 3], [4, 5, 6]])
    (tmp_path / "b.xyz").write_text("# scan\n1 2\t3\n  4 5 6\n")
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "b.xyz"), [[1, 2, 3], [4, 5, 6]])
    (tmp_path / "c.txt").write_text("1,2\n3,4\n")
    np.testing.assert_array_equal(read_point_cloud(tmp_path / "c.txt"), [[1, 2], [3, 4]])
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
        ("points.csv", "x,y\n1,2\n\n3,abc\n", r"points\.csv: line 4 has a value that is not a"),
        ("points.csv", "x,y,z\n1,2,3\n4,5\n", r"points\.csv: line 3 has 2 columns; expected 3"),
        ("points.txt", "", r"points\.txt: no points found"),
        ("points.csv", "# only a comment\n\n", r"points\.csv: no points found"),
        ("points.xyz", "x y z\n1 2 3\n", r"points\.xyz: line 1 .* header line is only allowed"),
        ("points.xyz", "1 2 3\n4 5 inf\n6 7 8\n", r"points\.xyz: line 2 contains a non-finite"),
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
    with pytest.raises(ValueError, match=r"empty\.npy: no points found"):
        read_point_cloud(tmp_path / "empty.npy")
    bad = POINTS.copy()
    bad[7, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(ValueError, match=r"nan\.npy: row 7 contains a non-finite value"):
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


@pytest.mark.parametrize("ext", [".ply", ".pcd", ".pts"])
def test_malformed_open3d(tmp_path, ext):
    (tmp_path / f"junk{ext}").write_text("this is not a point cloud\n")
    with pytest.raises(ValueError, match=rf"junk\{ext}: no points could be read"):
        read_point_cloud(tmp_path / f"junk{ext}")


def test_unknown_extension_and_missing_file(tmp_path):
    (tmp_path / "a.las").write_text("1 2 3\n")
    with pytest.raises(ValueError, match=r"a\.las: unknown point-cloud extension '\.las'"):
        read_point_cloud(tmp_path / "a.las")
    with pytest.raises(ValueError, match="unknown point-cloud extension"):
        write_point_cloud(tmp_path / "a.las", POINTS)
    with pytest.raises(FileNotFoundError, match=r"missing\.xyz: no such file"):
        read_point_cloud(tmp_path / "missing.xyz")
    with pytest.raises(ValueError, match=r"a\.ply: \.ply files hold 3-D points"):
        write_point_cloud(tmp_path / "a.ply", np.zeros((4, 2)))
    with pytest.raises(ValueError, match="'points' has shape"):
        write_point_cloud(tmp_path / "a.npy", np.zeros(4))
    with pytest.raises(ValueError, match="row 1 contains a non-finite value"):
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
    write_point_cloud(tmp_path / "a.ply", POINTS)
    monkeypatch.setitem(__import__("sys").modules, "open3d", None)  # import open3d fails
    with pytest.raises(ImportError, match=r"pip install flood-tda\[io\]"):
        read_point_cloud(tmp_path / "a.ply")
    with pytest.raises(ImportError, match=r"pip install flood-tda\[io\]"):
        sample_points(_unit_square(), 10, method="poisson")
    # The NumPy formats and the OFF parser do not need open3d.
    write_mesh(tmp_path / "s.off", *_unit_square())
    assert sample_points(tmp_path / "s.off", 10, random_state=0).shape == (10, 3)
