"""certified_bounds runs each dimension's tasks in the tree order of their corners' sites
(for the cache): the results, per simplex, are those of the given order, exactly."""

import numpy as np
import pytest

import flood._certify as certify
from flood._complex import _index, _landmarks
from flood._stages import triangulate_landmarks

#: tol relative to the cloud's scale: loose enough to take a few queries per simplex, tight
#: enough that tasks split (the split pieces are rows too)
TOL = 2e-3


@pytest.mark.parametrize("n_threads", [1, 2])
def test_tree_order_keeps_every_simplex_result(monkeypatch, n_threads):
    rng = np.random.default_rng(11)
    X = rng.random((4000, 3))
    X[:2000, 2] *= 0.05  # a slab and a cube: tasks of very different work
    Xc = X - X.mean(axis=0)
    tree, inverse = _index(Xc, "cpu")
    L, sites, values, _ = _landmarks(Xc, 0.0, tree, inverse, 120, 0)
    simplices, facets = triangulate_landmarks(L, Xc, 3)
    args = (tree, L, sites, simplices, facets, TOL)
    got = certify.certified_bounds(*args, vertex_values=values, n_threads=n_threads)
    run = certify._tree_order(sites[simplices[3]])[0]
    assert not np.array_equal(run, np.arange(len(run)))  # the order does change
    monkeypatch.setattr(certify, "_tree_order", lambda s: (np.arange(len(s)),) * 2)
    want = certify.certified_bounds(*args, vertex_values=values, n_threads=n_threads)
    for k in range(1, len(simplices)):
        np.testing.assert_array_equal(got[0][k], want[0][k])
        np.testing.assert_array_equal(got[1][k], want[1][k])
        np.testing.assert_array_equal(got[2].witness[k], want[2].witness[k])
    # the same seeds per task (each face's sites reach its cofaces): the same work
    assert got[2].queries == want[2].queries
    assert got[2].splits == want[2].splits


def test_row_max_and_tree_order_match_their_numpy_forms():
    rng = np.random.default_rng(5)
    values = rng.random(50)
    values[7] = np.nan  # a NaN row stays NaN, as with max(axis=1)
    for width in (1, 2, 3, 4):
        rows = rng.integers(0, 50, size=(200, width))
        np.testing.assert_array_equal(certify._row_max(values, rows), values[rows].max(axis=1))
        sites = rng.integers(0, 30, size=(200, width)).astype(np.int32)  # many equal keys
        run, back = certify._tree_order(sites)
        want = np.argsort(sites.min(axis=1), kind="stable")
        np.testing.assert_array_equal(run, want)
        np.testing.assert_array_equal(run[back], np.arange(200))


def test_landmark_near_given_or_computed_gives_the_same_bounds():
    rng = np.random.default_rng(3)
    X = rng.random((3000, 3))
    Xc = X - X.mean(axis=0)
    tree, inverse = _index(Xc, "cpu")
    L, sites, values, _ = _landmarks(Xc, 0.0, tree, inverse, 80, 0)
    simplices, facets = triangulate_landmarks(L, Xc, 3)
    args = (tree, L, sites, simplices, facets, TOL)
    near = certify.landmark_neighbours(tree, L, sites, n_threads=1)
    assert near.shape[0] == len(L) and (near[:, 0] == sites).all()  # each site is its nearest
    got = certify.certified_bounds(*args, vertex_values=values, landmark_near=near)
    want = certify.certified_bounds(*args, vertex_values=values)
    for k in range(1, len(simplices)):
        np.testing.assert_array_equal(got[0][k], want[0][k])
        np.testing.assert_array_equal(got[1][k], want[1][k])
    with pytest.raises(ValueError, match="landmark_near must have one row per landmark"):
        certify.certified_bounds(*args, vertex_values=values, landmark_near=near[:-1])
