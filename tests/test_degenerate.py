"""Degenerate geometry: duplicates, flat clouds and landmarks, huge offsets and tiny scales."""

import warnings

import gudhi
import numpy as np
import pytest
from scipy.spatial import QhullError

import flood._delaunay as delaunay
from flood import flood_complex
from flood._delaunay import triangulate


def brute_dX(X, Y):
    d2 = ((Y[:, None, :] - X[None]) ** 2).sum(-1)
    return np.sqrt(d2.min(axis=1))


def dense_max(X, vertices, n=40, rng=None):
    rng = np.random.default_rng(0) if rng is None else rng
    lam = rng.dirichlet(np.ones(len(vertices)), size=n * len(vertices) ** 2)
    return brute_dX(X, np.r_[lam @ vertices, vertices]).max()


def run(X, landmarks=8, **kw):
    return flood_complex(X, landmarks, device="cpu", random_state=0, **kw)


def assert_certified(res, X):
    for k in range(1, len(res.simplices)):
        for s, lo, up in zip(res.simplices[k], res.lower[k], res.upper[k]):
            assert dense_max(X, res.landmarks[s]) <= up + 1e-9
            assert lo <= up


def test_duplicate_points_give_distinct_landmarks_with_a_warning():
    rng = np.random.default_rng(0)
    base = rng.uniform(size=(6, 3))
    X = np.repeat(base, 20, axis=0)[rng.permutation(120)]
    with pytest.warns(UserWarning, match=r"points holds 9 landmarks but only 6 distinct points"):
        res = run(X, 9)
    assert len(res.landmarks) == 6
    assert len(np.unique(res.landmarks, axis=0)) == 6
    h0 = res.diagrams((0,))[0]
    assert np.isinf(h0[:, 1]).sum() == 1  # no isolated duplicate vertices
    ref = run(base, 6, tol=res.tol)
    for a, b in zip(res.diagrams(), ref.diagrams()):
        assert gudhi.bottleneck_distance(a, b) <= res.tol + 1e-12


@pytest.mark.parametrize("method", ["certified", "grid"])
def test_all_points_equal_give_one_vertex(method):
    X = np.full((50, 3), 2.5)
    with pytest.warns(UserWarning, match=r"only 1 distinct points"):
        res = run(X, 10, method=method)
    assert res.n_simplices == [1, 0, 0, 0]
    h0, h1, h2 = res.diagrams()
    np.testing.assert_array_equal(h0, [[0.0, np.inf]])
    assert len(h1) == len(h2) == 0


@pytest.mark.parametrize("method", ["certified", "grid"])
def test_collinear_cloud_in_3d_equals_the_1d_computation(method):
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 5, size=200))
    direction = np.array([1.0, 2.0, -2.0]) / 3.0
    X = 7.0 + t[:, None] * direction
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # X itself is flat: no warning
        res = run(X, 12, method=method)
    assert res.n_simplices[2:] == [0, 0] and res.n_simplices[1] == 11
    ref = flood_complex(t[:, None], t[res.landmark_indices][:, None], device="cpu", method=method)
    for a, b in zip(res.diagrams((0,)), ref.diagrams((0,))):
        np.testing.assert_allclose(a, b, atol=1e-9 if method == "grid" else res.tol)


def rotation(seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return q


@pytest.mark.parametrize("method", ["certified", "grid"])
def test_coplanar_cloud_in_3d_equals_the_2d_computation(method):
    rng = np.random.default_rng(2)
    Y = rng.uniform(size=(300, 2))
    X = np.c_[Y, np.zeros(300)] @ rotation(0).T + [3.0, -1.0, 2.0]
    res = run(X, 14, method=method)
    assert res.n_simplices[3] == 0 and res.n_simplices[2] > 0
    tol = res.tol if method == "certified" else None
    ref = flood_complex(Y, Y[res.landmark_indices], device="cpu", method=method, tol=tol)
    assert [len(s) for s in ref.simplices] == res.n_simplices[:3]
    bound = 1e-9 if method == "grid" else res.tol + 1e-12
    for a, b in zip(res.diagrams((0, 1)), ref.diagrams((0, 1))):
        assert gudhi.bottleneck_distance(a, b) <= bound
    if method == "certified":
        assert_certified(res, X)


def test_nearly_flat_cloud_is_triangulated_in_its_plane():
    rng = np.random.default_rng(3)
    X = np.c_[rng.uniform(size=(200, 2)), 1e-13 * rng.normal(size=200)]
    res = run(X, 10)
    assert res.n_simplices[3] == 0 and res.max_gap <= res.tol * (1 + 1e-9)


def test_flat_landmarks_in_a_full_cloud_warn_and_stay_certified():
    rng = np.random.default_rng(4)
    X = rng.uniform(-1, 1, size=(400, 3))
    L = np.c_[rng.uniform(-1, 1, size=(9, 2)), np.zeros(9)]
    with pytest.warns(
        UserWarning, match=r"landmarks lie in a 2-D affine subspace while the points"
    ):
        res = run(X, L)
    assert res.n_simplices[3] == 0 and res.n_simplices[2] > 0
    np.testing.assert_allclose(res.filtration[0], brute_dX(X, L), atol=1e-12)
    assert_certified(res, X)


def test_cospherical_grid_landmarks_are_all_vertices():
    g = np.stack(np.meshgrid(*[np.arange(3.0)] * 3), -1).reshape(-1, 3)
    res = run(g, g)
    assert np.all(np.bincount(res.simplices[1].ravel(), minlength=27) > 0)
    assert np.isinf(res.diagrams((0,))[0][:, 1]).sum() == 1


def test_nearly_coincident_landmarks_fall_back_to_joggle():
    rng = np.random.default_rng(5)
    L = rng.uniform(size=(20, 3))
    L = np.r_[L, L[:1] + 1e-15]
    with pytest.warns(UserWarning, match=r"joggled input \(QJ\)"):
        simplices, rank = triangulate(L, 3)
    assert rank == 3 and len(np.unique(simplices[3])) == 21


def test_qhull_failure_is_a_value_error(monkeypatch):
    def broken(*args, **kwargs):
        raise QhullError("QH6154 Qhull precision error: Initial simplex is flat\nmore")

    monkeypatch.setattr(delaunay, "Delaunay", broken)
    with pytest.warns(UserWarning, match=r"Qhull failed \(QH6154"):
        with pytest.raises(ValueError, match=r"the 20 landmarks could not be triangulated"):
            triangulate(np.random.default_rng(0).uniform(size=(20, 3)), 3)


@pytest.mark.parametrize("dim", [2, 3])
def test_huge_offset_equals_the_translated_cloud(dim):
    X = np.random.default_rng(dim).uniform(size=(300, dim))
    a = run(X, 12, tol=1e-4)
    b = run(X + 1e6, 12, tol=1e-4)
    np.testing.assert_array_equal(a.landmark_indices, b.landmark_indices)
    for fa, fb in zip(a.filtration, b.filtration):
        np.testing.assert_allclose(fa, fb, atol=1e-4 + 1e-8)


@pytest.mark.parametrize("scale", [1e-6, 1e5])
def test_tiny_and_huge_scales_rescale_the_filtration(scale):
    X = np.random.default_rng(7).uniform(size=(300, 3))
    a = run(X, 12)
    b = run(scale * X, 12)
    assert b.tol == pytest.approx(scale * a.tol, rel=1e-9)
    np.testing.assert_array_equal(a.landmark_indices, b.landmark_indices)
    for fa, fb in zip(a.filtration, b.filtration):
        np.testing.assert_allclose(fb / scale, fa, atol=a.tol)
    assert b.max_gap <= b.tol * (1 + 1e-9)
