"""A survey of LAS/LAZ tiles (a glob or a folder) read as one cloud (issue 27)."""

import dask.array as da
import laspy
import numpy as np
import pytest

from flood import flood_complex
from flood._cli import main
from flood.datasets import make_swiss_cheese, read_point_cloud
from tests.test_distributed import assert_matches

SCALE = 1e-4


def write_survey(folder, X, per_axis=3, ext=".laz"):
    """``X`` cut into per_axis x per_axis tiles in x and y, one LAS/LAZ file each (names in
    row-major order); the points as the files store them (rounded to ``SCALE``), in the
    order the files are read."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    cell = np.minimum(((X[:, :2] - lo[:2]) / (hi[:2] - lo[:2]) * per_axis).astype(int), 2)
    stored = []
    for i in range(per_axis):
        for j in range(per_axis):
            part = X[(cell[:, 0] == i) & (cell[:, 1] == j)]
            if not len(part):  # an empty LAS file is refused, as one file is
                continue
            header = laspy.LasHeader(point_format=1, version="1.2")
            header.scales, header.offsets = np.full(3, SCALE), lo
            data = laspy.LasData(header)
            data.x, data.y, data.z = part.T
            data.write(folder / f"tile_{i}_{j}{ext}")
            stored.append(np.round((part - lo) / SCALE) * SCALE + lo)
    return np.concatenate(stored)


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    folder = tmp_path_factory.mktemp("survey")
    X = make_swiss_cheese(60_000, n_voids=4, random_state=5)
    return folder, write_survey(folder, X)


def test_a_glob_or_folder_reads_the_tiles_as_one_cloud(survey):
    folder, X = survey
    for path in (folder / "*.laz", folder, str(folder / "tile_*.laz")):
        points, info = read_point_cloud(path, return_info=True)
        np.testing.assert_allclose(points, X, rtol=0, atol=1e-9)
        assert info.n_points == len(X) and "(9 files)" in info.path
    dX, info = read_point_cloud(folder / "*.laz", chunks=2_500, return_info=True)
    np.testing.assert_allclose(dX.compute(), X, rtol=0, atol=1e-9)
    # blocks never straddle two files: each file's rows start a block
    sizes = [len(read_point_cloud(f)) for f in sorted(folder.glob("*.laz"))]
    starts = set(np.cumsum([0, *dX.chunks[0]])[:-1])
    assert set(np.cumsum([0, *sizes])[:-1]) <= starts
    assert max(dX.chunks[0]) <= 2_500


def test_flood_on_a_survey_equals_the_concatenated_points(survey):
    folder, X = survey
    res = flood_complex(
        read_point_cloud(folder / "*.laz", chunks=4_000), 200, random_state=0, device="cpu"
    )
    assert_matches(res, X)
    moved = (res.work["bytes_read"] + res.work["bytes_written"]) / res.work["x_bytes"]
    assert moved <= 8


def test_cli_computes_a_survey(survey, tmp_path):
    folder, X = survey
    out = tmp_path / "d.npz"
    argv = ["compute", str(folder / "*.laz"), "--chunks", "5000", "--landmarks", "150"]
    assert main([*argv, "--out", str(out), "--quiet"]) == 0
    got = np.load(out)
    ref = flood_complex(X, got["landmarks"], tol=float(got["tol"]), device="cpu")
    assert float(got["covering_radius"]) == pytest.approx(ref.covering_radius, abs=1e-12)


def test_survey_refusals(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no \.las or \.laz file matches"):
        read_point_cloud(tmp_path / "*.laz")
    X = make_swiss_cheese(2_000, random_state=0)
    write_survey(tmp_path, X, per_axis=2, ext=".las")
    np.save(tmp_path / "extra.npy", X)
    with pytest.raises(ValueError, match=r"reads LAS/LAZ tiles only .*extra\.npy"):
        read_point_cloud(tmp_path / "*")
    assert isinstance(read_point_cloud(tmp_path / "*.las", chunks=500), da.Array)


def test_tiles_must_give_the_same_columns():
    from flood.datasets._las import LasInfo
    from flood.datasets._survey import _same_columns

    a = LasInfo("a.las", 5, ("x", "y", "z", "intensity"), (), 1)
    b = LasInfo("b.las", 5, ("x", "y", "z", "gps_time"), (), 6)
    _same_columns(["a.las", "a.las"], [a, a])
    with pytest.raises(ValueError, match=r"b\.las: columns x, y, z, gps_time; .* same columns"):
        _same_columns(["a.las", "b.las"], [a, b])
