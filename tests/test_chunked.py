"""Chunked sources (issue 13, points 2 and 5): read_point_cloud(path, chunks=n) gives a dask
array of row blocks of a .npy, LAS/LAZ file or Zarr store, equal to the whole read, each block
reading only its rows and checked (with its row range) when computed."""

import pickle
import sys

import dask.array as da
import laspy  # the test extra installs laspy, lazrs, dask and zarr: a missing one fails here
import numpy as np
import pytest
import zarr

from flood.datasets import LasInfo, check_chunk, read_point_cloud, write_point_cloud

SCALES = np.array([0.01, 0.001, 0.25])
OFFSETS = np.array([451_000.0, 5_401_000.5, -12.75])  # UTM-like: the offset carries the digits
VERSION = {0: "1.2", 3: "1.2", 6: "1.4"}
# (chunks, n_points): one row per block; a prime with full blocks and a short last one; one
# block larger than the file. LAZ seeks decompress from the start of a compressed chunk, so the
# one-row blocks use a small file.
SIZES = [(1, 40), (997, 2100), (5000, 2100)]
SOURCES = ["npy", "las0", "las3", "las6", "laz0", "laz3", "laz6", "zarr", "zarr-group"]


def write_las(path, point_format, n, seed, gps_time=None):
    """``n`` random records with the test's scale and offset; their float64 coordinates."""
    rng = np.random.default_rng(seed)
    header = laspy.LasHeader(point_format=point_format, version=VERSION[point_format])
    header.scales, header.offsets = SCALES, OFFSETS
    data = laspy.LasData(header)
    raw = rng.integers(-(2**31), 2**31 - 1, size=(n, 3), dtype=np.int32)
    data.X, data.Y, data.Z = raw.T
    data.intensity = rng.integers(0, 2**16, size=n).astype(np.uint16)
    if gps_time is not None:
        data.gps_time = gps_time
    data.write(path)
    return raw.astype(np.float64) * SCALES + OFFSETS


def write_zarr(path, points, chunk_rows=300, group=False):
    """A Zarr v3 array of ``points`` (in a group, as its array ``points``, when asked)."""
    if group:
        root = zarr.open_group(str(path), mode="w")
        root.create_array("labels", shape=(len(points),), dtype="i4")  # sorted before 'points'
        array = root.create_array("points", shape=points.shape, chunks=(chunk_rows, 3), dtype="f8")
    else:
        array = zarr.create_array(str(path), shape=points.shape, chunks=(chunk_rows, 3), dtype="f8")
    array[:] = points
    return path


def make_source(tmp_path, kind, n, seed=0):
    """Write a source of ``n`` points; return its path and its points."""
    if kind.startswith(("las", "laz")):
        path = tmp_path / f"scan.{kind[:3]}"
        return path, write_las(path, int(kind[3:]), n, seed)
    points = np.random.default_rng(seed).normal(size=(n, 3)) * 1e3
    if kind == "npy":
        path = tmp_path / "scan.npy"
        np.save(path, points)
        return path, points
    return write_zarr(tmp_path / "scan.zarr", points, group=kind == "zarr-group"), points


def expected_chunks(chunks, n):
    return (chunks,) * (n // chunks) + ((n % chunks,) if n % chunks else ())


@pytest.mark.parametrize(("chunks", "n"), SIZES)
@pytest.mark.parametrize("kind", SOURCES)
def test_chunked_read_equals_whole_read(tmp_path, kind, chunks, n):
    path, points = make_source(tmp_path, kind, n, seed=n)
    x = read_point_cloud(path, chunks=chunks)
    assert isinstance(x, da.Array) and x.dtype == np.float64 and x.shape == (n, 3)
    assert x.chunks == (expected_chunks(chunks, n), (3,))
    whole = read_point_cloud(path)
    np.testing.assert_array_equal(whole, points)  # scale and offset applied exactly
    np.testing.assert_array_equal(x.compute(), whole)
    sizes = [x.blocks[i].compute().shape for i in range(x.numblocks[0])]
    assert sizes == [(size, 3) for size in expected_chunks(chunks, n)]


def test_zarr_array_inside_a_store_and_numpy_int_chunks(tmp_path):
    path, points = make_source(tmp_path, "zarr-group", 50)
    x = read_point_cloud(path / "points", chunks=np.int64(20))
    assert x.chunks == ((20, 20, 10), (3,))
    np.testing.assert_array_equal(x.compute(), points)
    np.testing.assert_array_equal(read_point_cloud(path / "points"), points)


@pytest.mark.parametrize("kind", ["npy", "zarr"])
def test_columns_and_info_match_the_whole_read(tmp_path, kind):
    path, points = make_source(tmp_path, kind, 100)
    x, info = read_point_cloud(path, columns=[2, 0], chunks=30, return_info=True)
    whole, whole_info = read_point_cloud(path, columns=[2, 0], return_info=True)
    np.testing.assert_array_equal(x.compute(), points[:, [2, 0]])
    np.testing.assert_array_equal(whole, points[:, [2, 0]])
    assert info == whole_info
    assert str(info) == "100 points x 2 (columns 2, 0; ignored: 1)"


@pytest.mark.parametrize("ext", [".las", ".laz"])
def test_las_columns_and_info(tmp_path, ext):
    path = tmp_path / f"scan{ext}"
    coordinates = write_las(path, 3, 120, seed=1)
    intensity = laspy.read(path).intensity
    x, info = read_point_cloud(path, columns="x,intensity", chunks=50, return_info=True)
    np.testing.assert_array_equal(x.compute(), np.c_[coordinates[:, 0], intensity])
    assert isinstance(info, LasInfo) and info.n_points == info.n_records == 120
    assert str(info) == "120 points x 2 (columns x, intensity; point format 3)"
    assert info == read_point_cloud(path, columns="x,intensity", return_info=True)[1]


def test_npy_is_memory_mapped_and_read_when_computed(tmp_path, monkeypatch):
    path, points = make_source(tmp_path, "npy", 100_000)
    loads = []
    original = np.load

    def recording(*args, **kwargs):
        loads.append(kwargs.get("mmap_mode"))
        return original(*args, **kwargs)

    monkeypatch.setattr(np, "load", recording)
    x = read_point_cloud(path, chunks=30_000)
    graph = pickle.dumps(dict(x.__dask_graph__()))
    assert len(graph) < points.nbytes / 1000  # the graph holds the path, not the points
    np.save(path, -points)  # rewritten in place after the graph was built: same shape
    np.testing.assert_array_equal(x.compute(), -points)
    assert len(loads) == 1 + x.numblocks[0] and set(loads) == {"r"}


@pytest.mark.parametrize("ext", [".las", ".laz"])
def test_each_las_block_reads_only_its_records(tmp_path, monkeypatch, ext):
    path = tmp_path / f"scan{ext}"
    coordinates = write_las(path, 6, 250, seed=2)
    seeks, reads = [], []
    seek, read_points = laspy.LasReader.seek, laspy.LasReader.read_points

    def recording_seek(self, pos, *args, **kwargs):
        seeks.append(pos)
        return seek(self, pos, *args, **kwargs)

    def recording_read(self, n):
        reads.append((seeks[-1], n))
        return read_points(self, n)

    monkeypatch.setattr(laspy.LasReader, "seek", recording_seek)
    monkeypatch.setattr(laspy.LasReader, "read_points", recording_read)
    x = read_point_cloud(path, chunks=100)
    assert seeks == reads == []  # opening reads the header (and the LAZ chunk table) only
    np.testing.assert_array_equal(x.compute(scheduler="synchronous"), coordinates)
    assert sorted(reads) == [(0, 100), (100, 100), (200, 50)]  # one seek and read per block
    assert len(seeks) == 3


def _poison(kind, tmp_path, value):
    """A 30-point source with ``value`` in row 14: the rows 10-19 of blocks of 10."""
    points = np.random.default_rng(3).normal(size=(30, 3))
    points[14, 1] = value
    if kind == "las":
        path = tmp_path / "scan.las"
        coordinates = write_las(path, 3, 30, seed=3, gps_time=points[:, 1])
        return path, np.c_[coordinates, points[:, 1]], "x,y,z,gps_time"
    if kind == "npy":
        path = tmp_path / "scan.npy"
        np.save(path, points)
    else:
        path = write_zarr(tmp_path / "scan.zarr", points, chunk_rows=7)
    return path, points, None


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("kind", ["npy", "zarr", "las"])
def test_a_bad_block_names_its_rows(tmp_path, kind, value):
    path, points, columns = _poison(kind, tmp_path, value)
    x = read_point_cloud(path, columns=columns, chunks=10)  # nothing is read yet
    match = (
        rf"{path.name.replace('.', '[.]')}: rows 10-19 hold NaN or inf "
        r"\(first at row 14: \[.*\]\); expected finite coordinates"
    )
    with pytest.raises(ValueError, match=match):
        x.blocks[1].compute()
    with pytest.raises(ValueError, match=match):
        x.compute()
    np.testing.assert_array_equal(x.blocks[0].compute(), points[:10])
    np.testing.assert_array_equal(x.blocks[2].compute(), points[20:])
    np.testing.assert_array_equal(x[:10].compute(), points[:10])
    with pytest.raises(ValueError, match="row 14"):  # the whole read refuses it too
        read_point_cloud(path, columns=columns)


BAD_LAYOUTS = [
    (np.zeros(5), r"array has shape \(5,\); expected \(n_points, dim\)$"),
    (np.zeros((4, 3, 1)), r"array has shape \(4, 3, 1\); expected \(n_points, dim\)$"),
    (np.zeros((4, 0)), r"array has shape \(4, 0\); expected \(n_points, dim\)$"),
    (np.zeros((0, 3)), r"expected \(n_points, dim\) with n_points >= 1"),
]
STRINGS = (np.array([["a", "b"]]), r"array has dtype <U1; expected real numbers")


@pytest.mark.parametrize(
    ("kind", "array", "match"),
    [("npy", *bad) for bad in [*BAD_LAYOUTS, STRINGS]] + [("zarr", *bad) for bad in BAD_LAYOUTS],
)
def test_shapes_are_refused_at_once_as_by_the_whole_read(tmp_path, kind, array, match):
    if kind == "npy":
        path = tmp_path / "scan.npy"
        np.save(path, array)
    else:
        path = tmp_path / "scan.zarr"
        zarr.create_array(str(path), shape=array.shape, dtype=array.dtype)[...] = array
    with pytest.raises(ValueError, match=match):
        read_point_cloud(path, chunks=2)
    with pytest.raises(ValueError, match=match):
        read_point_cloud(path)


def test_any_number_of_columns_as_in_the_whole_read(tmp_path):
    # read_point_cloud accepts 2-D arrays of any width; flood_complex refuses dim > 6 later.
    path = tmp_path / "wide.npy"
    points = np.random.default_rng(4).normal(size=(40, 7))
    np.save(path, points.astype(np.float32))
    x = read_point_cloud(path, chunks=16)
    assert x.dtype == np.float64 and x.chunks == ((16, 16, 8), (7,))
    np.testing.assert_array_equal(x.compute(), read_point_cloud(path))


def test_a_file_changed_after_opening_is_named(tmp_path):
    path, points = make_source(tmp_path, "npy", 50)
    x = read_point_cloud(path, chunks=20)
    np.save(path, points[:30])
    with pytest.raises(ValueError, match=r"scan\.npy: the array has shape \(30, 3\).*changed"):
        x.compute()


@pytest.mark.parametrize("ext", [".las", ".laz"])
def test_truncated_las_is_refused_at_once(tmp_path, ext):
    good = tmp_path / f"good{ext}"
    write_las(good, 3, 500, seed=5)
    data = good.read_bytes()
    bad = tmp_path / f"cut{ext}"
    bad.write_bytes(data[: len(data) - 100])
    if ext == ".las":  # point format 3: 34-byte records; 100 bytes cut take 3 of them
        match = r"cut\.las: the header promises 500 points but the file holds 497\b"
    else:
        match = r"cut\.laz: not a readable \.laz file: its chunk table, at the end of the file"
    with pytest.raises(ValueError, match=match):
        read_point_cloud(bad, chunks=100)


def test_laz_header_promising_more_than_its_chunks_is_refused_at_once(tmp_path):
    path = tmp_path / "scan.laz"
    write_las(path, 3, 500, seed=5)  # one compressed chunk of at most 50,000 records
    data = bytearray(path.read_bytes())
    data[107:111] = (60_000).to_bytes(4, "little")  # LAS 1.2: the point count, uint32 at 107
    path.write_bytes(bytes(data))
    match = r"scan\.laz: the header promises 60,000 points but the file's compressed chunks hold"
    with pytest.raises(ValueError, match=match + r" at most 50,000"):
        read_point_cloud(path, chunks=100)


@pytest.mark.parametrize("chunks", [0, -3])
def test_chunks_below_one_are_refused(tmp_path, chunks):
    path, _ = make_source(tmp_path, "npy", 10)
    match = (
        r"The 'chunks' parameter of read_point_cloud must be an int in the range \[1, inf\]\. "
        rf"Got {chunks} instead"
    )
    with pytest.raises(ValueError, match=match):
        read_point_cloud(path, chunks=chunks)


@pytest.mark.parametrize("chunks", [True, np.bool_(True), 2.0, "100", [10]])
def test_chunks_that_are_not_ints_are_refused(tmp_path, chunks):
    path, _ = make_source(tmp_path, "npy", 10)
    match = r"The 'chunks' parameter of read_point_cloud must be an int\. Got .* of type"
    with pytest.raises(TypeError, match=match):
        read_point_cloud(path, chunks=chunks)


@pytest.mark.parametrize("name", ["cloud.csv", "cloud.npz", "cloud.xyz", "cloud.ply"])
def test_chunks_for_another_format_are_refused(tmp_path, name):
    path = tmp_path / name
    write_point_cloud(path, np.zeros((3, 3)))
    ext = name.split(".")[1]
    match = (
        r"The 'chunks' parameter of read_point_cloud applies to \.las, \.laz and \.npy files "
        rf"and Zarr stores only .* Got chunks=10 for .*cloud\.{ext} \(a \.{ext} file\)"
    )
    with pytest.raises(ValueError, match=match):
        read_point_cloud(path, chunks=10)
    assert read_point_cloud(path).shape == (3, 3)  # the file itself is readable


def test_classes_with_chunks_are_refused(tmp_path):
    path = tmp_path / "scan.laz"
    write_las(path, 6, 20, seed=6)
    match = (
        r"The 'classes' parameter of read_point_cloud cannot be combined with 'chunks'.*"
        r"Got classes=\(2,\) and chunks=5\."
    )
    with pytest.raises(ValueError, match=match):
        read_point_cloud(path, classes=2, chunks=5)


def test_missing_or_unreadable_zarr_store(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.zarr: no such Zarr store"):
        read_point_cloud(tmp_path / "nope.zarr", chunks=10)
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(ValueError, match=r"empty\.zarr: not a readable Zarr store"):
        read_point_cloud(tmp_path / "empty.zarr")
    zarr.open_group(str(tmp_path / "bare.zarr"), mode="w")
    with pytest.raises(ValueError, match=r"bare\.zarr: the Zarr group holds no arrays"):
        read_point_cloud(tmp_path / "bare.zarr", chunks=10)


@pytest.mark.parametrize(("module", "ext"), [("dask.array", "npy"), ("zarr", "zarr")])
def test_missing_dependency_names_the_extra(tmp_path, monkeypatch, module, ext):
    path, _ = make_source(tmp_path, ext, 10)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=r"optional dependency .*pip install flood-tda\[dask\]"):
        read_point_cloud(path, chunks=5)


def test_check_chunk_names_the_rows():
    assert check_chunk(np.arange(6).reshape(3, 2), 5, "s").dtype == np.float64
    with pytest.raises(ValueError, match=r"^s: rows 1,000,000-1,000,002 hold NaN or inf "):
        check_chunk([[0.0], [1.0], [np.nan]], 1_000_000, "s")
    with pytest.raises(ValueError, match=r"^s: row 7 holds NaN or inf \(first at row 7: \[inf\]"):
        check_chunk([[np.inf]], 7, "s")
    with pytest.raises(
        ValueError, match=r"^s: rows 10-12 have shape \(3,\); expected \(n_rows, dim\)"
    ):
        check_chunk(np.zeros(3), 10, "s")
    with pytest.raises(ValueError, match=r"^s: rows 0-3 have shape \(3, 7\); expected \(4, 6\)"):
        check_chunk(np.zeros((3, 7)), 0, "s", n_rows=4, dim=6)
    with pytest.raises(TypeError, match=r"^s: rows 0-1 have dtype <U1; expected real numbers"):
        check_chunk(np.array([["a"], ["b"]]), 0, "s")


def test_check_chunk_on_any_block_array():
    points = np.random.default_rng(7).normal(size=(25, 2))
    points[21, 0] = np.nan
    x = da.from_array(points, chunks=(8, 2))

    def checked(block, block_info=None):
        start = block_info[0]["array-location"][0][0]
        return check_chunk(block, start, "X", dim=2)

    y = x.map_blocks(checked, dtype=np.float64)
    np.testing.assert_array_equal(y.blocks[:2].compute(), points[:16])
    with pytest.raises(ValueError, match=r"^X: rows 16-23 hold NaN or inf \(first at row 21"):
        y.compute()
