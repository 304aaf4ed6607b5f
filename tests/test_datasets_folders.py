"""Folder datasets of flood.datasets: a ModelNet-style tree and a labelled scan folder."""

import os

import joblib
import numpy as np
import pytest

from flood.datasets import (
    load_modelnet,
    load_scan_folder,
    read_mesh,
    sample_points,
    write_mesh,
    write_point_cloud,
)

TETRA = "OFF4 4 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 2 1\n3 0 1 3\n3 0 3 2\n3 1 2 3\n"
CUBE = (
    "OFF\n# unit cube, quads\n8 6 0\n"
    + "".join(f"{x} {y} {z}\n" for x in (0, 1) for y in (0, 1) for z in (0, 1))
    + "\n4 0 1 3 2\n4 4 6 7 5\n4 0 4 5 1\n4 2 3 7 6\n4 0 2 6 4\n4 1 5 7 3\n"
)


@pytest.fixture
def modelnet(tmp_path):
    """<root>/{cube,tetra}/{train,test}/*.off: 2 + 3 train meshes, 1 + 1 test meshes."""
    root = tmp_path / "ModelNetTiny"
    layout = {("cube", "train"): 2, ("cube", "test"): 1, ("tetra", "train"): 3}
    layout[("tetra", "test")] = 1
    for (name, split), count in layout.items():
        folder = root / name / split
        folder.mkdir(parents=True)
        for i in range(count):
            (folder / f"{name}_{i:04d}.off").write_text(CUBE if name == "cube" else TETRA)
    (root / "README.txt").write_text("not a class")
    return root


def test_modelnet_labels_shapes_and_geometry(modelnet):
    ds = load_modelnet(modelnet, n_points=256, normalize=False)
    assert ds.target_names == ["cube", "tetra"]
    assert ds.data.shape == (5, 256, 3) and ds.data.dtype == np.float64
    np.testing.assert_array_equal(ds.target, [0, 0, 1, 1, 1])
    assert ds.filenames[0] == "cube/train/cube_0000.off"
    for cloud, label in zip(ds.data, ds.target, strict=True):
        if label == 0:  # on the surface of the unit cube
            on_face = (np.isclose(cloud, 0, atol=1e-6) | np.isclose(cloud, 1, atol=1e-6)).any(1)
            assert on_face.all() and np.all((cloud > -1e-6) & (cloud < 1 + 1e-6))
        else:  # on the tetrahedron's boundary: a coordinate is 0 or x + y + z = 1
            on_face = np.isclose(cloud, 0, atol=1e-6).any(1) | np.isclose(cloud.sum(1), 1, 1e-5)
            assert on_face.all()
    # Identical meshes at different paths get different samples.
    assert not np.array_equal(ds.data[0], ds.data[1])
    test = load_modelnet(modelnet, split="test", n_points=32, return_X_y=True)
    assert test[0].shape == (2, 32, 3) and test[1].tolist() == [0, 1]


def test_modelnet_cache_is_written_reused_and_refreshed(modelnet, tmp_path):
    cache_dir = tmp_path / "cache"
    first = load_modelnet(modelnet, n_points=64, cache_dir=cache_dir, random_state=3)
    files = sorted(cache_dir.rglob("*.npz"))
    assert len(files) == 5
    # The cache is read back: tamper with one entry and see the tampered points come out.
    target = cache_dir / "uniform_64_3" / "cube" / "train" / "cube_0000.off.npz"
    with np.load(target) as cached:
        stamp, points = cached["stamp"], cached["points"]
    np.savez(target, points=np.zeros_like(points) + 7, stamp=stamp)
    again = load_modelnet(modelnet, n_points=64, cache_dir=cache_dir, random_state=3)
    assert np.all(again.data[0] == 0)  # a constant cloud, centred
    np.testing.assert_array_equal(again.data[1:], first.data[1:])
    # Without the cache, the same seed gives the same (float32-rounded) points.
    fresh = load_modelnet(modelnet, n_points=64, cache=False, random_state=3)
    np.testing.assert_array_equal(fresh.data, first.data)
    # A modified source file invalidates its entry.
    mesh = modelnet / "cube" / "train" / "cube_0000.off"
    mesh.write_text(CUBE + "\n")
    os.utime(mesh, ns=(10**18, 10**18))
    refreshed = load_modelnet(modelnet, n_points=64, cache_dir=cache_dir, random_state=3)
    np.testing.assert_array_equal(refreshed.data, first.data)
    # The default cache folder lives under root; other seeds and sizes get their own entries.
    load_modelnet(modelnet, n_points=16, random_state=4, classes=["tetra"])
    assert len(list((modelnet / "_flood_cache" / "uniform_16_4").rglob("*.npz"))) == 3
    # A non-int random_state never touches the cache.
    load_modelnet(modelnet, n_points=8, random_state=np.random.default_rng(0), cache_dir=tmp_path)
    assert not list(tmp_path.glob("uniform_8_*"))


def test_modelnet_determinism_classes_normalize_and_jobs(modelnet):
    kw = {"n_points": 100, "cache": False}
    a = load_modelnet(modelnet, random_state=0, **kw)
    np.testing.assert_array_equal(a.data, load_modelnet(modelnet, random_state=0, **kw).data)
    assert not np.array_equal(a.data, load_modelnet(modelnet, random_state=1, **kw).data)
    # Normalized clouds are centred and fit in the unit ball, touching its boundary.
    np.testing.assert_allclose(a.data.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(a.data, axis=2).max(axis=1), 1.0)
    # A class subset: labels follow the given order; a mesh keeps its points.
    sub = load_modelnet(modelnet, classes=["tetra"], random_state=0, **kw)
    assert sub.target_names == ["tetra"] and sub.target.tolist() == [0, 0, 0]
    np.testing.assert_array_equal(sub.data, a.data[2:])
    with joblib.parallel_config(backend="threading"):  # no process start-up in tests
        par = load_modelnet(modelnet, random_state=0, n_jobs=2, **kw)
    np.testing.assert_array_equal(par.data, a.data)
    pois = load_modelnet(modelnet, method="poisson", random_state=0, **kw)
    assert pois.data.shape == (5, 100, 3)


def test_modelnet_errors(modelnet, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"does not exist\. .*modelnet\.cs\.princeton"):
        load_modelnet(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"holds no class folders .* Did you mean .*ModelNetTiny"):
        load_modelnet(tmp_path)
    with pytest.raises(ValueError, match=r"'classes' parameter .* \(cube, tetra\)\. Got \['sofa'"):
        load_modelnet(modelnet, classes=["sofa"])
    with pytest.raises(ValueError, match="'split' parameter of load_modelnet"):
        load_modelnet(modelnet, split="val")
    (modelnet / "cube" / "train" / "cube_0000.off").write_text("OFF\n8 6 0\n0 0 0\n")
    with pytest.raises(ValueError, match=r"cube_0000\.off: truncated file"):
        load_modelnet(modelnet, cache=False)


def test_scan_folder(tmp_path):
    rng = np.random.default_rng(0)
    clouds = {name: rng.random((20 + i, 3)) for i, name in enumerate(["a.xyz", "b.npy", "c.ply"])}
    for name, cloud in clouds.items():
        write_point_cloud(tmp_path / name, cloud)
    write_mesh(tmp_path / "d.off", np.eye(3), [[0, 1, 2]])
    (tmp_path / "labels.csv").write_text(
        "filename,label\n\n# comment\na.xyz,granite\nb.npy, basalt\nc.ply,granite\n"
    )
    ds = load_scan_folder(tmp_path)
    assert ds.filenames == ["a.xyz", "b.npy", "c.ply"]
    assert ds.target.tolist() == [1, 0, 1] and ds.target_names == ["basalt", "granite"]
    for name, cloud in zip(ds.filenames, ds.data, strict=True):
        np.testing.assert_allclose(cloud, clouds[name])
    # Integer labels, no header, a mesh, subsampling; deterministic.
    (tmp_path / "ints.csv").write_text("a.xyz,3\nd.off,1\n")
    X, y = load_scan_folder(tmp_path, "ints.csv", n_points=10, random_state=0, return_X_y=True)
    assert y.dtype == np.int64 and y.tolist() == [3, 1]
    assert [x.shape for x in X] == [(10, 3), (10, 3)]
    assert all(any(np.allclose(p, q) for q in clouds["a.xyz"]) for p in X[0])
    np.testing.assert_allclose(X[1].sum(axis=1), 1.0)  # on the triangle x + y + z = 1
    X2, _ = load_scan_folder(tmp_path, "ints.csv", n_points=10, random_state=0, return_X_y=True)
    np.testing.assert_array_equal(X[0], X2[0])
    np.testing.assert_array_equal(X[1], X2[1])
    # Float labels are regression targets; an absolute CSV path works.
    (tmp_path / "areas.csv").write_text("file,area\nb.npy,0.5\nc.ply,2.25\n")
    assert load_scan_folder(tmp_path, tmp_path / "areas.csv").target.tolist() == [0.5, 2.25]


def test_scan_folder_errors(tmp_path):
    write_point_cloud(tmp_path / "a.xyz", np.zeros((5, 3)))
    write_mesh(tmp_path / "m.off", np.eye(3), [[0, 1, 2]])
    with pytest.raises(FileNotFoundError, match="Scan folder .* does not exist"):
        load_scan_folder(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"Labels file .*labels\.csv' does not exist"):
        load_scan_folder(tmp_path)
    cases = {
        "a.xyz,1\nmissing.xyz,2\n": r"line 2 names 'missing\.xyz', not a file",
        "a.xyz\n": r"line 1 must hold 'filename,label'",
        "filename,label\n": r"no 'filename,label' rows found",
        "m.off,1\n": r"'n_points' parameter of load_scan_folder must be an int when",
    }
    for text, match in cases.items():
        (tmp_path / "labels.csv").write_text(text)
        with pytest.raises(ValueError, match=match):
            load_scan_folder(tmp_path)
    (tmp_path / "labels.csv").write_text("a.xyz,1\n")
    with pytest.raises(ValueError, match=r"a\.xyz: has 5 points, fewer than n_points=6"):
        load_scan_folder(tmp_path, n_points=6)


def test_modelnet_matches_direct_sampling(modelnet):
    """The loader is read_mesh + sample_points with the documented per-file seed."""
    import zlib

    ds = load_modelnet(modelnet, n_points=50, normalize=False, cache=False, random_state=9)
    rel = "tetra/train/tetra_0002.off"
    rng = np.random.default_rng([9, zlib.crc32(rel.encode())])
    direct = sample_points(read_mesh(modelnet / rel), 50, random_state=rng).astype(np.float32)
    np.testing.assert_array_equal(ds.data[ds.filenames.index(rel)], direct)
