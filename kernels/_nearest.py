"""Nearest points of X for many query points at once (kernels over the k-d tree's queries,
:mod:`flood.kernels._tree_query`), their NumPy references, and the largest nearest-point
distance of one cloud to another (the covering radius of the landmarks).
"""

import numpy as np
import warp as wp

from flood.kernels._tree import LEAF_SIZE, _launch_shared, vec6
from flood.kernels._tree_query import (
    K_NEAREST,
    point_dist2,
    tree_knn_from,
    tree_nearest,
    tree_nearest_from,
)

wp.set_module_options({"enable_backward": False})


@wp.kernel
def knn_kernel(
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    queries: wp.array2d(dtype=wp.float64),
    radius2: wp.array(dtype=wp.float64),
    first_only: bool,
    hints: wp.array(dtype=wp.int32),
    first: int,
    index: wp.array2d(dtype=wp.int32),
    distance2: wp.array2d(dtype=wp.float64),
):
    qi = wp.tid() + first
    hint = int(-1)
    if hints.shape[0] > 0:
        hint = int(hints[qi])
    q = vec6()
    for j in range(queries.shape[1]):
        q[j] = queries[qi, j]
    r2 = radius2[qi]
    count, dd, ii = tree_knn_from(points, lo, hi, first_leaf, q, r2, K_NEAREST, first_only, hint)
    for j in range(K_NEAREST):
        if j < count:
            index[qi, j] = ii[j]
            distance2[qi, j] = dd[j]
        else:
            index[qi, j] = -1
            distance2[qi, j] = wp.float64(wp.inf)


@wp.kernel
def nearest_kernel(
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    queries: wp.array2d(dtype=wp.float64),
    hints: wp.array(dtype=wp.int32),
    index: wp.array(dtype=wp.int32),
    distance: wp.array(dtype=wp.float64),
):
    qi = wp.tid()
    hint = int(-1)
    if hints.shape[0] > 0:
        hint = int(hints[qi])
    q = vec6()
    for j in range(queries.shape[1]):
        q[j] = queries[qi, j]
    best = tree_nearest(points, lo, hi, first_leaf, q, hint)
    index[qi] = wp.int32(best)
    distance[qi] = wp.sqrt(point_dist2(points, best, q))


def nearest(tree, queries, hints=None):
    """Exact nearest point of X for each query.

    Parameters
    ----------
    tree : PointTree
    queries : ndarray or warp.array2d of shape (n_queries, dim)
    hints : ndarray or warp.array of int32, shape (n_queries,), optional
        Tree-order indices of points of X close to each query (e.g. the nearest point of a
        nearby vertex); they only speed the search up.

    Returns
    -------
    index : ndarray of int32, shape (n_queries,)
        Tree-order index of the nearest point (``tree.order[index]`` in input order).
    distance : ndarray of float64, shape (n_queries,)
    """
    device = tree.device
    if not isinstance(queries, wp.array):
        queries = wp.array(
            np.ascontiguousarray(queries, dtype=np.float64), dtype=wp.float64, device=device
        )
    m = queries.shape[0]
    if hints is None:
        hints = wp.empty(0, dtype=wp.int32, device=device)
    elif not isinstance(hints, wp.array):
        hints = wp.array(np.ascontiguousarray(hints, dtype=np.int32), dtype=wp.int32, device=device)
    index = wp.empty(m, dtype=wp.int32, device=device)
    distance = wp.empty(m, dtype=wp.float64, device=device)
    if m:
        wp.launch(
            nearest_kernel,
            dim=m,
            inputs=[tree.points, tree.lo, tree.hi, tree.first_leaf, queries, hints],
            outputs=[index, distance],
            device=device,
        )
    return index.numpy(), distance.numpy()


def nearest_reference(points, queries):
    """Brute-force NumPy reference for :func:`nearest` (input-order indices, distances)."""
    points = np.asarray(points, dtype=np.float64)
    queries = np.asarray(queries, dtype=np.float64)
    d2 = ((queries[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
    index = d2.argmin(axis=1)
    return index, np.sqrt(d2[np.arange(len(queries)), index])


def nearest_k(tree, queries, radius, first_only=False, hints=None, n_threads=1):
    """The ``K_NEAREST`` nearest points of X to each query, among those closer than ``radius``.

    Parameters
    ----------
    tree : PointTree
    queries : ndarray of shape (n_queries, dim)
    radius : ndarray of shape (n_queries,) or float
        Only points at distance ``< radius`` are returned (``inf`` for plain k nearest).
    first_only : bool
        Search as for the nearest point only: column 0 is exact, the others are the nearest
        of the points the search visited (within ``radius``), not the k nearest.
    hints : ndarray of int32, shape (n_queries,), optional
        Tree-order indices of points of X close to each query (e.g. a landmark's own
        point): the searches run in the hints' order, nearby queries one after another
        (sharing the cache: 2.6x faster for 100k landmarks of a 1M cloud), and start from
        the hints' leaves. The same answers but for ties and, with ``first_only``, columns
        1 and after.
    n_threads : int, default=1
        CPU threads sharing the queries (each a run of consecutive ones).

    Returns
    -------
    index : ndarray of int32, shape (n_queries, K_NEAREST)
        Tree-order indices, nearest first; -1 pads rows with fewer points in range.
    distance : ndarray of float64, shape (n_queries, K_NEAREST)
        Distances, ``inf`` for padding.
    """
    device = tree.device
    queries = np.ascontiguousarray(queries, dtype=np.float64)
    m = len(queries)
    r2 = np.broadcast_to(np.square(np.asarray(radius, dtype=np.float64)), (m,))
    order = slice(None)
    if hints is None:
        hints = np.zeros(0, dtype=np.int32)
    else:  # in the hints' (tree) order; the rows go back to the queries' order below
        hints = np.broadcast_to(np.asarray(hints, dtype=np.int32), (m,))
        order = np.argsort(hints, kind="stable")
        hints = hints[order]
    queries, r2 = np.ascontiguousarray(queries[order]), np.ascontiguousarray(r2[order])
    index = wp.empty((m, K_NEAREST), dtype=wp.int32, device=device)
    dist2 = wp.empty((m, K_NEAREST), dtype=wp.float64, device=device)
    inputs = [
        tree.points,
        tree.lo,
        tree.hi,
        tree.first_leaf,
        wp.array(queries, dtype=wp.float64, device=device),
        wp.array(r2, dtype=wp.float64, device=device),
        bool(first_only),
        wp.array(np.ascontiguousarray(hints), dtype=wp.int32, device=device),
    ]
    _launch_shared(knn_kernel, m, inputs, [index, dist2], device, n_threads)
    found, distance = np.empty((m, K_NEAREST), np.int32), np.empty((m, K_NEAREST))
    found[order], distance[order] = index.numpy(), np.sqrt(dist2.numpy())
    return found, distance


def nearest_k_reference(points, queries, radius):
    """Brute-force NumPy reference for :func:`nearest_k` (input-order indices)."""
    points = np.asarray(points, dtype=np.float64)
    d = np.linalg.norm(np.asarray(queries)[:, None, :] - points[None], axis=2)
    r = np.broadcast_to(np.asarray(radius, dtype=np.float64), (len(d),))
    order = np.argsort(d, axis=1, kind="stable")[:, :K_NEAREST]
    dist = np.take_along_axis(d, order, axis=1)
    out = np.where(dist < r[:, None], order, -1)
    return out, np.where(out >= 0, dist, np.inf)


@wp.kernel
def leaf_first_kernel(
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    queries: wp.array2d(dtype=wp.float64),
    leaf_size: int,
    run: int,
    first_run: int,
    index: wp.array(dtype=wp.int32),
    distance: wp.array(dtype=wp.float64),
):
    """Nearest point to the first query of each leaf (leaves ``leaf_size`` rows apart),
    chaining hints along runs of ``run`` leaves."""
    r = wp.tid() + first_run
    n_leaf = index.shape[0]
    start = r * run
    stop = wp.min(start + run, n_leaf)
    hint = int(-1)
    for f in range(start, stop):
        q = vec6()
        for j in range(queries.shape[1]):
            q[j] = queries[f * leaf_size, j]
        hint = tree_nearest_from(points, lo, hi, first_leaf, q, hint)
        index[f] = wp.int32(hint)
        distance[f] = wp.sqrt(point_dist2(points, hint, q))


@wp.func
def _leaf_beyond(points: wp.array2d(dtype=wp.float64), p: int, q: vec6, floor: wp.float64):
    """Whether every point of the leaf holding tree position ``p`` is farther than ``floor``
    from ``q``."""
    start = (p // LEAF_SIZE) * LEAF_SIZE
    for r in range(start, wp.min(start + LEAF_SIZE, points.shape[0])):
        if wp.sqrt(point_dist2(points, r, q)) <= floor:
            return False
    return True


@wp.kernel
def leaf_max_kernel(
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    queries: wp.array2d(dtype=wp.float64),
    leaf_size: int,
    floor: wp.float64,
    leaves: wp.array(dtype=wp.int32),
    hints: wp.array(dtype=wp.int32),
    first_item: int,
    leaf_max: wp.array(dtype=wp.float64),
):
    """Largest nearest-point distance over the queries of each listed leaf that exceed
    ``floor`` (0 where none does). A query no farther than that from some point of the tree
    is no farther from its nearest point either: it is not searched. Tried first: the
    hint, then the other points of the hint's leaf (nearby, and where the nearest point of
    a query next to it often is)."""
    i = wp.tid() + first_item
    f = int(leaves[i])
    stop = wp.min((f + 1) * leaf_size, queries.shape[0])
    best = wp.float64(0.0)
    hint = int(hints[i])
    for qi in range(f * leaf_size, stop):
        q = vec6()
        for j in range(queries.shape[1]):
            q[j] = queries[qi, j]
        if wp.sqrt(point_dist2(points, hint, q)) > floor and _leaf_beyond(points, hint, q, floor):
            hint = tree_nearest_from(points, lo, hi, first_leaf, q, hint)
            best = wp.max(best, wp.sqrt(point_dist2(points, hint, q)))
    leaf_max[i] = best


def max_nearest_distance(tree, other, n_threads=2):
    """``max over the points x of other of min over the points p of tree |x - p|``, exactly.

    The points of ``other`` (a :class:`PointTree`, e.g. over X, with ``tree`` over the
    landmarks) are taken leaf by leaf: d at a leaf's first point plus the leaf's box
    diagonal bounds d over the leaf (d is 1-Lipschitz), so only the leaves whose bound
    exceeds the largest first-point value are searched, and in those only the points
    farther than that value from a point of ``tree`` near them (the nearest point of the
    leaf's previous query): the distance to any point of ``tree`` bounds d from above.
    """
    device = tree.device
    q = other.points
    n = q.shape[0]
    n_leaf = -(-n // LEAF_SIZE)
    index = wp.empty(n_leaf, dtype=wp.int32, device=device)
    dist = wp.empty(n_leaf, dtype=wp.float64, device=device)
    base = [tree.points, tree.lo, tree.hi, tree.first_leaf, q, LEAF_SIZE]
    _launch_shared(leaf_first_kernel, n_leaf, [*base, 64], [index, dist], device, n_threads, 64)
    first = dist.numpy()
    boxes = slice(other.first_leaf, other.first_leaf + n_leaf)
    diag = np.sqrt(((other.hi.numpy()[boxes] - other.lo.numpy()[boxes]) ** 2).sum(axis=1))
    best = float(first.max())
    todo = np.flatnonzero(first + diag * (1 + 1e-12) > best).astype(np.int32)
    if len(todo):
        leaf_max = wp.empty(len(todo), dtype=wp.float64, device=device)
        hints = wp.array(index.numpy()[todo], dtype=wp.int32, device=device)
        leaves = wp.array(todo, dtype=wp.int32, device=device)
        inputs = [*base, best, leaves, hints]
        _launch_shared(leaf_max_kernel, len(todo), inputs, [leaf_max], device, n_threads)
        best = max(best, float(leaf_max.numpy().max()))
    return best
