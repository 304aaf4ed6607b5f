"""Delaunay triangulation of the landmarks (scipy/Qhull) and the faces of every dimension."""

from itertools import combinations

import numpy as np
from scipy.spatial import Delaunay


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


def delaunay_simplices(landmarks, max_dimension):
    """All simplices of Del(L) up to ``max_dimension``, per dimension.

    Parameters
    ----------
    landmarks : ndarray of shape (n_landmarks, dim)
        In general enough position for a full-dimensional triangulation.
    max_dimension : int

    Returns
    -------
    simplices : list of ndarray of int64
        ``simplices[k]`` has shape (n_k, k + 1), rows sorted, lexicographic order.
    """
    n, dim = landmarks.shape
    tri = Delaunay(landmarks)
    top = np.sort(tri.simplices.astype(np.int64), axis=1)
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
