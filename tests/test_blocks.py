"""The a-priori bounds on f(s) that size a dask block's halo (flood._blocks.upper_bounds)."""

from math import comb

import numpy as np
import pytest
from scipy.spatial import cKDTree

from flood._blocks import _grid_sizes, _grid_weights, enclosing_balls, upper_bounds


@pytest.mark.parametrize(("m", "k"), [(1, 1), (4, 1), (6, 2), (7, 3), (3, 4)])
def test_grid_weights_are_the_barycentric_grid(m, k):
    w = _grid_weights(m, k)
    assert w.shape == (comb(m + k, k), k + 1)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert (w >= 0).all()
    np.testing.assert_allclose(w * m, np.round(w * m), atol=1e-12)
    assert len(np.unique(np.round(w * m).astype(int), axis=0)) == len(w)


def _dense_f(corners, X, n=60000, seed=0):
    """f(s) from below by a dense random sample of conv(s) (a lower estimate of the max)."""
    rng = np.random.default_rng(seed)
    lam = rng.dirichlet(np.ones(corners.shape[1]), size=(len(corners), n // len(corners)))
    lam = np.concatenate(
        [lam, np.broadcast_to(np.eye(corners.shape[1]), (len(corners),) + (corners.shape[1],) * 2)],
        axis=1,
    )
    y = np.einsum("nwj,njd->nwd", lam, corners)
    d = cKDTree(X).query(y.reshape(-1, X.shape[1]))[0]
    return d.reshape(len(corners), -1).max(axis=1)


def test_bounds_hold_and_stay_tight_on_big_flat_simplices():
    rng = np.random.default_rng(3)
    X = rng.random((40000, 3)) * [5, 5, 1]  # a slab
    X[:8000, 2] = 0.0  # a dense floor: flat tetrahedra on it have f(s) near 0
    samples = X[rng.choice(len(X), 4000, replace=False)]
    small = X[rng.choice(len(X), (40, 4))]
    small = small[:, :1] + 0.1 * (small - small[:, :1])  # small simplices of the slab
    floor = X[:8000][rng.choice(8000, (6, 4))]  # big flat ones across the floor
    corners = np.concatenate([small, floor])
    _, radii = enclosing_balls(corners)
    assert np.median(radii) * 4 < radii[-6:].min()  # the flat ones are the big ones
    values = cKDTree(X).query(corners.reshape(-1, 3))[0].reshape(len(corners), 4)
    bound = upper_bounds(corners, radii, values, samples)
    assert (bound >= _dense_f(corners, X) - 1e-12).all()
    d_c = cKDTree(samples).query(X[:8000])[0].max()  # the samples' own cover of the floor
    # the finer grid of a big simplex keeps its slack at the median's: not ~R / 3
    assert (bound[-6:] <= d_c + 0.7 * np.median(radii)).all()
    assert (bound[-6:] < 0.35 * radii[-6:]).all()


def test_grid_sizes_grow_with_the_radius_and_stop_at_the_cap():
    radii = np.array([1.0, 1.0, 1.0, 1.0, 0.5, 2.0, 5.0, 1000.0])  # median 1
    m = _grid_sizes(radii, 3)
    np.testing.assert_array_equal(m, [6, 6, 6, 6, 6, 12, 30, 40])
    assert (_grid_sizes(np.zeros(3), 2) == 6).all()
