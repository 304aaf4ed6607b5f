"""tol=0 gives the exact Flood filtration; certificates on clustered clouds and on landmarks
that are not points of X; the work counters."""

from itertools import product

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.spatial import cKDTree

from flood import flood_complex
from flood.datasets import make_swiss_cheese, make_torus


def d_X(X, Y):
    """d_X at each row of Y, by brute force."""
    Y = np.atleast_2d(Y)
    return np.sqrt(((Y[:, None, :] - X[None]) ** 2).sum(-1).min(axis=1))


def grid(k, n):
    """Barycentric grid with n + 1 points per edge of a k-simplex."""
    g = np.array([c for c in product(range(n + 1), repeat=k) if sum(c) <= n], dtype=float)
    return np.c_[n - g.sum(axis=1), g] / n


def refined_max(X, vertices, n_grid, n_starts=12, n_near=16):
    """Dense-grid maximum of d_X over conv(vertices), refined by local optimization: from
    each of the best grid points, maximize t subject to |y - x| >= t for its nearest points
    x and y in the simplex (SLSQP), then evaluate d_X exactly at the optimum."""
    k = len(vertices) - 1
    lam = grid(k, n_grid)
    values = d_X(X, lam @ vertices)
    best = float(values.max())
    for i in np.argsort(values)[-n_starts:]:
        y0 = lam[i] @ vertices
        near = X[np.argsort(((X - y0) ** 2).sum(1))[:n_near]]

        def y_of(z):
            return np.r_[1 - z[:k].sum(), z[:k]] @ vertices

        cons = [
            {"type": "ineq", "fun": lambda z, p=near: ((y_of(z) - p) ** 2).sum(1) - z[k] ** 2},
            {"type": "ineq", "fun": lambda z: np.r_[z[:k], 1 - z[:k].sum()]},
        ]
        z0 = np.r_[lam[i][1:], values[i]]
        sol = minimize(lambda z: -z[k], z0, constraints=cons, method="SLSQP",
                       options={"ftol": 1e-15, "maxiter": 500})  # fmt: skip
        z = sol.x
        bary = np.clip(np.r_[1 - z[:k].sum(), z[:k]], 0, None)
        best = max(best, float(d_X(X, (bary / bary.sum()) @ vertices)[0]))
    return best


@pytest.mark.parametrize("dim, n_landmarks", [(2, 12), (3, 10)])
def test_tol_zero_is_the_exact_filtration(device, dim, n_landmarks):
    rng = np.random.default_rng(dim)
    X = rng.uniform(size=(250, dim))
    res = flood_complex(X, n_landmarks, tol=0.0, random_state=0, device=device)
    assert res.max_gap <= 1e-9
    L = res.landmarks
    n_grid = {1: 400, 2: 60, 3: 24}
    for k in range(1, len(res.simplices)):
        for i, s in enumerate(res.simplices[k]):
            ref = refined_max(X, L[s], n_grid[k])
            # upper bounds the true maximum, which is >= ref; the exact value equals ref
            assert res.upper[k][i] >= ref - 1e-12, (k, i)
            assert res.upper[k][i] - ref <= 1e-9, (k, i, res.upper[k][i] - ref)
            assert res.lower[k][i] <= ref + 1e-12, (k, i)


def dense_upper_check(X, res, n_by_dim, rng):
    """Every certificate holds at dense points, and lower is attained up to grid spacing."""
    assert res.max_gap <= res.tol * (1 + 1e-9)
    L = res.landmarks
    for k in range(1, len(res.simplices)):
        lam = np.concatenate([grid(k, n_by_dim[k]), rng.dirichlet(np.ones(k + 1), 300)])
        for i, s in enumerate(res.simplices[k]):
            v = L[s]
            dm = float(d_X(X, lam @ v).max())
            assert dm <= res.upper[k][i] + 1e-9, (k, i)
            spacing = np.linalg.norm(v[:, None] - v[None], axis=2).max() / n_by_dim[k]
            assert res.lower[k][i] <= dm + spacing + 1e-9, (k, i)


def test_certificates_on_clustered_clouds(device):
    rng = np.random.default_rng(5)
    centres = rng.uniform(-1, 1, size=(6, 3))
    X = np.concatenate([rng.normal(c, s, size=(120, 3)) for c, s in zip(centres, [0.01, 0.02,
                        0.05, 0.1, 0.2, 0.02])])  # fmt: skip
    res = flood_complex(X, 16, random_state=1, device=device)
    dense_upper_check(X, res, {1: 150, 2: 30, 3: 12}, rng)


@pytest.mark.parametrize("dim", [2, 3])
def test_certificates_with_landmarks_not_in_X(device, dim):
    rng = np.random.default_rng(9 + dim)
    X = rng.normal(size=(400, dim))
    landmarks = rng.uniform(-1.5, 1.5, size=(12, dim))
    res = flood_complex(X, landmarks, random_state=0, device=device)
    assert res.landmark_indices is None
    np.testing.assert_allclose(res.lower[0], d_X(X, landmarks), atol=1e-12)
    dense_upper_check(X, res, {1: 150, 2: 30, 3: 12}, rng)


@pytest.mark.parametrize("kind", ["torus", "cheese"])
def test_certificates_on_surface_and_volume_clouds_with_pieces(device, kind):
    """Big enough that tasks overflow their fixed arrays and are split into pieces."""
    if kind == "torus":
        X = make_torus(20_000, random_state=0)
    else:
        X = make_swiss_cheese(20_000, random_state=0)
    res = flood_complex(X, 40, random_state=0, device=device)
    index = cKDTree(X)  # an independent oracle for d_X at many points
    assert sum(res.work["splits"].values()) > 0
    assert max(res.work["max_sites"].values()) > 8
    rng = np.random.default_rng(0)
    sample = {k: rng.choice(len(s), min(len(s), 25), replace=False)
              for k, s in enumerate(res.simplices) if k}  # fmt: skip
    assert res.max_gap <= res.tol * (1 + 1e-9)
    for k, rows in sample.items():
        lam = np.concatenate([grid(k, {1: 200, 2: 30, 3: 10}[k]), rng.dirichlet(np.ones(k + 1),
                              200)])  # fmt: skip
        for i in rows:
            dm = float(index.query(lam @ res.landmarks[res.simplices[k][i]])[0].max())
            assert dm <= res.upper[k][i] + 1e-9, (k, i)
    # evaluations: mean k-nearest queries per simplex, positive and counted per dimension
    assert set(res.evaluations) == {1, 2, 3}
    assert all(v > 0 for v in res.evaluations.values())


@pytest.mark.parametrize("dim, n_points, n_landmarks", [(4, 800, 14), (5, 600, 12), (6, 400, 10)])
def test_certificates_in_higher_dimensions(device, dim, n_points, n_landmarks):
    rng = np.random.default_rng(dim)
    X = rng.normal(size=(n_points, dim))
    res = flood_complex(X, n_landmarks, random_state=0, device=device)
    assert res.max_gap <= res.tol * (1 + 1e-9)
    assert len(res.simplices[dim])  # full-dimensional simplices were bounded
    for k in range(1, len(res.simplices)):
        rows = rng.choice(len(res.simplices[k]), min(len(res.simplices[k]), 10), replace=False)
        lam = rng.dirichlet(np.ones(k + 1), 3000)
        for i in rows:
            dm = float(d_X(X, lam @ res.landmarks[res.simplices[k][i]]).max())
            assert dm <= res.upper[k][i] + 1e-9, (k, i)
        assert np.all(res.lower[k] <= res.filtration[k])
