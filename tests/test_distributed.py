"""flood_complex on a dask array chunked by rows equals the single-process run (issue 13).

Each distributed run is compared with ``flood_complex(X, landmarks=res.landmarks,
tol=res.tol)`` on the whole array: both certify their bounds, so each one's upper bound is
above the other's lower bound, the filtrations differ by at most ``tol`` and the diagrams by
at most ``2 tol`` in bottleneck distance; the covering radius is exact in both.
"""

import os
import pathlib
import sys

import cloudpickle
import dask.array as da
import distributed
import gudhi
import numpy as np
import pytest
from scipy.spatial import cKDTree

import flood._blocks
from flood import flood_complex
from flood._blocks import INDEXED_BYTES, enclosing_balls, worker_halo_cap
from flood._memory import MEMORY_SHARE, WORKER_BASELINE, block_rows_cap
from flood.datasets import make_swiss_cheese, make_torus, read_point_cloud

#: Rounding allowed between two certified bounds computed in different coordinates.
ROUND = 1e-12


def _clouds():
    return {
        "cheese2d": make_swiss_cheese(12_000, n_voids=4, dim=2, random_state=3),
        "torus3d": make_torus(15_000, noise=0.01, random_state=4),
    }


CLOUDS = _clouds()


def assert_matches(res, X, landmarks_in_X=True, **options):
    """``res`` (a dask run on X) against the single-process run with its landmarks."""
    ref = flood_complex(X, landmarks=res.landmarks, tol=res.tol, device="cpu", **options)
    assert res.max_gap <= res.tol * (1 + 1e-9)
    for a, b in zip(res.simplices, ref.simplices, strict=True):
        assert np.array_equal(a, b)
    for k in range(len(res.simplices)):
        assert np.all(res.upper[k] >= ref.lower[k] - ROUND), k
        assert np.all(ref.upper[k] >= res.lower[k] - ROUND), k
        if len(res.filtration[k]):
            assert np.abs(res.filtration[k] - ref.filtration[k]).max() <= res.tol + ROUND
    for a, b in zip(res.diagrams(), ref.diagrams(), strict=True):
        assert gudhi.bottleneck_distance(a, b) <= 2 * res.tol
    assert res.covering_radius == cKDTree(res.landmarks).query(X)[0].max()
    if landmarks_in_X:
        assert np.array_equal(X[res.landmark_indices], res.landmarks)
    if res.method == "certified":  # the blocks' witnesses: points of s where d_X >= lower(s)
        assert_maximizers(res, X)
    return ref


def assert_maximizers(res, X):
    """Each simplex's maximizer lies in it and d_X there is at least its lower bound."""
    assert res.maximizers is not None
    tree = cKDTree(X)
    for k in range(1, len(res.simplices)):
        corners, y = res.landmarks[res.simplices[k]], res.maximizers[k]
        if not len(y):
            continue
        a = (corners[:, 1:] - corners[:, :1]).transpose(0, 2, 1)  # (n, dim, k)
        lam = (np.linalg.pinv(a) @ (y - corners[:, 0])[..., None])[..., 0]
        scale = np.abs(corners).max() + 1
        assert np.abs(np.einsum("ndk,nk->nd", a, lam) + corners[:, 0] - y).max() <= 1e-9 * scale
        assert lam.min() >= -1e-9 and lam.sum(axis=1).max() <= 1 + 1e-9, k
        assert np.all(tree.query(y)[0] >= res.lower[k] - ROUND), k


@pytest.mark.parametrize("name", sorted(CLOUDS))
@pytest.mark.parametrize("chunk", ["one", "prime", "small"])
def test_matches_single_process(name, chunk):
    X = CLOUDS[name]
    rows = {"one": len(X), "prime": 2_999, "small": 600}[chunk]
    res = flood_complex(
        da.from_array(X, chunks=(rows, -1)), 120, random_state=0, device="cpu", block_size=40
    )
    assert len(res.landmarks) == 120
    assert res.work["blocks"] >= 4  # faces shared by blocks are merged
    assert np.all(res.work["rows_read"] >= res.work["halo_points"])
    assert set(res.timings) == {"landmarks", "tiles", "delaunay", "filtration"}
    assert_matches(res, X)


def test_blocks_over_the_memory_cap_run_in_sub_blocks(monkeypatch):
    # a worker's memory limit caps the points a block task indexes at once; a block whose
    # halo holds more is halved until each part fits, with the same certified bounds
    X = CLOUDS["torus3d"]
    dX = da.from_array(X, chunks=(5_000, -1))
    whole = flood_complex(dX, 120, random_state=0, device="cpu", block_size=60)
    cap = int(whole.work["halo_points"].max() // 3)
    seen = []
    monkeypatch.setattr(
        flood._blocks, "worker_halo_cap", lambda dim, n_halo: seen.append(dim) or cap
    )
    res = flood_complex(dX, 120, random_state=0, device="cpu", block_size=60)
    assert seen and set(seen) == {3}
    assert res.work["sub_blocks"].max() >= 3  # the largest halo in at least 3 parts
    assert np.array_equal(res.work["sub_blocks"] > 1, res.work["halo_points"] > cap)
    assert np.array_equal(res.work["halo_points"], whole.work["halo_points"])  # read once
    assert_matches(res, X)


def test_worker_halo_cap_follows_the_memory_limit():
    assert worker_halo_cap(3) is None  # not in a dask worker
    limit = 600 * 2**20
    rows = block_rows_cap(limit, 3)  # the most rows a planned block reads
    with (
        distributed.LocalCluster(
            n_workers=1, processes=False, dashboard_address=None, memory_limit="600MiB"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        caps = [
            client.submit(worker_halo_cap, 3, n, pure=False).result()
            for n in (0, 10**5, rows, 10**8)
        ]
    # the plan's memory model (flood._memory): baseline, the halo and its concatenation
    # (16 bytes per coordinate), the tree (INDEXED_BYTES) within MEMORY_SHARE of the limit
    budget = MEMORY_SHARE * limit - WORKER_BASELINE
    assert caps[0] == int(budget / (INDEXED_BYTES * 3))
    assert caps[1] == int((budget - 48 * 10**5) / (INDEXED_BYTES * 3))
    assert rows <= caps[2] <= rows + 1  # a block the plan let through is indexed whole
    floor = int(flood._blocks.MIN_CAP_FRACTION * budget / (INDEXED_BYTES * 3))
    assert caps[3] == floor  # a halo of 2.4 GB takes the whole budget


def test_seeded_and_chunking_changes_only_the_landmarks():
    X = CLOUDS["cheese2d"]
    a = flood_complex(da.from_array(X, chunks=(3_000, 2)), 80, random_state=7, device="cpu")
    b = flood_complex(da.from_array(X, chunks=(3_000, 2)), 80, random_state=7, device="cpu")
    c = flood_complex(da.from_array(X, chunks=(3_000, 2)), 80, random_state=8, device="cpu")
    assert np.array_equal(a.landmarks, b.landmarks)
    assert all(np.array_equal(x, y) for x, y in zip(a.filtration, b.filtration))
    assert not np.array_equal(a.landmarks, c.landmarks)


def test_given_landmarks_off_the_cloud():
    X = CLOUDS["torus3d"]
    rng = np.random.default_rng(1)
    L = X[rng.choice(len(X), 90, replace=False)] + rng.normal(scale=0.05, size=(90, 3))
    res = flood_complex(da.from_array(X, chunks=(4_000, 3)), L, device="cpu", block_size=50)
    assert res.landmark_indices is None
    assert np.array_equal(res.landmarks, L)
    d = cKDTree(X).query(L)[0]
    assert d.min() > 0 and np.allclose(res.filtration[0], d, rtol=0, atol=ROUND)
    assert_matches(res, X, landmarks_in_X=False)


def test_given_landmarks_in_the_cloud_get_their_rows():
    X = CLOUDS["cheese2d"]
    rows = np.random.default_rng(2).choice(len(X), 60, replace=False)
    res = flood_complex(da.from_array(X, chunks=(1_000, 2)), X[rows], device="cpu")
    assert np.array_equal(res.landmark_indices, rows)
    assert_matches(res, X)


def test_unknown_chunk_sizes():
    X = CLOUDS["cheese2d"]
    keep = np.random.default_rng(3).uniform(size=len(X)) < 0.8
    dX = da.from_array(X, chunks=(2_500, 2))[da.from_array(keep, chunks=2_500)]
    assert np.isnan(dX.shape[0])
    res = flood_complex(dX, 70, random_state=0, device="cpu")
    assert_matches(res, X[keep])


def test_grid_method_equals_single_process():
    X = CLOUDS["torus3d"]
    res = flood_complex(
        da.from_array(X, chunks=(5_000, 3)), 60, method="grid", points_per_edge=6, device="cpu"
    )
    ref = flood_complex(X, res.landmarks, method="grid", points_per_edge=6, device="cpu")
    assert res.lower is None and np.isnan(res.tol)
    for a, b in zip(res.filtration, ref.filtration, strict=True):
        assert np.allclose(a, b, rtol=0, atol=ROUND)
    assert res.evaluations == ref.evaluations


@pytest.mark.parametrize("unknown", [False, True])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_chunk_names_its_rows(unknown, bad):
    X = CLOUDS["cheese2d"][:5_000].copy()
    X[3_456, 1] = bad
    dX = da.from_array(X, chunks=(1_000, 2))
    if unknown:
        dX = dX[da.from_array(np.ones(len(X), bool), chunks=1_000)]
    match = r"points: rows 3,000-3,999 hold NaN or inf \(first at row 3,456: "
    with pytest.raises(ValueError, match=match):
        flood_complex(dX, 30, device="cpu")


def test_refusals():
    X = da.from_array(CLOUDS["cheese2d"], chunks=(1_000, 2))
    with pytest.raises(ValueError, match=r"points has shape \(12000,\); expected"):
        flood_complex(X[:, 0], 30, device="cpu")
    with pytest.raises(ValueError, match=r"1 <= dim <= 6"):
        flood_complex(da.zeros((100, 7), chunks=(50, 7)), 30, device="cpu")
    with pytest.raises(TypeError, match="expected real numbers"):
        flood_complex(X.astype(complex), 30, device="cpu")
    with pytest.raises(ValueError, match="'block_size' parameter must be an int"):
        flood_complex(X, 30, device="cpu", block_size=0)
    with pytest.raises(ValueError, match="'block_size' parameter applies to dask array"):
        flood_complex(CLOUDS["cheese2d"], 30, device="cpu", block_size=10)
    with pytest.raises(ValueError, match="'max_dimension' parameter"):
        flood_complex(X, 30, device="cpu", max_dimension=3)
    with pytest.warns(UserWarning, match="exceeds the number of points"):
        res = flood_complex(X[:40], 50, device="cpu")
    assert len(res.landmarks) == 40


def test_columns_chunked_and_lower_max_dimension():
    X = CLOUDS["torus3d"]
    res = flood_complex(
        da.from_array(X, chunks=(3_000, 1)), 50, random_state=0, device="cpu", max_dimension=2
    )
    assert len(res.simplices) == 3
    assert_matches(res, X, max_dimension=2)


def test_progress_bar_over_blocks(capsys):
    X = CLOUDS["cheese2d"]
    res = flood_complex(
        da.from_array(X, chunks=(3_000, 2)), 60, device="cpu", block_size=30, progress=True
    )
    err = capsys.readouterr().err
    assert "filtration, blocks" in err and f"{res.work['blocks']}/{res.work['blocks']}" in err


def test_enclosing_balls_are_smallest():
    rng = np.random.default_rng(0)
    tri = rng.normal(size=(500, 3, 2))
    centres, radii = enclosing_balls(tri)
    assert np.all(np.linalg.norm(tri - centres[:, None], axis=2).max(axis=1) <= radii + ROUND)
    # a triangle's smallest ball: half its longest edge if obtuse, else its circumball
    edges = np.linalg.norm(tri[:, [1, 2, 0]] - tri[:, [2, 0, 1]], axis=2)
    e = np.sort(edges, axis=1)
    obtuse = e[:, 2] ** 2 >= e[:, 0] ** 2 + e[:, 1] ** 2
    u, v = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    area = 0.5 * np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])
    circum = edges.prod(axis=1) / (4 * area)
    expected = np.where(obtuse, e[:, 2] / 2, circum)
    assert np.allclose(radii, expected, rtol=1e-9)
    assert obtuse.any() and (~obtuse).any()


# ---------------------------------------------------------------- on a LocalCluster
# Workers unpickle the plugin defined here by value (they cannot import a test module).
cloudpickle.register_pickle_by_value(sys.modules[__name__])


class KillOnce(distributed.WorkerPlugin):
    """Ends the worker process as it starts the first block task (once: a marker file)."""

    def __init__(self, marker):
        self.marker = marker

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and "flood-block" in str(key) and not os.path.exists(self.marker):
            pathlib.Path(self.marker).touch()
            os._exit(1)


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            dashboard_address=None,
            memory_limit="1GiB",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.mark.parametrize("rows", [100_000, 33_331])
def test_cluster_matches_single_process(client, rows):
    X = make_torus(100_000, noise=0.01, random_state=5)
    res = flood_complex(da.from_array(X, chunks=(rows, 3)), 200, random_state=1, n_threads=1)
    assert_matches(res, X)
    assert len(client.scheduler_info()["workers"]) == 2


def test_cluster_file_backed_blocks_read_only_their_chunks(client, tmp_path, capsys):
    # rows in scan order (sorted by x), as a LiDAR tile or a Morton-sorted store would be
    X = make_swiss_cheese(400_000, n_voids=6, dim=2, random_state=6)
    X = X[np.argsort(X[:, 0], kind="stable")]
    path = tmp_path / "cloud.npy"
    np.save(path, X)
    dX = read_point_cloud(path, chunks=25_000)  # its chunk tasks read their own rows
    res = flood_complex(dX, 250, random_state=2, n_threads=1, block_size=40, progress=True)
    assert "filtration, blocks" in capsys.readouterr().err  # ticks as block futures finish
    assert res.work["blocks"] >= 10
    # most blocks read under half of X and keep a few percent of what they read; none
    # holds X (the blocks of the few big simplices, around the voids, hold the most)
    assert np.median(res.work["rows_read"]) < 0.6 * len(X)
    assert np.median(res.work["halo_points"]) < 0.25 * len(X)
    assert res.work["halo_points"].max() < 0.4 * len(X)
    assert_matches(res, X)


def test_cluster_nan_names_rows(client):
    X = make_swiss_cheese(20_000, dim=2, random_state=0)
    X[17_001] = np.nan
    with pytest.raises(
        ValueError, match=r"rows 16,000-19,999 hold NaN or inf \(first at row 17,001"
    ):
        flood_complex(da.from_array(X, chunks=(4_000, 2)), 30, n_threads=1)


def test_cluster_worker_killed_during_a_block(client, tmp_path):
    X = make_torus(60_000, noise=0.01, random_state=7)
    dX = da.from_array(X, chunks=(15_000, 3))
    before = flood_complex(dX, 150, random_state=3, n_threads=1, block_size=60)
    marker = tmp_path / "killed"
    client.register_plugin(KillOnce(str(marker)), name="kill-once")
    try:
        after = flood_complex(dX, 150, random_state=3, n_threads=1, block_size=60)
    finally:
        client.unregister_worker_plugin("kill-once")
    assert marker.exists()  # a worker did die inside a block task
    for k in range(len(before.simplices)):
        assert np.array_equal(before.lower[k], after.lower[k])
        assert np.array_equal(before.upper[k], after.upper[k])
    assert np.array_equal(before.landmarks, after.landmarks)
