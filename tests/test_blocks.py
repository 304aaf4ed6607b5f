"""The a-priori bounds on f(s) that size a dask block's halo (flood._blocks.upper_bounds):
valid against a dense evaluation, and tight on big flat simplices."""

import numpy as np
from scipy.spatial import cKDTree

from flood._blocks import enclosing_balls, upper_bounds


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
    # f_C of a flat simplex on the floor is about the samples' cover of it (within the
    # floor's spacing, ~0.06, and the bound's gap); a grid bound was ~R / 3 looser
    assert (bound[-6:] <= d_c + 0.06 + 0.05 * np.median(radii)).all()
    assert (bound[-6:] < radii[-6:] / 3).all()  # below a 6-interval grid's slack alone


def test_bounds_fall_back_to_the_vertex_bound_without_samples():
    rng = np.random.default_rng(4)
    corners = rng.random((10, 4, 3))
    _, radii = enclosing_balls(corners)
    values = rng.random((10, 4)) * 0.01
    bound = upper_bounds(corners, radii, values, np.zeros((0, 3)))
    np.testing.assert_allclose(bound, radii + values.max(axis=1))
