"""Persistence pairs of a filtered Delaunay complex without a SimplexTree.

Del(L) triangulates the convex hull of L, a ball of dimension d (the rank of L's affine
hull), and its filtration only orders its simplices. Three walks give every pair of H0,
H_{d-1} and, in 3-D, H1 (what flood's diagrams need), all in one order of the simplices:
by value, then dimension, ties within a dimension as one argsort of its values puts them:

* H0: Kruskal's union-find over the edges (elder rule), the usual way;
* H_{d-1}: union-find over the dual graph (top simplices and one outer node, joined by the
  codimension-1 simplices) in decreasing order: by Alexander duality the voids of the
  complex at value t are the components of the dual graph of what is not yet in it, so a
  codimension-1 simplex that joins two of them gives birth to a void that dies at the
  largest value of the younger side (the trick of Alpha-complex codes);
* H1 in 3-D: the column reduction of the triangles' boundaries, on a matrix from which the
  two walks removed what cannot pair there: the rows of the edges that merged components
  (compression) and the columns of the triangles that enclosed a void (clearing). What is
  left is as many columns as unpaired edges, three rows each at most.

The pairs of value (as multisets, ``death > birth``) do not depend on how ties are broken;
H0 and H_{d-1} do not depend on the coefficient field either, and the H1 reduction is over
gudhi's Z/11 (``COEFFICIENT_FIELD``), so they equal gudhi's exactly. :func:`diagram_pairs`
answers None where the walks do not apply (complexes of dimension 4 and above asked for
their middle dimensions, a complex that is not a triangulated ball, or a filtration that is
not monotone): the caller then uses gudhi.
"""

import numpy as np

from flood._delaunay import affine_hull, facet_index
from flood.kernels._persistence import cofaces, merge_cells, merge_components
from flood.kernels._reduction import reduce_columns

#: Coefficients of the H1 reduction: Z/11, gudhi's default, which flood's diagrams have
#: always used. H0 and H_{d-1} pair the same over any field; H1 of a subcomplex of R^3 can
#: not (a loop that becomes twice another: measured, 14 of 569,743 H1 pairs of the 1M cheese
#: at 10^5 landmarks swap their deaths between Z/2 and Z/11).
COEFFICIENT_FIELD = 11
#: The boundary of a triangle [a, b, c]: [b, c] - [a, c] + [a, b] (facet j lacks vertex j).
BOUNDARY_SIGNS = np.array([1, -1, 1])
#: Highest top dimension whose middle homology (H1 of a 3-ball) is reduced here; above it
#: only H0 and H_{d-1} are answered without gudhi.
MAX_REDUCED_DIMENSION = 3


def diagram_pairs(simplices, filtration, landmarks, homology_dimensions, facets=None):
    """Every (birth, death) pair with ``death > birth`` of the requested dimensions.

    Parameters
    ----------
    simplices, filtration : list of ndarray
        A FloodResult's: Del(L) up to some dimension (rows sorted), and monotone values.
    landmarks : ndarray of shape (n_landmarks, dim)
    homology_dimensions : iterable of int
    facets : list, optional
        ``facets[k]`` as :func:`flood._delaunay.facet_index` gives it, for k >= 2 (computed
        where missing).

    Returns
    -------
    pairs : dict or None
        ``{q: ndarray of shape (n_pairs, 2)}`` (essential classes die at ``inf``), or None
        where these walks do not apply (see the module docstring).
    """
    dims = sorted({int(q) for q in homology_dimensions})
    top = max((k for k, s in enumerate(simplices) if len(s)), default=0)
    edges = simplices[1] if len(simplices) > 1 else np.empty((0, 2), dtype=np.int64)
    if len(edges) and np.any(filtration[0][edges].max(axis=1) > filtration[1]):
        return None  # not a filtration
    out = {q: np.empty((0, 2)) for q in dims}
    if dims != [0] and top >= 1:
        if top > MAX_REDUCED_DIMENSION and any(1 <= q <= top - 2 for q in dims):
            return None
        if not _is_ball(simplices, landmarks, top):
            return None
        facets = list(facets) if facets is not None else [None, None]
        for k in range(len(facets), top + 1):
            facets.append(facet_index(simplices[k], simplices[k - 1], len(simplices[0])))
        if not _monotone(filtration, facets, top):
            return None
    h0, edges_negative, edge_order = _h0(edges, filtration)
    if 0 in dims:
        out[0] = h0
    if top >= 2 and (top - 1 in dims or (1 in dims and top == 3)):
        walk = _top_minus_one(simplices, filtration, facets, top)
        if walk is None:
            return None
        out[top - 1], triangles_positive, triangle_order = walk
        if 1 in dims and top == 3:
            h1 = _h1(filtration, facets[2], edges_negative, edge_order, triangles_positive,
                     triangle_order)  # fmt: skip
            if h1 is None:
                return None
            out[1] = h1
    return {q: p[p[:, 1] > p[:, 0]] for q, p in out.items()}


def _monotone(filtration, facets, top):
    """Whether every face's value is at most its cofaces' (as a filtration needs)."""
    return all(
        not np.any(filtration[k - 1][facets[k]].max(axis=1) > filtration[k])
        for k in range(2, top + 1)
    )


def _h0(edges, filtration):
    """H0 pairs by Kruskal; also which edges merged and the edges' order."""
    values = filtration[1] if len(edges) else np.empty(0)
    order = np.argsort(values)
    merges, killed, roots = merge_components(edges, order, filtration[0])
    pairs = np.concatenate(
        [
            np.c_[killed[merges], values[merges]],
            np.c_[filtration[0][roots], np.full(len(roots), np.inf)],
        ]
    )
    return pairs, merges, order


def _top_minus_one(simplices, filtration, facets, top):
    """H_{top-1} pairs by the dual walk; also which (top-1)-simplices gave birth and their
    order. None when the complex is not a triangulated ball."""
    n_faces, n_top = len(simplices[top - 1]), len(simplices[top])
    cof, overfull = cofaces(facets[top], n_faces)
    if overfull or np.any(cof[:, 0] < 0):
        return None
    cof[cof[:, 1] < 0, 1] = n_top  # a face on the hull: the other side is outside
    cell_values = np.append(filtration[top], np.inf)
    order = np.argsort(filtration[top - 1])
    merges, killed = merge_cells(cof, order[::-1], cell_values)
    pairs = np.c_[filtration[top - 1][merges], killed[merges]]
    return pairs, merges, order


def _is_ball(simplices, landmarks, top):
    """Whether the pure part is a triangulated ``top``-ball: its top simplices fill the
    affine hull of the landmarks (not a skeleton of a larger Del), and its Euler
    characteristic is 1 (plus one per vertex in no top simplex: points Qhull left out), not,
    say, a sphere's."""
    if len(affine_hull(np.asarray(landmarks, dtype=np.float64))[1]) != top:
        return False
    chi = sum((-1) ** k * len(s) for k, s in enumerate(simplices[: top + 1]))
    used = np.zeros(len(simplices[0]), dtype=bool)
    used[simplices[top].ravel()] = True
    return chi == 1 + int(np.count_nonzero(~used))


def _h1(filtration, triangle_edges, edges_negative, edge_order, triangles_positive, order):
    """H1 pairs of a 3-ball by the reduction of its compressed, cleared boundary matrix."""
    row = np.empty(len(edge_order), dtype=np.int64)
    row[edge_order] = np.arange(len(edge_order))
    row[edges_negative] = -1  # compression: a merging edge is never a pivot here
    columns = order[~triangles_positive[order]]  # clearing: void-making triangles reduce to 0
    entries, signs = _decreasing(row[triangle_edges[columns]], BOUNDARY_SIGNS)
    pivot = reduce_columns(entries, signs, len(edge_order), COEFFICIENT_FIELD)
    if np.any(pivot < 0):
        return None
    return np.c_[filtration[1][edge_order[pivot]], filtration[2][columns]]


def _decreasing(rows, signs):
    """Each row of three sorted into decreasing order (-1, a removed entry, last), with its
    signs: one sort of ``4 * (row + 1) + column`` per row."""
    packed = np.sort(4 * (rows + 1) + np.arange(rows.shape[1]), axis=1)[:, ::-1]
    return packed // 4 - 1, np.asarray(signs)[packed % 4]
