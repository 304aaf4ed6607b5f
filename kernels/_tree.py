"""Exact nearest-point queries in Warp: a balanced k-d tree over X.

The tree is a complete binary tree in heap layout (node ``i`` has children ``2i+1`` and
``2i+2``) over leaves of ``LEAF_SIZE`` points, built level by level: each node splits its
points at the median of its widest axis (a quickselect per node, one thread per node; the
points are first put in Z-order, so that each node's quickselect reads nearby memory). Each node
stores the axis-aligned bounding box of its points. A query walks the tree depth first,
nearer child first, with a small stack of the farther children and their box distances
(each box is measured once), pruning boxes farther than the best distance so far. It is exact in
float64 and stays fast far from the data (inside the big empty tetrahedra of a surface
scan), where a fixed-radius grid query would have to scan many empty cells.

A query may start from a known point of X (its ``hint``), e.g. the nearest point of a nearby
vertex: its distance is a tight upper bound that prunes most of the tree at once.
"""

from dataclasses import dataclass

import numpy as np
import warp as wp

from flood.kernels._pool import run_shared

wp.set_module_options({"enable_backward": False})

LEAF_SIZE = 8
ZORDER_BITS = 7  # grid bits per axis of the Z-order that precedes the median splits


@wp.func
def _key(points: wp.array2d(dtype=wp.float64), perm: wp.array(dtype=wp.int32), i: int, axis: int):
    return points[int(perm[i]), axis]


@wp.kernel
def kd_split_kernel(
    points: wp.array2d(dtype=wp.float64),
    perm: wp.array(dtype=wp.int32),
    span: int,
    first_node: int,
):
    """Split node ``t`` of one tree level: points ``perm[t*span : (t+1)*span]`` are partitioned
    so that the first ``span/2`` have the smaller coordinates along the node's widest axis
    (estimated from at most 512 of its points; any axis keeps the tree exact)."""
    t = wp.tid() + first_node
    n = perm.shape[0]
    s = t * span
    e = wp.min(s + span, n)
    mid = s + span // 2
    if mid < e:
        axis = int(0)
        widest = wp.float64(-1.0)
        stride = wp.max(1, (e - s) // 512)
        for j in range(points.shape[1]):
            mn = wp.float64(wp.inf)
            mx = wp.float64(-wp.inf)
            for i in range(s, e, stride):
                v = _key(points, perm, i, j)
                mn = wp.min(mn, v)
                mx = wp.max(mx, v)
            if mx - mn > widest:
                widest = mx - mn
                axis = j
        left = s
        right = e - 1
        while right > left:
            a = _key(points, perm, left, axis)
            b = _key(points, perm, (left + right) // 2, axis)
            c = _key(points, perm, right, axis)
            pivot = wp.max(wp.min(a, b), wp.min(wp.max(a, b), c))
            i = left
            j = right
            while i <= j:
                while _key(points, perm, i, axis) < pivot:
                    i += 1
                while _key(points, perm, j, axis) > pivot:
                    j -= 1
                if i <= j:
                    tmp = perm[i]
                    perm[i] = perm[j]
                    perm[j] = tmp
                    i += 1
                    j -= 1
            if mid <= j:
                right = j
            elif mid >= i:
                left = i
            else:
                right = left


@wp.kernel
def gather_kernel(
    points: wp.array2d(dtype=wp.float64),
    order: wp.array(dtype=wp.int32),
    out: wp.array2d(dtype=wp.float64),
):
    i = wp.tid()
    for j in range(points.shape[1]):
        out[i, j] = points[int(order[i]), j]


vec6 = wp.types.vector(length=6, dtype=wp.float64)  # query points, dim <= 6


@wp.func
def box_dist2(
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    node: int,
    q: vec6,
):
    zero = wp.float64(0.0)
    if lo.shape[1] == 3:  # the common case, unrolled and without branches
        e0 = wp.max(lo[node, 0] - q[0], zero) + wp.max(q[0] - hi[node, 0], zero)
        e1 = wp.max(lo[node, 1] - q[1], zero) + wp.max(q[1] - hi[node, 1], zero)
        e2 = wp.max(lo[node, 2] - q[2], zero) + wp.max(q[2] - hi[node, 2], zero)
        return e0 * e0 + e1 * e1 + e2 * e2
    s = wp.float64(0.0)
    for j in range(lo.shape[1]):
        e = wp.max(lo[node, j] - q[j], zero) + wp.max(q[j] - hi[node, j], zero)
        s += e * e
    return s


@wp.func
def point_dist2(points: wp.array2d(dtype=wp.float64), p: int, q: vec6):
    if points.shape[1] == 3:
        d0 = points[p, 0] - q[0]
        d1 = points[p, 1] - q[1]
        d2 = points[p, 2] - q[2]
        return d0 * d0 + d1 * d1 + d2 * d2
    s = wp.float64(0.0)
    for j in range(points.shape[1]):
        t = points[p, j] - q[j]
        s += t * t
    return s


@wp.func
def children_by_distance(
    lo: wp.array2d(dtype=wp.float64), hi: wp.array2d(dtype=wp.float64), node: int, q: vec6
):
    """(nearer child, its box distance^2, farther child, its box distance^2); the first
    child on ties."""
    c1 = 2 * node + 1
    d1 = box_dist2(lo, hi, c1, q)
    d2 = box_dist2(lo, hi, c1 + 1, q)
    if d1 <= d2:
        return c1, d1, c1 + 1, d2
    return c1 + 1, d2, c1, d1


MAX_TREE_DEPTH = 40  # stack entries of a query: one far child per level (2^40 leaves)
vec_stack_i = wp.types.vector(length=MAX_TREE_DEPTH, dtype=wp.int32)
vec_stack_d = wp.types.vector(length=MAX_TREE_DEPTH, dtype=wp.float64)


@wp.func
def tree_nearest(
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    q: vec6,
    hint: int,
):
    """Index (in tree order) of the nearest point to ``q``; ties keep the hint."""
    n = points.shape[0]
    best = int(-1)
    best2 = wp.float64(wp.inf)
    if hint >= 0:
        best = hint
        best2 = point_dist2(points, hint, q)
    stack_node = vec_stack_i()
    stack_d2 = vec_stack_d()
    sp = int(0)
    node = int(0)
    d2 = box_dist2(lo, hi, 0, q)
    while True:
        if d2 < best2:
            if node >= first_leaf:
                start = (node - first_leaf) * LEAF_SIZE
                stop = wp.min(start + LEAF_SIZE, n)
                for p in range(start, stop):
                    e2 = point_dist2(points, p, q)
                    if e2 < best2:
                        best2 = e2
                        best = p
                d2 = wp.float64(wp.inf)
            else:
                node, d2, far, far2 = children_by_distance(lo, hi, node, q)
                stack_node[sp] = wp.int32(far)
                stack_d2[sp] = far2
                sp += 1
        else:
            if sp == 0:
                break
            sp -= 1
            node = int(stack_node[sp])
            d2 = stack_d2[sp]
    return best


K_NEAREST = 16  # points returned by one k-nearest query (the S-loop adds the first n_add)
veckd = wp.types.vector(length=K_NEAREST, dtype=wp.float64)
vecki = wp.types.vector(length=K_NEAREST, dtype=wp.int32)


@wp.func
def knn_insert(dd: veckd, ii: vecki, count: int, kmax: int, d2: wp.float64, p: int):
    """Insert (d2, p) into the sorted list of the ``count`` best (at most ``kmax``); returns
    the new list. A full list loses its last entry whatever ``d2`` is: call it only with
    ``d2`` below that entry (:func:`tree_knn` prunes at it)."""
    j = count
    if count >= kmax:
        j = kmax - 1
    while j > 0:
        if dd[j - 1] > d2:
            dd[j] = dd[j - 1]
            ii[j] = ii[j - 1]
            j -= 1
        else:
            break
    dd[j] = d2
    ii[j] = wp.int32(p)
    return dd, ii, wp.min(count + 1, kmax)


@wp.func
def tree_knn(
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    q: vec6,
    r2: wp.float64,
    kmax: int,
    first_only: bool,
):
    """The (at most) ``kmax <= K_NEAREST`` points nearest to ``q`` with squared distance
    ``< r2`` (a smaller ``kmax`` prunes sooner: ``kmax = 1`` is a radius-bounded nearest).
    With ``first_only`` the search prunes at the nearest point found so far, as a nearest
    search does: entry 0 is still the nearest point (or none is within ``r2``), the others
    are only the nearest of the points it happened to visit (free by-products).

    Returns ``(count, d2, index)``: squared distances ascending, tree-order indices.
    """
    n = points.shape[0]
    count = int(0)
    dd = veckd()
    ii = vecki()
    bound = r2
    stack_node = vec_stack_i()
    stack_d2 = vec_stack_d()
    sp = int(0)
    node = int(0)
    d2 = box_dist2(lo, hi, 0, q)
    while True:
        if d2 < bound:
            if node >= first_leaf:
                start = (node - first_leaf) * LEAF_SIZE
                stop = wp.min(start + LEAF_SIZE, n)
                for p in range(start, stop):
                    e2 = point_dist2(points, p, q)
                    if e2 < bound:
                        dd, ii, count = knn_insert(dd, ii, count, kmax, e2, p)
                        if count == kmax:
                            bound = dd[kmax - 1]
                        if first_only:
                            bound = dd[0]
                    elif first_only and e2 < r2 and (count < kmax or e2 < dd[kmax - 1]):
                        dd, ii, count = knn_insert(dd, ii, count, kmax, e2, p)
                d2 = wp.float64(wp.inf)
            else:
                node, d2, far, far2 = children_by_distance(lo, hi, node, q)
                stack_node[sp] = wp.int32(far)
                stack_d2[sp] = far2
                sp += 1
        else:
            if sp == 0:
                break
            sp -= 1
            node = int(stack_node[sp])
            d2 = stack_d2[sp]
    return count, dd, ii


@wp.kernel
def knn_kernel(
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    queries: wp.array2d(dtype=wp.float64),
    radius2: wp.array(dtype=wp.float64),
    first_only: bool,
    index: wp.array2d(dtype=wp.int32),
    distance2: wp.array2d(dtype=wp.float64),
):
    qi = wp.tid()
    q = vec6()
    for j in range(queries.shape[1]):
        q[j] = queries[qi, j]
    count, dd, ii = tree_knn(points, lo, hi, first_leaf, q, radius2[qi], K_NEAREST, first_only)
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


@wp.struct
class TreeArrays:
    """A :class:`PointTree`'s arrays, as one argument of a kernel (:meth:`PointTree.arrays`)."""

    points: wp.array2d(dtype=wp.float64)  # (n_points, dim): X in tree order
    lo: wp.array2d(dtype=wp.float64)  # (n_nodes, dim): the nodes' box corners
    hi: wp.array2d(dtype=wp.float64)
    first_leaf: int  # heap index of the first leaf node


@dataclass
class PointTree:
    """A built tree: the points in tree order and the boxes of the heap-ordered nodes.

    Attributes
    ----------
    points : warp.array2d of float64, shape (n_points, dim)
        The points of X in tree order.
    order : ndarray of int64, shape (n_points,)
        ``order[i]`` is the index in the input of the point at tree position ``i``.
    lo, hi : warp.array2d of float64, shape (n_nodes, dim)
        Box corners per node; padding leaves have ``lo = +inf`` and ``hi = -inf``.
    first_leaf : int
        Heap index of the first leaf node.
    device : str
        The Warp device holding the arrays.
    """

    points: wp.array
    order: np.ndarray
    lo: wp.array
    hi: wp.array
    first_leaf: int
    device: str

    @property
    def n_points(self) -> int:
        return self.points.shape[0]

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    def arrays(self) -> TreeArrays:
        """The tree's arrays as one kernel argument."""
        out = TreeArrays()
        out.points, out.lo, out.hi, out.first_leaf = self.points, self.lo, self.hi, self.first_leaf
        return out


def _morton_order(pts):
    """Indices of the points in a coarse Z-order: the Morton key of a grid of at most
    ``2**ZORDER_BITS`` cells per axis (locality for the splits, not the tree itself).
    Column by column: the temporaries are a few bytes per point, not copies of ``pts``."""
    n, dim = pts.shape
    bits = max(1, min(ZORDER_BITS, 30 // dim))
    sample = pts[:: max(1, n // 4096)]  # any box will do: keys are clipped into the grid
    lo = sample.min(axis=0)
    span = float((sample.max(axis=0) - lo).max())
    scale = ((1 << bits) - 1) / span if span > 0 else 0.0
    spread = np.zeros(1 << bits, dtype=np.int32)  # bit b of i -> bit b * dim
    for b in range(bits):
        spread |= ((np.arange(1 << bits) >> b) & 1).astype(np.int32) << (b * dim)
    key = np.zeros(n, dtype=np.int32)
    for j in range(dim):
        q = np.clip(((pts[:, j] - lo[j]) * scale).astype(np.int32), 0, (1 << bits) - 1)
        key |= spread[q] << j
    return np.argsort(key, kind="stable")


def _gather(src, order, device):
    """``src[order]`` as a Warp array on ``device`` (``src``: a NumPy array on the CPU, where
    NumPy's take beats a launch of one thread per row and the result is not copied again;
    else a Warp array on the device)."""
    if str(device).startswith("cpu"):
        return wp.array(np.asarray(src)[order], dtype=wp.float64, device=device, copy=False)
    out = wp.empty(src.shape, dtype=wp.float64, device=device)
    idx = wp.array(np.ascontiguousarray(order, dtype=np.int32), dtype=wp.int32, device=device)
    wp.launch(gather_kernel, dim=len(order), inputs=[src, idx], outputs=[out], device=device)
    return out


def _launch_split(points, perm, span, n_nodes, device):
    """One level of median splits; on the CPU two threads share the nodes of a level."""
    _launch_shared(kd_split_kernel, n_nodes, [points, perm, span], [], device, 2)


def build_tree(points, device="cpu"):
    """Build a :class:`PointTree` over ``points``.

    Parameters
    ----------
    points : ndarray of shape (n_points, dim)
        Finite coordinates; converted to float64.
    device : str, default="cpu"
        Warp device for the arrays and later queries.

    Returns
    -------
    tree : PointTree
    """
    pts = np.ascontiguousarray(points, dtype=np.float64)
    n, dim = pts.shape
    n_leaves = -(-n // LEAF_SIZE)
    depth = max(0, int(n_leaves - 1).bit_length())
    # the CPU gathers from pts itself; a GPU from one copy on the device
    src = pts if str(device).startswith("cpu") else wp.array(pts, dtype=wp.float64, device=device)
    # Z-order first: the median splits below then read nearby memory
    morton = _morton_order(pts)
    z_pts = _gather(src, morton, device)
    perm = wp.array(np.arange(n, dtype=np.int32), dtype=wp.int32, device=device)
    for level in range(depth):
        span = LEAF_SIZE << (depth - level)
        _launch_split(z_pts, perm, span, -(-n // span), device)
    del z_pts  # peak memory: the Z-ordered copy goes before the tree-ordered one comes
    order = morton[perm.numpy()]
    del morton, perm
    sorted_wp = _gather(src, order, device)
    del src
    sorted_pts = sorted_wp.numpy()

    n_pow2 = 1 << depth
    node_lo = np.full((2 * n_pow2 - 1, dim), np.inf)
    node_hi = np.full((2 * n_pow2 - 1, dim), -np.inf)
    first = n_pow2 - 1
    full = n // LEAF_SIZE  # full leaves, then at most one partial leaf
    leaves = sorted_pts[: full * LEAF_SIZE].reshape(full, LEAF_SIZE, dim)
    node_lo[first : first + full] = leaves.min(axis=1)
    node_hi[first : first + full] = leaves.max(axis=1)
    if full < n_leaves:
        node_lo[first + full] = sorted_pts[full * LEAF_SIZE :].min(axis=0)
        node_hi[first + full] = sorted_pts[full * LEAF_SIZE :].max(axis=0)
    start, width = first, n_pow2
    while width > 1:
        parent = start - width // 2
        node_lo[parent:start] = np.minimum(
            node_lo[start : start + width : 2], node_lo[start + 1 : start + width : 2]
        )
        node_hi[parent:start] = np.maximum(
            node_hi[start : start + width : 2], node_hi[start + 1 : start + width : 2]
        )
        start, width = parent, width // 2
    return PointTree(
        points=sorted_wp,
        order=order.astype(np.int64, copy=False),
        lo=wp.array(node_lo, dtype=wp.float64, device=device),
        hi=wp.array(node_hi, dtype=wp.float64, device=device),
        first_leaf=first,
        device=device,
    )


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


def nearest_k(tree, queries, radius, first_only=False):
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
    r2 = np.broadcast_to(np.square(np.asarray(radius, dtype=np.float64)), (m,)).copy()
    index = wp.empty((m, K_NEAREST), dtype=wp.int32, device=device)
    dist2 = wp.empty((m, K_NEAREST), dtype=wp.float64, device=device)
    if m:
        wp.launch(
            knn_kernel,
            dim=m,
            inputs=[
                tree.points,
                tree.lo,
                tree.hi,
                tree.first_leaf,
                wp.array(queries, dtype=wp.float64, device=device),
                wp.array(r2, dtype=wp.float64, device=device),
                bool(first_only),
            ],
            outputs=[index, dist2],
            device=device,
        )
    return index.numpy(), np.sqrt(dist2.numpy())


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
        hint = tree_nearest(points, lo, hi, first_leaf, q, hint)
        index[f] = wp.int32(hint)
        distance[f] = wp.sqrt(point_dist2(points, hint, q))


@wp.kernel
def leaf_max_kernel(
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    queries: wp.array2d(dtype=wp.float64),
    leaf_size: int,
    leaves: wp.array(dtype=wp.int32),
    hints: wp.array(dtype=wp.int32),
    first_item: int,
    leaf_max: wp.array(dtype=wp.float64),
):
    """Largest nearest-point distance over the queries of each listed leaf."""
    i = wp.tid() + first_item
    f = int(leaves[i])
    stop = wp.min((f + 1) * leaf_size, queries.shape[0])
    best = wp.float64(0.0)
    hint = int(hints[i])
    for qi in range(f * leaf_size, stop):
        q = vec6()
        for j in range(queries.shape[1]):
            q[j] = queries[qi, j]
        hint = tree_nearest(points, lo, hi, first_leaf, q, hint)
        best = wp.max(best, wp.sqrt(point_dist2(points, hint, q)))
    leaf_max[i] = best


def _launch_shared(kernel, n_items, inputs, outputs, device, n_threads, run=1):
    """Launch ``kernel`` over ``ceil(n_items / run)`` threads split among CPU threads; the
    kernel takes the index of its first thread as its last input."""
    n = -(-n_items // run)
    parts = [(0, n)]
    if n_threads > 1 and n > 1 and str(device).startswith("cpu"):
        step = -(-n // n_threads)
        parts = [(a, min(a + step, n)) for a in range(0, n, step)]

    def launch(p):
        a, e = p
        wp.launch(kernel, dim=e - a, inputs=[*inputs, a], outputs=outputs, device=device)

    if n:
        run_shared(launch, parts, len(parts))


def max_nearest_distance(tree, other, n_threads=2):
    """``max over the points x of other of min over the points p of tree |x - p|``, exactly.

    The points of ``other`` (a :class:`PointTree`, e.g. over X, with ``tree`` over the
    landmarks) are taken leaf by leaf: d at a leaf's first point plus the leaf's box
    diagonal bounds d over the leaf (d is 1-Lipschitz), so only the leaves whose bound
    exceeds the largest first-point value are searched in full.
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
        _launch_shared(
            leaf_max_kernel, len(todo), [*base, leaves, hints], [leaf_max], device, n_threads
        )
        best = max(best, float(leaf_max.numpy().max()))
    return best
