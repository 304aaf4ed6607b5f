"""Faces and facets of Del(L) from one sort per dimension, against a plain-Python reference
(every face of every top simplex, looked up in a dict) on random and degenerate landmarks."""

import warnings
from itertools import combinations

import numpy as np
import pytest
from scipy.spatial import Delaunay

from flood._delaunay import (
    _facets_of,
    _sorted_rows,
    _unique_rows_inverse,
    affine_hull,
    facet_index,
    triangulate,
    triangulate_with_facets,
)


def reference_triangulation(L, max_dimension):
    """Del(L) in L's affine hull as the code before issue 30 built it: Qhull's top simplices,
    every face of every one of them (a set), sorted; facets looked up by value."""
    n = len(L)
    center, basis = affine_hull(L)
    rank = len(basis)
    coords = (L - center) @ basis.T
    simplices = [np.arange(n)[:, None]]
    if rank == 1:
        order = np.argsort(coords[:, 0], kind="stable")
        simplices.append(np.sort(np.c_[order[:-1], order[1:]], axis=1))
    elif rank >= 2:
        top = Delaunay(coords).simplices
        for k in range(1, min(rank, max_dimension) + 1):
            faces = {tuple(sorted(c)) for s in top.tolist() for c in combinations(s, k + 1)}
            simplices.append(np.array(sorted(faces), dtype=np.int64).reshape(-1, k + 1))
    simplices = simplices[: max_dimension + 1]
    for k in range(len(simplices), max_dimension + 1):
        simplices.append(np.empty((0, k + 1), dtype=np.int64))
    facets = [None, None]
    for k in range(2, max_dimension + 1):
        row_of = {tuple(r): i for i, r in enumerate(simplices[k - 1].tolist())}
        facets.append(
            np.array(
                [
                    [row_of[tuple(r[:j] + r[j + 1 :])] for j in range(k + 1)]
                    for r in simplices[k].tolist()
                ],
                dtype=np.int64,
            ).reshape(-1, k + 1)
        )
    return simplices, facets, rank


def _clouds():
    rng = np.random.default_rng(30)
    grid = np.stack(np.meshgrid(*[np.arange(3.0)] * 3), -1).reshape(-1, 3)
    plane = (
        np.c_[rng.uniform(size=(40, 2)), np.zeros(40)] @ np.linalg.qr(rng.normal(size=(3, 3)))[0]
    )
    line = np.outer(rng.uniform(size=25), [1.0, 2.0, -0.5]) + 3.0
    return {
        "uniform3d": rng.uniform(size=(200, 3)),
        "clustered3d": rng.normal(size=(150, 3)) * [1, 1, 0.01],
        "uniform2d": rng.uniform(size=(120, 2)),
        "grid3d (cospherical)": grid,
        "grid2d (cocircular)": grid[grid[:, 2] == 0, :2],
        "coplanar in 3d": plane,
        "collinear in 3d": line,
        "five points": rng.uniform(size=(5, 3)),
        "one tetrahedron": np.eye(4, 3),
        "one point": np.zeros((1, 3)),
    }


CLOUDS = _clouds()


@pytest.mark.parametrize("name", sorted(CLOUDS))
@pytest.mark.parametrize("max_dimension", [0, 1, 2, 3])
def test_faces_and_facets_equal_the_reference(name, max_dimension):
    L = CLOUDS[name]
    max_dimension = min(max_dimension, L.shape[1])
    simplices, facets, rank = triangulate_with_facets(L, max_dimension)
    ref_simplices, ref_facets, ref_rank = reference_triangulation(L, max_dimension)
    assert rank == ref_rank
    assert len(simplices) == max_dimension + 1 and len(facets) == max(max_dimension + 1, 2)
    for s, r in zip(simplices, ref_simplices):
        assert s.dtype == np.int64
        np.testing.assert_array_equal(s, r)
    for k in range(2, max_dimension + 1):
        np.testing.assert_array_equal(facets[k], ref_facets[k])
        np.testing.assert_array_equal(
            facets[k], facet_index(simplices[k], simplices[k - 1], len(L))
        )
    assert triangulate(L, max_dimension)[1] == rank


def test_nearly_coincident_landmarks_keep_their_facets():
    """The joggled fallback gives a triangulation whose facets are still consistent."""
    L = np.random.default_rng(5).uniform(size=(20, 3))
    L = np.r_[L, L[:1] + 1e-15]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        simplices, facets, rank = triangulate_with_facets(L, 3)
    assert rank == 3 and len(np.unique(simplices[3])) == 21
    for k in (2, 3):
        np.testing.assert_array_equal(facets[k], facet_index(simplices[k], simplices[k - 1], 21))


#: int64 keys; keys of two columns but not three; keys that would overflow for two.
BASES = [50, 2**25, 2**40]


@pytest.mark.parametrize("base", BASES)
def test_unique_rows_with_inverse_and_sorted_rows(base):
    rng = np.random.default_rng(1)
    rows = np.sort(rng.integers(0, 50, size=(3000, 3)), axis=1)
    unique, inverse = _unique_rows_inverse(rows, base)
    ref, ref_inverse = np.unique(rows, axis=0, return_inverse=True)
    np.testing.assert_array_equal(unique, ref)
    np.testing.assert_array_equal(inverse, ref_inverse.ravel())
    np.testing.assert_array_equal(unique[inverse], rows)
    shuffled = unique[rng.permutation(len(unique))]
    np.testing.assert_array_equal(_sorted_rows(shuffled, base), ref)


@pytest.mark.parametrize("base", BASES)
def test_facets_of_equal_a_lookup(base):
    rng = np.random.default_rng(2)
    rows = np.unique(np.sort(rng.choice(40, size=(500, 3)), axis=1), axis=0)
    rows = rows[(rows[:, 0] < rows[:, 1]) & (rows[:, 1] < rows[:, 2])]
    faces, facets = _facets_of(rows, base)
    ref = sorted({(r[a], r[b]) for r in rows.tolist() for a, b in ((1, 2), (0, 2), (0, 1))})
    np.testing.assert_array_equal(faces, np.array(ref))
    row_of = {f: i for i, f in enumerate(ref)}
    expected = [[row_of[(r[1], r[2])], row_of[(r[0], r[2])], row_of[(r[0], r[1])]] for r in rows]
    np.testing.assert_array_equal(facets, np.array(expected))
    assert facets.flags.c_contiguous
