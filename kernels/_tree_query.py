"""Queries of the k-d tree (:mod:`flood.kernels._tree`) as ``@wp.func``s: the nearest point
of X to a query, and its nearest points within a radius (k-nearest).

A query walks the tree depth first, nearer child first, with a small stack of the farther
children and their box distances (each box is measured once), pruning boxes farther than the
best distance so far. It is exact in float64 and stays fast far from the data (inside the big
empty tetrahedra of a surface scan), where a fixed-radius grid query would have to scan many
empty cells.

A nearest query may take a known point of X (its ``hint``): its distance bounds the search
from the start. The ``_from`` queries also start from the hint's leaf instead of the root,
where the hint is likely the answer or next to it (the previous answer in a chain of nearby
queries, a landmark's own point); with a hint far from the answer (a simplex corner's site
for a point inside the simplex, the site at distance phi_S(y*) of the S-loop's query) the
search from the root is faster (measured, issue 30): it reaches the query's leaves first.

Bottom up, a query scans the hint's leaf, then climbs: once the subtree below a node is
searched, it stops if the ball B of the current bound about the query q lies inside the
node's box, else it searches the node's sibling subtree (top down, pruned as usual) and goes
on from the parent. The stop is exact: a point x outside the subtree parted from it at an
ancestor whose split (:func:`flood.kernels._tree.split_node`) put the node's points on one
side of a plane ``x_a = m`` and x on the other (or on it), so the node's box (of its own
points) lies on its side: with ``hi_a <= m <= x_a`` say, ``|x - q| >= x_a - q_a >= hi_a -
q_a``, at least B's radius. It holds for the computed distances too: ``fl(x_a - q_a) >=
fl(hi_a - q_a) >= 0`` (rounding is monotone), so their squares keep that order, and a
computed sum of nonnegative squares is at least each of its terms; the test squares the same
``fl(hi_a - q_a)`` (``lo`` alike). So a bottom-up query returns what the top-down one does,
but for ties among equal distances (and the by-products of ``first_only``).
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
def ball_inside(
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    node: int,
    q: vec6,
    r2: wp.float64,
):
    """Whether the ball of squared radius ``r2`` about ``q`` lies inside the node's box: each
    face at least that far (squared as computed) from q on the inside (module docstring)."""
    zero = wp.float64(0.0)
    if lo.shape[1] == 3:  # the common case, unrolled and without branches
        m0 = wp.min(q[0] - lo[node, 0], hi[node, 0] - q[0])
        m1 = wp.min(q[1] - lo[node, 1], hi[node, 1] - q[1])
        m2 = wp.min(q[2] - lo[node, 2], hi[node, 2] - q[2])
        m = wp.min(wp.min(m0, m1), m2)  # the nearest face, from the inside (< 0: outside)
        return m >= zero and m * m >= r2
    for j in range(lo.shape[1]):
        m = wp.min(q[j] - lo[node, j], hi[node, j] - q[j])
        if m < zero or m * m < r2:
            return False
    return True


@wp.func
def climb(
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    top: int,
    q: vec6,
    bound: wp.float64,
):
    """After the subtree below ``top`` is searched: (done, the sibling to search next, its box
    distance^2, the new top: the parent). Done at the root, or once the ball of ``bound``
    about q lies inside top's box (nothing outside the subtree can be within the bound)."""
    if top == 0 or ball_inside(lo, hi, top, q, bound):
        return True, int(0), wp.float64(0.0), int(0)
    sib = top + 1
    if top % 2 == 0:  # a right child (2i + 2): its sibling is on its left
        sib = top - 1
    return False, sib, box_dist2(lo, hi, sib, q), (top - 1) // 2


@wp.func
def nearest_search(
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    q: vec6,
    hint: int,
    from_hint: bool,
):
    """:func:`tree_nearest` (``from_hint`` False) and :func:`tree_nearest_from` (True)."""
    n = points.shape[0]
    best = int(-1)
    best2 = wp.float64(wp.inf)
    node = int(0)
    if hint >= 0:
        best = hint
        best2 = point_dist2(points, hint, q)
        if from_hint:
            node = first_leaf + hint // LEAF_SIZE
    top = node  # the subtree being searched; above it the search climbs
    stack_node = vec_stack_i()
    stack_d2 = vec_stack_d()
    sp = int(0)
    d2 = box_dist2(lo, hi, node, q)
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
        elif sp > 0:
            sp -= 1
            node = int(stack_node[sp])
            d2 = stack_d2[sp]
        else:
            done, node, d2, top = climb(lo, hi, top, q, best2)
            if done:
                break
    return best


@wp.func
def tree_nearest(
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    q: vec6,
    hint: int,
):
    """Index (in tree order) of the nearest point to ``q``, searched from the root; a hint
    (``>= 0``) bounds the search, and ties keep it."""
    return nearest_search(points, lo, hi, first_leaf, q, hint, False)


@wp.func
def tree_nearest_from(
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    q: vec6,
    hint: int,
):
    """:func:`tree_nearest`, searched bottom up from the hint's leaf (module docstring)."""
    return nearest_search(points, lo, hi, first_leaf, q, hint, True)


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
def knn_search(
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    q: vec6,
    r2: wp.float64,
    kmax: int,
    first_only: bool,
    hint: int,
):
    """:func:`tree_knn` (``hint < 0``: from the root) and :func:`tree_knn_from`."""
    n = points.shape[0]
    count = int(0)
    dd = veckd()
    ii = vecki()
    bound = r2
    stack_node = vec_stack_i()
    stack_d2 = vec_stack_d()
    sp = int(0)
    node = int(0)
    if hint >= 0:
        node = first_leaf + hint // LEAF_SIZE
    top = node  # the subtree being searched; above it the search climbs
    d2 = box_dist2(lo, hi, node, q)
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
        elif sp > 0:
            sp -= 1
            node = int(stack_node[sp])
            d2 = stack_d2[sp]
        else:
            done, node, d2, top = climb(lo, hi, top, q, bound)
            if done:
                break
    return count, dd, ii


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
    return knn_search(points, lo, hi, first_leaf, q, r2, kmax, first_only, -1)


@wp.func
def tree_knn_from(
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    q: vec6,
    r2: wp.float64,
    kmax: int,
    first_only: bool,
    hint: int,
):
    """:func:`tree_knn`, searched bottom up from the leaf of ``hint`` (a point of X near q;
    module docstring; from the root if ``hint < 0``): the same answer but for ties among
    equal distances, and with ``first_only`` other by-products (the points visited)."""
    return knn_search(points, lo, hi, first_leaf, q, r2, kmax, first_only, hint)
