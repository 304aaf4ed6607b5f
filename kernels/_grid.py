"""flooder's grid estimate of the covering radius, in Warp (uncertified; for comparison).

flooder puts a barycentric grid of ``points_per_edge`` points per edge on each top simplex
(weights ``i / (n - 1)`` with integer ``i >= 0`` summing to ``n - 1``) and gives each face
the maximum of d_X over the grid points lying in it. The grid of a face is the face's own
grid, so the same value follows from each simplex's *interior* grid points (all weights
positive) together with its facets' values: :func:`grid_interior_max` evaluates those.
"""

from itertools import combinations

import numpy as np
import warp as wp

from flood.kernels._tree import vec6
from flood.kernels._tree_query import point_dist2, tree_nearest

wp.set_module_options({"enable_backward": False})


def interior_weights(points_per_edge, k):
    """Barycentric weights of the grid points strictly inside a k-simplex.

    Returns
    -------
    weights : ndarray of float64, shape (n_weights, k + 1)
        All ``i / (n - 1)`` with integer ``i_j >= 1`` summing to ``n - 1``.
    """
    n = int(points_per_edge)
    if k == 0:
        return np.ones((1, 1))
    bars = np.array(list(combinations(range(1, n - 1), k)), dtype=np.int64).reshape(-1, k)
    padded = np.concatenate(
        [np.zeros((len(bars), 1), np.int64), bars, np.full((len(bars), 1), n - 1)], axis=1
    )
    return np.diff(padded, axis=1) / (n - 1)


@wp.kernel
def grid_max_kernel(
    vertices: wp.array2d(dtype=wp.float64),
    sites: wp.array(dtype=wp.int32),
    simplices: wp.array2d(dtype=wp.int32),
    weights: wp.array2d(dtype=wp.float64),
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    out: wp.array(dtype=wp.float64),
):
    s, g = wp.tid()
    y = vec6()
    heaviest = int(0)
    for a in range(simplices.shape[1]):
        w = weights[g, a]
        if w > weights[g, heaviest]:
            heaviest = a
        for j in range(vertices.shape[1]):
            y[j] = y[j] + w * vertices[int(simplices[s, a]), j]
    hint = int(sites[int(simplices[s, heaviest])])
    best = tree_nearest(points, lo, hi, first_leaf, y, hint)
    wp.atomic_max(out, s, wp.sqrt(point_dist2(points, best, y)))


def grid_interior_max(tree, vertices, sites, simplices, points_per_edge):
    """Maximum of d_X over the interior grid points of each simplex.

    Parameters
    ----------
    tree : PointTree
        Index over X.
    vertices : ndarray of float64, shape (n_vertices, dim)
    sites : ndarray of int32, shape (n_vertices,)
        Tree-order index of each vertex's nearest point of X (a search hint).
    simplices : ndarray of int, shape (n_simplices, k + 1)
    points_per_edge : int

    Returns
    -------
    values : ndarray of float64, shape (n_simplices,)
        0 where a simplex has no interior grid point.
    """
    device = tree.device
    simplices = np.ascontiguousarray(simplices, dtype=np.int32)
    weights = interior_weights(points_per_edge, simplices.shape[1] - 1)
    out = wp.zeros(len(simplices), dtype=wp.float64, device=device)
    if len(simplices) and len(weights):
        wp.launch(
            grid_max_kernel,
            dim=(len(simplices), len(weights)),
            inputs=[
                wp.array(
                    np.ascontiguousarray(vertices, dtype=np.float64),
                    dtype=wp.float64,
                    device=device,
                ),
                wp.array(
                    np.ascontiguousarray(sites, dtype=np.int32), dtype=wp.int32, device=device
                ),
                wp.array(simplices, dtype=wp.int32, device=device),
                wp.array(weights, dtype=wp.float64, device=device),
                tree.points,
                tree.lo,
                tree.hi,
                tree.first_leaf,
            ],
            outputs=[out],
            device=device,
        )
    return out.numpy()


def grid_interior_max_reference(points, vertices, simplices, points_per_edge):
    """NumPy brute-force reference for :func:`grid_interior_max`."""
    simplices = np.asarray(simplices)
    weights = interior_weights(points_per_edge, simplices.shape[1] - 1)
    out = np.zeros(len(simplices))
    for i, s in enumerate(simplices):
        if len(weights):
            y = weights @ vertices[s]
            d2 = ((y[:, None, :] - points[None]) ** 2).sum(-1)
            out[i] = np.sqrt(d2.min(axis=1)).max()
    return out
