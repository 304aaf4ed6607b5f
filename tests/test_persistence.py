"""Diagrams without a SimplexTree (:mod:`flood._persistence`) against gudhi's, and the
one-thread kernels (:mod:`flood.kernels._persistence`, :mod:`flood.kernels._reduction`)
against their plain-Python references.

gudhi is the reference: its SimplexTree of the same simplices and values, persistence with
its defaults (Z/11, pairs of positive persistence). The pairs must be equal as multisets of
floats, exactly, on flood's own filtrations and on random monotone ones with many ties
(between simplices of one dimension and between faces and cofaces), in 1-D, 2-D and 3-D,
on flat, tiny and cospherical landmarks.
"""

import pickle

import gudhi
import numpy as np
import pytest

from flood import flood_complex
from flood._delaunay import triangulate_with_facets
from flood._persistence import diagram_pairs
from flood.kernels._persistence import (
    cofaces,
    cofaces_reference,
    merge_cells,
    merge_cells_reference,
    merge_components,
    merge_components_reference,
)
from flood.kernels._reduction import reduce_columns, reduce_columns_reference


def gudhi_pairs(simplices, filtration, dims):
    st = gudhi.SimplexTree()
    for s, f in zip(simplices, filtration):
        if len(s):
            st.insert_batch(np.ascontiguousarray(s.T, dtype=np.int32), f)
    st.compute_persistence(persistence_dim_max=True)
    return {q: np.asarray(st.persistence_intervals_in_dimension(q)).reshape(-1, 2) for q in dims}


def sorted_rows(d):
    d = np.asarray(d, dtype=np.float64).reshape(-1, 2)
    return d[np.lexsort((d[:, 1], d[:, 0]))]


def assert_same_pairs(simplices, filtration, landmarks, dims):
    fast = diagram_pairs(simplices, filtration, landmarks, dims)
    assert fast is not None, "the walks should apply"
    ref = gudhi_pairs(simplices, filtration, dims)
    for q in dims:
        np.testing.assert_array_equal(sorted_rows(fast[q]), sorted_rows(ref[q]), err_msg=f"H{q}")
    return fast


def random_filtration(simplices, facets, rng, levels):
    """Monotone values on ``levels`` steps: ties within a dimension, and faces entering
    with their cofaces (a third of the time a simplex takes its faces' largest value)."""
    step = 1.0 / levels
    values = [rng.integers(0, 3, len(simplices[0])) * step]
    for k in range(1, len(simplices)):
        faces = (
            values[0][simplices[1]].max(axis=1)
            if k == 1
            else values[k - 1][facets[k]].max(axis=1, initial=0.0)
        )
        bump = rng.integers(0, levels, len(simplices[k])) * step
        values.append(np.where(rng.uniform(size=len(bump)) < 1 / 3, faces, faces + bump))
    return values


def _clouds():
    rng = np.random.default_rng(11)
    grid = np.stack(np.meshgrid(*[np.arange(4.0)] * 3), -1).reshape(-1, 3)
    rot = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    return {
        "uniform3d": rng.uniform(size=(300, 3)),
        "shells3d": np.r_[rng.normal(size=(200, 3)), 3 * rng.normal(size=(100, 3))],
        "uniform2d": rng.uniform(size=(150, 2)),
        "line1d": rng.uniform(size=(40, 1)),
        "grid3d": grid,
        "coplanar3d": np.c_[rng.uniform(size=(60, 2)), np.zeros(60)] @ rot,
        "collinear3d": np.outer(rng.uniform(size=30), [1.0, -2.0, 0.5]),
        "four points": rng.uniform(size=(4, 3)),
        "two points": rng.uniform(size=(2, 3)),
    }


CLOUDS = _clouds()


@pytest.mark.parametrize("name", sorted(CLOUDS))
@pytest.mark.parametrize("levels", [4, 1000])
def test_random_monotone_filtrations_give_gudhis_pairs(name, levels):
    L = CLOUDS[name]
    dim = L.shape[1]
    simplices, facets, _ = triangulate_with_facets(L, dim)
    dims = tuple(range(dim + 1))
    for seed in range(3):
        values = random_filtration(simplices, facets, np.random.default_rng(seed), levels)
        assert_same_pairs(simplices, values, L, dims)


@pytest.mark.parametrize("dim", [2, 3])
def test_flood_filtrations_give_gudhis_pairs(dim):
    rng = np.random.default_rng(dim)
    X = np.r_[rng.normal(size=(1500, dim)), rng.uniform(-3, 3, size=(500, dim))]
    for landmarks, method in ((200, "certified"), (60, "grid")):
        res = flood_complex(X, landmarks, method=method, random_state=0, device="cpu")
        fast = assert_same_pairs(res.simplices, res.filtration, res.landmarks, range(dim))
        assert sum(len(p) for p in fast.values()) > 10  # enough pairs that it means something
        rounded = [np.round(f, 2) for f in res.filtration]  # monotone: many ties
        assert_same_pairs(res.simplices, rounded, res.landmarks, range(dim))


def test_diagrams_skip_the_tree_and_equal_the_trees_diagrams():
    X = np.random.default_rng(0).normal(size=(2000, 3))
    res = flood_complex(X, 150, random_state=0, device="cpu")
    fast = res.diagrams(min_persistence=1e-3)
    assert res._tree is None  # no SimplexTree was built
    res._intervals.clear()
    res.simplex_tree()  # built now: diagrams read it
    slow = res.diagrams(min_persistence=1e-3)
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)  # same order too: most persistent first
    assert np.all(np.diff(fast[1][:, 1] - fast[1][:, 0]) <= 0)


def test_the_walks_decline_what_they_cannot_answer():
    rng = np.random.default_rng(4)
    L = rng.normal(size=(30, 3))
    simplices, facets, _ = triangulate_with_facets(L, 2)  # a 2-skeleton of a 3-ball
    values = random_filtration(simplices, facets, rng, 50)
    assert diagram_pairs(simplices, values, L, (0, 1, 2)) is None
    assert_same_pairs(simplices, values, L, (0,))  # H0 needs only the edges
    simplices, facets, _ = triangulate_with_facets(L, 3)
    values = random_filtration(simplices, facets, rng, 50)
    values[1] = values[1].copy()
    values[1][0] = -1.0  # an edge before its vertices: not a filtration
    assert diagram_pairs(simplices, values, L, (0, 1, 2)) is None
    L5 = rng.normal(size=(12, 5))
    simplices, facets, _ = triangulate_with_facets(L5, 5)
    values = random_filtration(simplices, facets, rng, 50)
    assert diagram_pairs(simplices, values, L5, (1,)) is None  # H1 of a 5-ball: gudhi's
    assert_same_pairs(simplices, values, L5, (0, 4))


def test_a_5d_result_falls_back_to_gudhi():
    X = np.random.default_rng(5).normal(size=(400, 5))
    res = flood_complex(X, 14, random_state=0, device="cpu")
    dgms = res.diagrams()
    assert res._tree is not None and len(dgms) == 5


def test_merge_components_equals_its_reference():
    rng = np.random.default_rng(2)
    for larger_is_elder in (False, True):
        edges = rng.integers(0, 60, size=(200, 2))
        births = rng.integers(0, 5, 60).astype(float)
        order = rng.permutation(200)
        if larger_is_elder:
            merges, killed = merge_cells(edges, order, births)
            ref = merge_cells_reference(edges, order, births)
        else:
            merges, killed, roots = merge_components(edges, order, births)
            ref = merge_components_reference(edges, order, births)
            assert sorted(births[roots]) == sorted(births[ref[2]])
        np.testing.assert_array_equal(merges, ref[0])
        np.testing.assert_array_equal(killed, ref[1])  # ties broken alike: same values


def test_cofaces_equal_their_reference():
    facets = np.random.default_rng(3).integers(0, 40, size=(30, 4))
    out, overfull = cofaces(facets, 41)
    ref, ref_overfull = cofaces_reference(facets, 41)
    np.testing.assert_array_equal(out, ref)
    assert overfull == ref_overfull > 0


@pytest.mark.parametrize("field", [2, 11])
def test_reduce_columns_equals_its_reference(field):
    rng = np.random.default_rng(6)
    n_rows = 80
    columns = np.full((150, 3), -1, dtype=np.int64)
    for j in range(len(columns)):  # one to three distinct rows, decreasing
        k = rng.integers(1, 4)
        columns[j, :k] = np.sort(rng.choice(n_rows, size=k, replace=False))[::-1]
    signs = rng.choice([-1, 1, 2], size=columns.shape)
    pivot = reduce_columns(columns, signs, n_rows, field)
    np.testing.assert_array_equal(pivot, reduce_columns_reference(columns, signs, n_rows, field))
    assert np.sum(pivot >= 0) > 50 and np.sum(pivot < 0) > 10  # both kinds happen


def test_h1_pairs_are_over_gudhis_field():
    """A filtration (found by a search over seeds) whose H1 pairs differ between Z/2 and
    Z/11 (a loop becomes a multiple of another): the walks give gudhi's Z/11 pairs."""
    rng = np.random.default_rng(105)
    L = rng.uniform(size=(60, 3))
    simplices, facets, _ = triangulate_with_facets(L, 3)
    values = random_filtration(simplices, facets, rng, 1000)
    st = gudhi.SimplexTree()
    for s, f in zip(simplices, values):
        st.insert_batch(np.ascontiguousarray(s.T, dtype=np.int32), f)
    st.compute_persistence(homology_coeff_field=2)
    z2 = sorted_rows(st.persistence_intervals_in_dimension(1))
    fast = assert_same_pairs(simplices, values, L, (1,))  # gudhi's default field: Z/11
    assert not np.array_equal(sorted_rows(fast[1]), z2)


def test_a_pickled_result_finds_its_facets_again():
    X = np.random.default_rng(8).uniform(size=(1500, 3))
    res = flood_complex(X, 80, random_state=0, device="cpu")
    assert res._facets is not None  # kept from Delaunay for the diagrams
    before = res.diagrams()
    again = pickle.loads(pickle.dumps(res))
    assert again._facets is None
    again._intervals.clear()
    for a, b in zip(before, again.diagrams()):
        np.testing.assert_array_equal(a, b)
    assert again._tree is None
