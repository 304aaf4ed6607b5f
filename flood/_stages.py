"""The stages of flood_complex that the one-process path (:mod:`flood._complex`) and the dask
path (:mod:`flood._distributed`) share, in data-flow order: check the options, pick the
landmarks, triangulate them, choose the tolerance, and turn the kernels' output into the
filtration of a :class:`flood._result.FloodResult`. Each path keeps only what differs: where
X lives (one array and one tree, or chunks, tiles and blocks).
"""

import warnings
from math import comb

import numpy as np

from flood._certify import propagate_bounds
from flood._delaunay import FLAT_RTOL, triangulate_with_facets
from flood._landmarks import farthest_point_sampling
from flood._validation import check_method, check_n_threads, check_tol, distinct_rows

#: Default tolerance relative to the landmark covering radius (1%).
DEFAULT_RELATIVE_TOL = 1e-2
#: Floor of the default tolerance, relative to the median Delaunay edge length; used when
#: the covering radius is 0 or tiny (landmarks = all points).
DEFAULT_TOL_FLOOR = 1e-4


def default_tol(cover, landmarks, simplices):
    """``DEFAULT_RELATIVE_TOL`` of the covering radius, at least ``DEFAULT_TOL_FLOOR`` of the
    median edge length (and never 0)."""
    edges = simplices[1] if len(simplices) > 1 else np.empty((0, 2), dtype=np.int64)
    if len(edges):
        lengths = np.linalg.norm(landmarks[edges[:, 0]] - landmarks[edges[:, 1]], axis=1)
        floor = DEFAULT_TOL_FLOOR * float(np.median(lengths))
    else:
        floor = 0.0
    tol = max(DEFAULT_RELATIVE_TOL * cover, floor)
    return tol if tol > 0 else 1e-12


def _warn_if_only_landmarks_flat(Xc, rank, dim):
    """Warn when the landmarks span fewer dimensions than the cloud X itself."""
    sv = np.linalg.svd(Xc, compute_uv=False)
    x_rank = int((sv > FLAT_RTOL * sv[0]).sum()) if sv[0] > 0 else 0
    if x_rank > rank:
        warnings.warn(
            f"the landmarks lie in a {rank}-D affine subspace while the points span "
            f"{x_rank} dimensions; the complex is their {rank}-D Delaunay triangulation "
            f"(no simplices above dimension {rank}). Use more landmarks or others.",
            UserWarning,
            stacklevel=3,
        )


def check_options(dim, max_dimension, tol, method, points_per_edge, n_threads):
    """The rules of the options that do not depend on the points' values; returns
    (max_dimension, tol)."""
    tol = check_tol(tol)
    check_method(method)
    check_n_threads(n_threads)
    if (
        isinstance(points_per_edge, bool)
        or not isinstance(points_per_edge, (int, np.integer))
        or points_per_edge < 2
    ):
        raise ValueError(
            f"The 'points_per_edge' parameter must be an int in the range "
            f"[2, inf). Got {points_per_edge!r} instead."
        )
    if max_dimension is None:
        max_dimension = dim
    if (
        isinstance(max_dimension, bool)
        or not isinstance(max_dimension, (int, np.integer))
        or not 0 <= max_dimension <= dim
    ):
        raise ValueError(
            f"The 'max_dimension' parameter must be an int in the range "
            f"[0, {dim}] for {dim}-D points. Got {max_dimension!r} instead."
        )
    return int(max_dimension), tol


def triangulate_landmarks(L, Xc, max_dimension):
    """Del(L) up to ``max_dimension`` and, per dimension >= 2, each simplex's facet rows.

    ``Xc``: the centred points, or any matrix with the same singular values, or a callable
    that returns one, called only when the landmarks are flat (the dask path
    passes the stacked R factors of its chunks): the flatness of X, for a warning."""
    simplices, facets, rank = triangulate_with_facets(L, max_dimension)
    dim = L.shape[1]
    if rank < min(dim, max_dimension) and len(L) > rank + 1:
        _warn_if_only_landmarks_flat(Xc() if callable(Xc) else Xc, rank, dim)
    return simplices, facets


def pick_landmarks(
    points,
    n_landmarks,
    random_state,
    tree=None,
    start=None,
    launched=None,
    record=None,
    center=None,
):
    """Rows of ``points`` chosen by farthest point sampling (of ``points - center`` when a
    center is given; on ``tree``, a tree over those, when it helps; from ``start`` when it
    was computed beforehand), repeats dropped (FPS repeats a point only when there are
    fewer distinct points than landmarks); ``launched``, ``record``: see
    :func:`flood._landmarks.farthest_point_sampling`."""
    idx = farthest_point_sampling(
        points,
        n_landmarks,
        random_state=random_state,
        tree=tree,
        start=start,
        launched=launched,
        record=record,
        center=center,
    )
    rows = points[idx] if center is None else points[idx] - center
    return idx[distinct_rows(rows, "points")]


def grid_filtration(vertex_values, inner, simplices, facets, points_per_edge):
    """flooder's rule: each simplex the max over its interior grid points (``inner[k]``,
    per dimension k >= 1) and its faces; the result's fields (the facet rows too, for the
    diagrams)."""
    values = [vertex_values.copy()]
    for k in range(1, len(simplices)):
        if k == 1:
            faces = vertex_values[simplices[1]].max(axis=1, initial=0.0)
        else:
            faces = values[k - 1][facets[k]].max(axis=1, initial=0.0)
        values.append(np.maximum(inner[k], faces))
    evaluations = {k: comb(points_per_edge - 2, k) for k in range(1, len(simplices))}
    return dict(lower=None, upper=None, filtration=values, evaluations=evaluations, _facets=facets)


def certified_filtration(lower, upper, facets, queries, simplices):
    """Bounds tightened by face <= coface, their midpoints, and the mean nearest-point
    queries per simplex; the result's fields (the facet rows too, for the diagrams)."""
    lower, upper, filtration = propagate_bounds(lower, upper, facets)
    evaluations = {k: q / max(len(simplices[k]), 1) for k, q in queries.items()}
    return dict(
        lower=lower, upper=upper, filtration=filtration, evaluations=evaluations, _facets=facets
    )
