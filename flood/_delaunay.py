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


def _fits(width, base):
    """Whether rows of ``width`` entries in ``[0, base)`` have int64 keys (``_row_keys``)."""
    return width * np.log2(max(base, 2)) < 62


def _unique_rows(rows, base):
    """The distinct rows of ``rows``, in lexicographic order."""
    return _unique_rows_inverse(rows, base)[0]


def _unique_rows_inverse(rows, base):
    """The distinct rows in lexicographic order, and each row's index among them."""
    keys = _row_keys(rows, base)
    if keys is None:
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
        return unique, inverse.ravel()
    unique_keys, inverse = _unique_keys_inverse(keys)
    return _key_rows(unique_keys, rows.shape[1], base), inverse


def _unique_keys_inverse(keys):
    """Sorted distinct keys and each key's index among them (a stable sort: timsort runs
    through the sorted blocks that facets of sorted rows come in)."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    first = np.empty(len(keys), dtype=bool)
    first[:1] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=first[1:])
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return sorted_keys[first], inverse


def _key_rows(keys, width, base):
    """The rows of ``width`` entries whose keys (``_row_keys``) are ``keys``."""
    rows = np.empty((len(keys), width), dtype=np.int64)
    rest = keys
    for j in range(width - 1, -1, -1):
        rest, rows[:, j] = np.divmod(rest, base)
    return rows


def _sorted_rows(rows, base):
    """Distinct rows in lexicographic order: by their keys, or, where those would overflow,
    by the last entry within the keys of the others (or one stable sort per column)."""
    rows = np.asarray(rows, dtype=np.int64)
    width = rows.shape[1]
    if _fits(width, base):
        return rows[np.argsort(_row_keys(rows, base), kind="stable")]
    if _fits(width - 1, base):
        return rows[np.lexsort((rows[:, -1], _row_keys(rows[:, :-1], base)))]
    return rows[np.lexsort(rows.T[::-1])]


def _facets_of(rows, base):
    """The facets of the simplices ``rows`` (sorted rows): the distinct ones in lexicographic
    order, and each simplex's facet rows (column j: the facet without vertex j). One stable
    sort of the facets' keys, built column by column (no facet rows are copied)."""
    m, width = rows.shape
    if not _fits(width - 1, base):
        both = np.concatenate([np.delete(rows, j, axis=1) for j in range(width)])
        faces, inverse = _unique_rows_inverse(both, base)
    else:
        keys = np.empty(m * width, dtype=np.int64)
        for j in range(width):
            cols = [c for c in range(width) if c != j]
            block = keys[j * m : (j + 1) * m]
            block[:] = rows[:, cols[0]]
            for c in cols[1:]:
                block *= base
                block += rows[:, c]
        unique_keys, inverse = _unique_keys_inverse(keys)
        faces = _key_rows(unique_keys, width - 1, base)
    return faces, np.ascontiguousarray(inverse.reshape(width, m).T)


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
        used = np.zeros(n, dtype=bool)
        used[top.ravel()] = True
        if used.all():
            return top
        reason = f"Qhull left {n - int(used.sum())} landmark(s) out (nearly coincident)"
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
        ``max_dimension + 1`` entries; ``simplices[k]`` has shape (n_k, k + 1), rows sorted
        (and in lexicographic order, but for the edges of collinear landmarks: in their
        order on the line); empty above the dimension of the affine hull of L.
    rank : int
        Dimension of the affine hull of L.
    """
    simplices, _, rank = triangulate_with_facets(landmarks, max_dimension, rtol)
    return simplices, rank


def triangulate_with_facets(landmarks, max_dimension, rtol=FLAT_RTOL):
    """:func:`triangulate`, and each simplex's facets found on the way.

    Returns
    -------
    simplices : list of ndarray of int64
        As :func:`triangulate`.
    facets : list
        ``facets[k]`` for ``k >= 2``: :func:`facet_index` of ``simplices[k]`` in
        ``simplices[k - 1]``, shape (n_k, k + 1); ``facets[0]`` and ``facets[1]`` are None.
    rank : int
    """
    n, dim = landmarks.shape
    center, basis = affine_hull(landmarks, rtol)
    rank = len(basis)
    coords = (landmarks - center) @ basis.T
    facets = [None, None]
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
        top = np.sort(top.astype(np.int64), axis=1)
        simplices, facets = _faces(top, n, min(rank, max_dimension))
    simplices = simplices[: max_dimension + 1]
    for k in range(len(simplices), max_dimension + 1):
        simplices.append(np.empty((0, k + 1), dtype=np.int64))
    for k in range(len(facets), max_dimension + 1):
        facets.append(np.empty((len(simplices[k]), k + 1), dtype=np.int64))
    return simplices, facets[: max(max_dimension + 1, 2)], rank


def _faces(top, n, max_dimension):
    """The faces of the pure complex of ``top`` (sorted rows) up to ``max_dimension``, and
    their facets: from the highest dimension down, one sort of all the facets of the
    k-simplices gives both the (k-1)-simplices and the k-simplices' facet rows
    (:func:`_facets_of`)."""
    dim = top.shape[1] - 1
    out = [np.arange(n, dtype=np.int64)[:, None]] + [None] * max_dimension
    facets = [None] * max(max_dimension + 1, 2)
    if max_dimension == 0:
        return out, facets
    if max_dimension == dim:
        out[dim] = _sorted_rows(top, n)
    else:
        subsets = combinations(range(dim + 1), max_dimension + 1)
        out[max_dimension] = _unique_rows(np.concatenate([top[:, list(c)] for c in subsets]), n)
    for k in range(max_dimension, 1, -1):
        out[k - 1], facets[k] = _facets_of(out[k], n)
    return out, facets


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
