"""Delaunay triangulation of the landmarks (scipy/Qhull) and the faces of every dimension.

Landmarks in degenerate position are triangulated in their affine hull: if the landmarks lie
in an affine subspace of dimension m < dim (all equal, collinear, coplanar, ... within the
relative tolerance ``FLAT_RTOL`` of their singular values), they are projected onto an
orthonormal basis of that subspace and triangulated there. This is the Delaunay complex of L
in R^dim, not an approximation: the Voronoi cells of points of a subspace H are products of
their Voronoi cells in H with the orthogonal complement of H, so their nerve is Del(L) in H.
Only the combinatorics come from the projection; the filtration is computed with the
original coordinates (so f(s) is exact whether or not the cloud X lies in H). If Qhull still
fails, or leaves a landmark out of every simplex (points closer than its precision), the
triangulation is retried with joggled input (``QJ``), a valid triangulation of L that may
differ from Delaunay on nearly cospherical landmarks; a warning says so. A final failure is
a ValueError, never a raw QhullError.
"""

import warnings
from itertools import combinations

import numpy as np
from scipy.spatial import Delaunay, QhullError

#: Singular values of the centered landmarks below FLAT_RTOL times the largest count as 0.
FLAT_RTOL = 1e-9


def _row_keys(rows, base):
    """Integer keys of sorted int rows (mixed radix ``base``), or None if they would overflow."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.shape[1] * np.log2(max(base, 2)) >= 62:
        return None
    keys = np.zeros(len(rows), dtype=np.int64)
    for j in range(rows.shape[1]):
        keys = keys * base + rows[:, j]
    return keys


def _unique_rows(rows, base):
    keys = _row_keys(rows, base)
    if keys is None:
        return np.unique(rows, axis=0)
    _, first = np.unique(keys, return_index=True)
    return rows[first]


def affine_hull(points, rtol=FLAT_RTOL):
    """Center and orthonormal basis of the affine hull of ``points``, by SVD.

    Returns
    -------
    center : ndarray of shape (dim,)
    basis : ndarray of shape (rank, dim)
        Orthonormal rows; ``rank`` counts singular values above ``rtol`` times the largest.
    """
    center = points.mean(axis=0)
    _, sv, vt = np.linalg.svd(points - center, full_matrices=False)
    if len(sv) == 0 or sv[0] <= 0:
        return center, vt[:0]
    return center, vt[: int((sv > rtol * sv[0]).sum())]


def _qhull_top(coords):
    """Top simplices of the Delaunay triangulation of ``coords`` (full-dimensional)."""
    n = len(coords)
    try:
        top = Delaunay(coords).simplices
        if len(np.unique(top)) == n:
            return top
        reason = f"Qhull left {n - len(np.unique(top))} landmark(s) out (nearly coincident)"
    except QhullError as exc:
        reason = f"Qhull failed ({str(exc).strip().splitlines()[0]})"
    warnings.warn(
        f"{reason}; triangulating the {n} landmarks with joggled input (QJ), which may "
        "differ from Delaunay on nearly cospherical landmarks.",
        UserWarning,
        stacklevel=4,
    )
    try:
        top = Delaunay(coords, qhull_options="QJ Qbb").simplices
    except QhullError as exc:
        raise ValueError(
            f"the {n} landmarks could not be triangulated, even with joggled input: "
            f"{str(exc).strip().splitlines()[0]}"
        ) from None
    return top


def triangulate(landmarks, max_dimension, rtol=FLAT_RTOL):
    """All simplices of Del(L) up to ``max_dimension``, in the affine hull of L.

    Parameters
    ----------
    landmarks : ndarray of shape (n_landmarks, dim)
        Distinct points, in any position.
    max_dimension : int
    rtol : float
        Relative tolerance for flatness (see the module docstring).

    Returns
    -------
    simplices : list of ndarray of int64
        ``max_dimension + 1`` entries; ``simplices[k]`` has shape (n_k, k + 1), rows sorted;
        empty above the dimension of the affine hull of L.
    rank : int
        Dimension of the affine hull of L.
    """
    n, dim = landmarks.shape
    center, basis = affine_hull(landmarks, rtol)
    rank = len(basis)
    coords = (landmarks - center) @ basis.T
    if rank == 0:
        simplices = [np.arange(n, dtype=np.int64)[:, None]]
    elif rank == 1:
        order = np.argsort(coords[:, 0], kind="stable")
        simplices = [
            np.arange(n, dtype=np.int64)[:, None],
            np.sort(np.c_[order[:-1], order[1:]], axis=1).astype(np.int64),
        ]
    else:
        top = _qhull_top(coords)
        simplices = _faces(np.sort(top.astype(np.int64), axis=1), n, min(rank, max_dimension))
    simplices = simplices[: max_dimension + 1]
    for k in range(len(simplices), max_dimension + 1):
        simplices.append(np.empty((0, k + 1), dtype=np.int64))
    return simplices, rank


def _faces(top, n, max_dimension):
    dim = top.shape[1] - 1
    out = [np.arange(n, dtype=np.int64)[:, None]]
    for k in range(1, max_dimension + 1):
        if k == dim:
            faces = top
        else:
            faces = np.concatenate([top[:, list(c)] for c in combinations(range(dim + 1), k + 1)])
        out.append(_unique_rows(faces, n))
    return out


def facet_index(simplices, faces, n_vertices):
    """For each k-simplex, the row index in ``faces`` of each of its k + 1 facets.

    Parameters
    ----------
    simplices : ndarray of shape (n_k, k + 1), sorted rows
    faces : ndarray of shape (n_{k-1}, k), sorted rows, containing every facet
    n_vertices : int

    Returns
    -------
    index : ndarray of int64, shape (n_k, k + 1)
        Column ``j`` is the facet without vertex ``j``.
    """
    kp1 = simplices.shape[1]
    facets = [np.delete(simplices, j, axis=1) for j in range(kp1)]
    keys = _row_keys(faces, n_vertices)
    if keys is not None:
        order = np.argsort(keys)
        sorted_keys = keys[order]
        cols = [order[np.searchsorted(sorted_keys, _row_keys(f, n_vertices))] for f in facets]
    else:
        both = np.concatenate([faces] + facets)
        _, inverse = np.unique(both, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        pos = np.empty(inverse.max() + 1, dtype=np.int64)
        pos[inverse[: len(faces)]] = np.arange(len(faces))
        m = len(simplices)
        cols = [pos[inverse[len(faces) + j * m : len(faces) + (j + 1) * m]] for j in range(kp1)]
    return np.stack(cols, axis=1)
