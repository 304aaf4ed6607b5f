"""Queries of the k-d tree (:mod:`flood.kernels._tree`) as ``@wp.func``s: the nearest point
of X to a query, and its nearest points within a radius (k-nearest).

A query walks the tree depth first, nearer child first, with a small stack of the farther
children and their box distances (each box is measured once), pruning boxes farther than the
best distance so far. It is exact in float64 and stays fast far from the data (inside the big
empty tetrahedra of a surface scan), where a fixed-radius grid query would have to scan many
empty cells. A query may start from a known point of X (its ``hint``), e.g. the nearest point
of a nearby vertex: its distance is a tight upper bound that prunes most of the tree at once.
"""

import warp as wp

from flood.kernels._tree import LEAF_SIZE, vec6

wp.set_module_options({"enable_backward": False})


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
