"""LAS/LAZ input (issue 13, point 1): exact coordinates, classification filter, columns,
chunked reading, truncated and corrupt files, the CLI."""

import sys

import laspy  # the test extra installs it: a missing laspy fails here instead of skipping
import numpy as np
import pytest

import flood.datasets._las as las_module
from flood._cli import main
from flood.datasets import LasInfo, PointCloudInfo, read_point_cloud

SCALES = np.array([0.01, 0.001, 0.25])
OFFSETS = np.array([451_000.0, 5_401_000.5, -12.75])  # UTM-like: the offset carries the digits
VERSION = {0: "1.2", 3: "1.2", 6: "1.4"}
N_POINTS = 500


def write_las(path, point_format=3, n=N_POINTS, seed=0, codes=10, spread=2**31 - 1):
    """Write ``n`` random records (coordinates in ``[-spread, spread)``, classifications in
    ``[0, codes)``) with laspy; return the records' float64 coordinates
    (``X * scale + offset``), classifications and intensities."""
    rng = np.random.default_rng(seed)
    header = laspy.LasHeader(point_format=point_format, version=VERSION[point_format])
    header.scales, header.offsets = SCALES, OFFSETS
    data = laspy.LasData(header)
    raw = rng.integers(-spread, spread, size=(n, 3), dtype=np.int32)
    data.X, data.Y, data.Z = raw.T
    classification = rng.integers(0, codes, size=n).astype(np.uint8)
    intensity = rng.integers(0, 2**16, size=n).astype(np.uint16)
    data.classification, data.intensity = classification, intensity
    data.write(path)
    return raw.astype(np.float64) * SCALES + OFFSETS, classification, intensity


@pytest.mark.parametrize("ext", [".las", ".laz"])
@pytest.mark.parametrize("point_format", [0, 3, 6])
def test_coordinates_read_back_exactly(tmp_path, ext, point_format):
    path = tmp_path / f"scan{ext}"
    expected, _, _ = write_las(path, point_format, seed=point_format)
    points, info = read_point_cloud(path, return_info=True)
    assert points.dtype == np.float64 and points.shape == (N_POINTS, 3)
    np.testing.assert_array_equal(points, expected)
    assert isinstance(info, PointCloudInfo) and isinstance(info, LasInfo)
    assert (info.n_points, info.columns, info.point_format) == (
        N_POINTS,
        ("x", "y", "z"),
        point_format,
    )
    assert "intensity" in info.ignored and "classification" in info.ignored
    assert str(info) == f"500 points x 3 (columns x, y, z; point format {point_format})"


def test_upper_case_extension(tmp_path):
    expected, _, _ = write_las(tmp_path / "SCAN.LAZ")
    np.testing.assert_array_equal(read_point_cloud(str(tmp_path / "SCAN.LAZ")), expected)


@pytest.mark.parametrize("ext", [".las", ".laz"])
@pytest.mark.parametrize("classes", [(2,), (6, 2), "2, 6", 7])
def test_classification_filter_is_a_mask(tmp_path, ext, classes):
    path = tmp_path / f"scan{ext}"
    expected, classification, _ = write_las(path, 6, codes=9)
    codes = [int(c) for c in str(classes).strip("()").split(",") if c.strip()]
    mask = np.isin(classification, codes)
    assert 0 < mask.sum() < N_POINTS
    points, info = read_point_cloud(path, classes=classes, return_info=True)
    np.testing.assert_array_equal(points, expected[mask])
    assert info.classes == tuple(sorted(codes)) and info.n_records == N_POINTS
    listed = ", ".join(map(str, sorted(codes)))
    assert str(info) == (
        f"{mask.sum()} points x 3 (columns x, y, z; point format 6; classes {listed} of 500 points)"
    )


def test_classification_codes_above_31_in_point_format_6(tmp_path):
    path = tmp_path / "scan.laz"
    expected, classification, _ = write_las(path, 6, codes=256)
    mask = classification >= 200
    wanted = tuple(int(c) for c in np.unique(classification[mask]))
    np.testing.assert_array_equal(read_point_cloud(path, classes=wanted), expected[mask])


@pytest.mark.parametrize("classes", [None, (1, 4)])
def test_reading_goes_chunk_by_chunk(tmp_path, monkeypatch, classes):
    path = tmp_path / "scan.laz"
    expected, classification, _ = write_las(path, 3, n=103)
    sizes = []
    original = laspy.LasReader.chunk_iterator

    def recording(self, points_per_iteration):
        for chunk in original(self, points_per_iteration):
            sizes.append(len(chunk))
            yield chunk

    monkeypatch.setattr(las_module, "CHUNK_POINTS", 10)
    monkeypatch.setattr(laspy.LasReader, "chunk_iterator", recording)
    points = read_point_cloud(path, classes=classes)
    assert sizes == [10] * 10 + [3]
    mask = slice(None) if classes is None else np.isin(classification, classes)
    np.testing.assert_array_equal(points, expected[mask])


def test_columns_name_las_dimensions(tmp_path):
    path = tmp_path / "scan.las"
    expected, classification, intensity = write_las(path, 3)
    points, info = read_point_cloud(path, "x,Y,Intensity", return_info=True)
    np.testing.assert_array_equal(points, np.c_[expected[:, :2], intensity])
    assert info.columns == ("x", "y", "intensity") and "z" in info.ignored
    by_index = read_point_cloud(path, [2, 3])  # x, y, z, intensity, ...: the dimension order
    np.testing.assert_array_equal(by_index, np.c_[expected[:, 2], intensity])
    ground = read_point_cloud(path, ["classification", "z"], classes=(3,))
    np.testing.assert_array_equal(
        ground, np.c_[classification, expected[:, 2]][classification == 3]
    )
    with pytest.raises(ValueError, match=r"'columns' parameter .* names: x, y, z, intensity"):
        read_point_cloud(path, "x,y,w")


@pytest.mark.parametrize("cut", [100 * 34, 100 * 34 + 5, 500 * 34])
def test_truncated_las_is_refused(tmp_path, cut):
    good = tmp_path / "good.las"
    write_las(good, 3)
    data = good.read_bytes()
    bad = tmp_path / "cut.las"
    bad.write_bytes(data[: len(data) - cut])
    found = max(0, (len(data) - cut - 227) // 34)  # point format 3: 34-byte records from 227
    if cut % 34 == 0 and found:  # why flood checks: laspy alone reads what is there
        assert len(laspy.read(bad).points) == found
    with pytest.raises(
        ValueError, match=rf"cut\.las: the header promises 500 points but the file holds {found}\b"
    ):
        read_point_cloud(bad)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_laz_is_refused(tmp_path, damage):
    good = tmp_path / "good.laz"
    write_las(good, 3)
    data = good.read_bytes()
    bad = tmp_path / "bad.laz"
    bad.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a laz file" * 50)
    with pytest.raises(ValueError, match=r"bad\.laz: not a readable \.laz file"):
        read_point_cloud(bad)


def test_empty_las_is_refused(tmp_path):
    path = tmp_path / "empty.las"
    write_las(path, 3, n=0)
    with pytest.raises(ValueError, match=r"empty\.las: no points found"):
        read_point_cloud(path)


@pytest.mark.parametrize("classes", [(256,), (-1,), (2, 2), (), "2,x", ""])
def test_bad_classes_are_refused_naming_the_parameter(tmp_path, classes):
    path = tmp_path / "scan.laz"
    write_las(path)
    with pytest.raises(ValueError, match=r"The 'classes' parameter of read_point_cloud must be"):
        read_point_cloud(path, classes=classes)


@pytest.mark.parametrize("classes", [2.0, [2.5], True, object()])
def test_classes_of_the_wrong_type_are_refused(tmp_path, classes):
    path = tmp_path / "scan.laz"
    write_las(path)
    with pytest.raises(TypeError, match=r"The 'classes' parameter of read_point_cloud must be"):
        read_point_cloud(path, classes=classes)


def test_classes_need_a_las_file_and_a_kept_point(tmp_path):
    np.save(tmp_path / "c.npy", np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"'classes' parameter .* \.las and \.laz files only"):
        read_point_cloud(tmp_path / "c.npy", classes=(2,))
    path = tmp_path / "scan.laz"
    write_las(path, codes=4)
    with pytest.raises(ValueError, match=r"no points of classes 9 .* classes are 0, 1, 2, 3$"):
        read_point_cloud(path, classes=9)


@pytest.mark.parametrize(
    ("module", "ext"), [("laspy", ".las"), ("laspy", ".laz"), ("lazrs", ".laz")]
)
def test_missing_dependency_names_the_extra(tmp_path, monkeypatch, module, ext):
    path = tmp_path / f"scan{ext}"
    write_las(path)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=rf"needs the optional dependency {module}: .*\[io\]"):
        read_point_cloud(path)


def test_cli_computes_a_laz_file(tmp_path, capsys):
    path = tmp_path / "scan.laz"
    expected, classification, _ = write_las(path, 6, n=300, codes=3, spread=10**4)
    assert main(["compute", str(path), "--landmarks", "20", "--quiet"]) == 0
    with np.load(tmp_path / "scan_laz_diagrams.npz") as d:
        assert sorted(k for k in d.files if k.startswith("H")) == ["H0", "H1", "H2"]
        assert len(d["H0"]) == 20  # one bar per landmark
        assert all((row == expected).all(axis=1).any() for row in d["landmarks"])
    out = str(tmp_path / "ground.npz")
    assert main(["compute", str(path), "--landmarks", "20", "--classes", "2", "--out", out]) == 0
    err = capsys.readouterr().err.splitlines()
    n = int((classification == 2).sum())
    assert (
        err[0]
        == f"read {path}: {n} points x 3 (columns x, y, z; point format 6; classes 2 of 300 points)"
    )
    with np.load(out) as d:
        ground = expected[classification == 2]
        assert all((row == ground).all(axis=1).any() for row in d["landmarks"])


@pytest.mark.parametrize(("classes", "match"), [("2,300", "--classes must be"), ("9", "no points")])
def test_cli_bad_classes_is_one_line(tmp_path, capsys, classes, match):
    path = tmp_path / "scan.laz"
    write_las(path, codes=4)
    assert main(["compute", str(path), "--classes", classes, "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("flood: error: ") and match in err[0], err
