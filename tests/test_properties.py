"""The mathematics under hypothesis: monotone, certified, invariant, covariant, stable."""

import gudhi
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flood import flood_complex
from flood._delaunay import facet_index

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True)


@st.composite
def clouds(draw, dims=(2, 3)):
    """A small cloud (20-80 points, uniform or clustered) in R^2 or R^3, and a landmark count."""
    dim = draw(st.sampled_from(dims))
    n = draw(st.integers(20, 80))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    if draw(st.booleans()):
        X = rng.uniform(-1, 1, size=(n, dim))
    else:
        centers = rng.uniform(-1, 1, size=(3, dim))
        X = centers[rng.integers(0, 3, n)] + rng.normal(0, 0.15, size=(n, dim))
    return X, draw(st.integers(max(6, dim + 1), 12)), seed


def run(X, landmarks, **kw):
    return flood_complex(X, landmarks, device="cpu", random_state=0, **kw)


def brute_dX(X, Y):
    return np.sqrt(((Y[:, None, :] - X[None]) ** 2).sum(-1).min(axis=1))


def bottleneck(a, b):
    return max(gudhi.bottleneck_distance(p, q) for p, q in zip(a, b))


@SETTINGS
@given(clouds())
def test_face_le_coface_and_certificates_contain_dense_evaluation(case):
    X, m, seed = case
    res = run(X, m)
    assert res.max_gap <= res.tol * (1 + 1e-9)
    rng = np.random.default_rng(seed)
    for k in range(1, len(res.simplices)):
        if k >= 2:
            fi = facet_index(res.simplices[k], res.simplices[k - 1], len(res.landmarks))
            assert np.all(res.filtration[k - 1][fi] <= res.filtration[k][:, None])
            assert np.all(res.lower[k - 1][fi] <= res.lower[k][:, None])
        assert np.all(res.lower[k] <= res.filtration[k])
        assert np.all(res.filtration[k] <= res.upper[k])
        lam = rng.dirichlet(np.ones(k + 1), size=(len(res.simplices[k]), 200))
        Y = np.einsum("snk,skd->snd", lam, res.landmarks[res.simplices[k]])
        dense = brute_dX(X, Y.reshape(-1, X.shape[1])).reshape(len(Y), -1).max(axis=1)
        assert np.all(dense <= res.upper[k] + 1e-9)


@SETTINGS
@given(clouds(), st.data())
def test_invariance_under_permutation_translation_rotation(case, data):
    X, m, seed = case
    rng = np.random.default_rng(seed)
    ref = run(X, m, tol=1e-3)
    L = ref.landmarks
    q, _ = np.linalg.qr(rng.normal(size=(X.shape[1],) * 2))
    shift = rng.uniform(-50, 50, size=X.shape[1])
    perm = rng.permutation(len(X))
    for Y, LY in ((X[perm], L), (X + shift, L + shift), (X @ q.T, L @ q.T)):
        other = run(Y, LY, tol=1e-3)
        assert bottleneck(ref.diagrams(), other.diagrams()) <= 2e-3 + 1e-9


@SETTINGS
@given(clouds(), st.floats(0.01, 100.0))
def test_scale_covariance(case, c):
    X, m, _ = case
    a = run(X, m, tol=1e-3)
    b = run(c * X, m, tol=1e-3 * c)
    np.testing.assert_array_equal(a.landmark_indices, b.landmark_indices)
    for fa, fb in zip(a.filtration, b.filtration):
        np.testing.assert_allclose(fb, c * fa, atol=2e-3 * c)


@SETTINGS
@given(clouds(), st.floats(1e-4, 0.05))
def test_stability_for_fixed_landmarks(case, size):
    X, m, seed = case
    rng = np.random.default_rng(seed)
    step = rng.normal(size=X.shape)
    step *= size / np.linalg.norm(step, axis=1, keepdims=True) * rng.uniform(0, 1, (len(X), 1))
    Y = X + step
    hausdorff = max(brute_dX(Y, X).max(), brute_dX(X, Y).max())
    ref = run(X, m, tol=1e-3)
    other = run(Y, ref.landmarks, tol=1e-3)
    assert bottleneck(ref.diagrams(), other.diagrams()) <= hausdorff + 2e-3 + 1e-9


@SETTINGS
@given(clouds())
def test_float32_input_agrees_with_float64(case):
    X, m, _ = case
    X32 = X.astype(np.float32)
    a = run(X32, m, tol=1e-3)
    b = run(X32.astype(np.float64), m, tol=1e-3)
    c = run(X, a.landmarks.astype(np.float32).astype(np.float64), tol=1e-3)
    for fa, fb in zip(a.filtration, b.filtration):
        np.testing.assert_array_equal(fa, fb)
    # rounding X to float32 moves it by <= 1e-7 relative: a perturbation, far below tol
    assert bottleneck(a.diagrams(), c.diagrams()) <= 2e-3 + 1e-6
