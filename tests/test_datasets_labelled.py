"""Labelled sets of flood.datasets: sizes, labels, targets, determinism."""

import numpy as np
import pytest

from flood.datasets import (
    make_rock,
    make_rocks_dataset,
    make_shapes_dataset,
    make_swiss_cheese,
    make_swiss_cheese_dataset,
)


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a[0], b[0], strict=True)) and np.array_equal(
        a[1], b[1]
    )


def test_swiss_cheese_dataset_labels_match_void_count():
    X, y = make_swiss_cheese_dataset(7, 3000, n_voids=(2, 6), radii=(0.4, 0.5), random_state=0)
    assert len(X) == 7 and y.shape == (7,) and y.dtype == np.int64
    assert np.bincount(y).tolist() in ([4, 3], [3, 4])
    for cloud in X:
        assert cloud.shape == (3000, 3) and cloud.dtype == np.float64
    # With big voids, fewer points fall in the middle of the box for the 6-void class: check
    # that labels really follow the void count by regenerating the clouds' void sets.
    rng = np.random.default_rng(0)
    labels = rng.permutation(np.arange(7) % 2)
    seeds = rng.integers(0, 2**32, size=7)
    np.testing.assert_array_equal(labels, y)
    for cloud, label, seed in zip(X, y, seeds, strict=True):
        pts, centres, _ = make_swiss_cheese(
            3000, n_voids=(2, 6)[label], radii=(0.4, 0.5), return_voids=True, random_state=seed
        )
        np.testing.assert_array_equal(pts, cloud)
        assert len(centres) == (2, 6)[label]


def test_swiss_cheese_dataset_determinism_and_errors():
    a = make_swiss_cheese_dataset(4, 200, random_state=5)
    assert _same(a, make_swiss_cheese_dataset(4, 200, random_state=5))
    assert not _same(a, make_swiss_cheese_dataset(4, 200, random_state=6))
    with pytest.raises(ValueError, match="'n_voids' parameter of make_swiss_cheese_dataset"):
        make_swiss_cheese_dataset(4, 200, n_voids=())
    with pytest.raises(TypeError, match="'n_voids' parameter of make_swiss_cheese_dataset"):
        make_swiss_cheese_dataset(4, 200, n_voids=10)
    with pytest.raises(ValueError, match="'n_samples' parameter .* Got 0 instead"):
        make_swiss_cheese_dataset(0, 200)


@pytest.mark.parametrize("target", ["class", "area", "volume"])
def test_rocks_dataset_targets(target):
    X, y = make_rocks_dataset(6, 300, resolution=16, target=target, random_state=1)
    assert len(X) == 6 and all(x.shape == (300, 3) for x in X)
    assert y.shape == (6,)
    if target == "class":
        assert y.dtype == np.int64 and sorted(y.tolist()) == [0, 0, 0, 1, 1, 1]
    else:
        assert y.dtype == np.float64 and np.all(y > 0)
    assert _same((X, y), make_rocks_dataset(6, 300, resolution=16, target=target, random_state=1))


def test_rocks_dataset_targets_match_make_rock():
    X, kinds = make_rocks_dataset(4, 100, resolution=16, random_state=2)
    _, area = make_rocks_dataset(4, 100, resolution=16, target="area", random_state=2)
    _, volume = make_rocks_dataset(4, 100, resolution=16, target="volume", random_state=2)
    rng = np.random.default_rng(2)
    rng.permutation(4)
    seeds = rng.integers(0, 2**32, size=4)
    for i, seed in enumerate(seeds):
        rock = make_rock(100, kind=("blob", "fractal")[kinds[i]], resolution=16, random_state=seed)
        np.testing.assert_array_equal(rock.points, X[i])
        assert rock.area == area[i] and rock.volume == volume[i]
    with pytest.raises(ValueError, match="'target' parameter of make_rocks_dataset"):
        make_rocks_dataset(2, 10, target="mass")


@pytest.mark.parametrize("dim", [2, 3])
def test_shapes_dataset(dim):
    X, y = make_shapes_dataset(8, 400, dim=dim, random_state=0)
    assert len(X) == 8 and all(x.shape == (400, dim) for x in X)
    assert sorted(y.tolist()) == [0] * 4 + [1] * 4
    for cloud, label in zip(X, y, strict=True):
        norms = np.linalg.norm(cloud, axis=1)
        # Class 0 (circle, sphere) is a unit sphere; class 1 (figure eight, torus) is not.
        assert np.allclose(norms, 1.0) == (label == 0)
    assert _same((X, y), make_shapes_dataset(8, 400, dim=dim, random_state=0))
    with pytest.raises(ValueError, match=r"'dim' parameter of make_shapes_dataset .* \[2, 3\]"):
        make_shapes_dataset(2, 10, dim=4)
