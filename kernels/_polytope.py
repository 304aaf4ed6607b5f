"""The lifted polytope P of one task: its layout in the per-task arrays, its constraint
masks and vertex sets, and the maximizer of phi_S read off its vertices.

The maximum of phi_S, by lifting. Write y = w_0 + E u for u in the standard simplex Δ ⊂ R^k
(E = [w_1 - w_0, ..., w_k - w_0]). Then |y - t|^2 = |E u|^2 + a_t . u + b_t with
a_t = 2 E^T (w_0 - t) and b_t = |w_0 - t|^2, so

    phi_S(y)^2 = |E u|^2 + h(u),   h(u) = min over t in S of (a_t . u + b_t)   (concave, PL).

Let P = {(u, z) : u in Δ, z_min <= z <= a_t . u + b_t for all t in S}, a convex polytope in
R^(k+1) (z_min lies below every site plane on Δ, as a_t . u + b_t >= -|E u|^2 >= -max|e_j|^2).
F(u, z) = |E u|^2 + z is convex and increasing in z, so
``max over C of phi_S^2 = max over P of F = max over the vertices of P of F``. Its upper
vertices are the vertices of the Voronoi diagram of S restricted to C (Voronoi vertices inside,
Voronoi edges crossing facets, ..., the corners of C).

Layout (per task t): ``pv[t, v]`` holds vertex v's u (columns ``0 .. U_DIM - 1``,
zero beyond k), z (``COL_Z``) and F (``COL_F``); ``pm[t, v]`` the bit mask of the constraints
active at it (bits ``0 .. k``: the facets of Δ; bit ``k + 1``: the floor z_min; the rest:
site slots, whose point index or marker is in ``slots[t]``); ``vs[t, c]`` the set of
vertices holding constraint c, and row ``FREE_ROW`` the mask of free slots.
"""

import warp as wp

from flood.kernels._tree import vec6

wp.set_module_options({"enable_backward": False})

MAX_CORNERS = 7  # simplices of dimension <= 6
N_WORDS = 1  # 64-bit words per vertex mask
N_BITS = 64 * N_WORDS  # constraint bits per vertex mask: k+1 facets, the floor, site slots
FREE_ROW = N_BITS  # the row of the vertex sets ``vs`` that holds the free-slot mask (one word)
MAX_POLY_VERTICES = 256  # vertices of one task's lifted polytope (fixed per-task arrays)
U_DIM = 6  # columns of u and of a plane's a (k <= 6; zero beyond k: fixed, unrolled loops)
COL_Z = U_DIM  # column of z in the vertex array (u in columns 0 .. U_DIM - 1)
COL_F = U_DIM + 1  # column of the lifted value F = |E u|^2 + z
N_COLS = U_DIM + 2  # u (zero-padded), z, F
FLOOR_GAP = 1e-300  # z_min lies strictly below -2 max |e_j|^2, even for a point simplex

FREE = -1  # slot markers: a free slot, a split plane (else the slot holds a site index)
SPLIT_PLANE = -2


@wp.struct
class Simplices:
    """The tasks' simplices (row t: task t), in the tree's coordinates."""

    corners: wp.array3d(dtype=wp.float64)  # (task, k + 1, dim): w_0 .. w_k
    edges: wp.array3d(dtype=wp.float64)  # (task, dim, U_DIM): column c is w_(c+1) - w_0, or 0


@wp.struct
class Polytope:
    """Per-task scratch holding the lifted polytope P of the task's current piece (row t:
    task t; see the module docstring for the layout)."""

    pv: wp.array3d(dtype=wp.float64)  # (task, vertex, N_COLS): u, z, F
    pm: wp.array3d(dtype=wp.uint64)  # (task, vertex, N_WORDS): the active constraints' bits
    ps: wp.array2d(dtype=wp.float64)  # (task, vertex): slack under the plane being cut
    negs: wp.array2d(dtype=wp.int32)  # (task, vertex): removed vertices, band ones from the end
    vs: wp.array3d(dtype=wp.uint64)  # (task, N_BITS + 1, words): vertex sets; FREE_ROW
    pairs: wp.array2d(dtype=wp.int32)  # (task, vertex): a cut's new edges, p * PAIR_BASE + q
    slots: wp.array2d(dtype=wp.int32)  # (task, N_BITS): site index, FREE or SPLIT_PLANE
    counts: wp.array2d(dtype=wp.int64)  # event counters (kernels/_counters.py; off by default)


@wp.func
def bit(i: int):
    return wp.uint64(1) << wp.uint64(i)


@wp.func
def has_bit(pm: wp.array3d(dtype=wp.uint64), t: int, v: int, i: int):
    w = i // 64
    return ((pm[t, v, w] >> wp.uint64(i - 64 * w)) & wp.uint64(1)) != wp.uint64(0)


@wp.func
def set_bit(pm: wp.array3d(dtype=wp.uint64), t: int, v: int, i: int):
    w = i // 64
    pm[t, v, w] = pm[t, v, w] | bit(i - 64 * w)


@wp.func
def low_bit(x: wp.uint64):
    """Index of the lowest set bit of ``x != 0``."""
    return wp.bit_count((x ^ (x & (x - wp.uint64(1)))) - wp.uint64(1))


@wp.func
def vset_add(vs: wp.array3d(dtype=wp.uint64), t: int, c: int, v: int):
    w = v // 64
    vs[t, c, w] = vs[t, c, w] | bit(v - 64 * w)


@wp.func
def vset_drop(vs: wp.array3d(dtype=wp.uint64), t: int, c: int, v: int):
    w = v // 64
    vs[t, c, w] = vs[t, c, w] & ~bit(v - 64 * w)


@wp.func
def index_vertex(
    pm: wp.array3d(dtype=wp.uint64), vs: wp.array3d(dtype=wp.uint64), t: int, v: int, add: bool
):
    """Enter vertex v into (or take it out of) the vertex set of each of its constraints."""
    for w in range(N_WORDS):
        m = pm[t, v, w]
        while m != wp.uint64(0):
            c = 64 * w + low_bit(m)
            if add:
                vset_add(vs, t, c, v)
            else:
                vset_drop(vs, t, c, v)
            m = m & (m - wp.uint64(1))


@wp.func
def rebuild_vsets(
    pm: wp.array3d(dtype=wp.uint64),
    vs: wp.array3d(dtype=wp.uint64),
    slots: wp.array2d(dtype=wp.int32),
    t: int,
    nv: int,
    kp1: int,
):
    """The vertex sets of every constraint in use (the facets, the floor and the slots not
    free), from the vertices' masks. The rows of free slots are left as they are: nothing
    reads them, and :func:`flood.kernels._cut.cut` clears a slot's row when it takes it (the
    per-thread scratch is reused, so they may hold another task's bits)."""
    for c in range(N_BITS):
        if c <= kp1 or slots[t, c] != FREE:
            for w in range(vs.shape[2]):
                vs[t, c, w] = wp.uint64(0)
    for v in range(nv):
        index_vertex(pm, vs, t, v, True)


@wp.func
def copy_vertex(
    pv: wp.array3d(dtype=wp.float64), pm: wp.array3d(dtype=wp.uint64), t: int, src: int, dst: int
):
    for c in range(N_COLS):
        pv[t, dst, c] = pv[t, src, c]
    for j in range(N_WORDS):
        pm[t, dst, j] = pm[t, src, j]


@wp.func
def free_slot(vs: wp.array3d(dtype=wp.uint64), t: int):
    """(the first free slot or -1, the number of free slots), from the free-slot mask."""
    m = vs[t, FREE_ROW, 0]
    if m == wp.uint64(0):
        return int(-1), int(0)
    return int(low_bit(m)), int(wp.bit_count(m))


@wp.func
def set_free(vs: wp.array3d(dtype=wp.uint64), t: int, slot: int, free: bool):
    """Mark a site slot free or taken in the free-slot mask."""
    if free:
        vs[t, FREE_ROW, 0] = vs[t, FREE_ROW, 0] | bit(slot)
    else:
        vs[t, FREE_ROW, 0] = vs[t, FREE_ROW, 0] & ~bit(slot)


@wp.func
def reset_free(
    vs: wp.array3d(dtype=wp.uint64), slots: wp.array2d(dtype=wp.int32), t: int, kp1: int
):
    """The free-slot mask from the slots (after they were set wholesale)."""
    m = wp.uint64(0)
    for j in range(kp1 + 1, N_BITS):
        if slots[t, j] == FREE:
            m = m | bit(j)
    vs[t, FREE_ROW, 0] = m


@wp.func
def free_slots(
    pm: wp.array3d(dtype=wp.uint64),
    vs: wp.array3d(dtype=wp.uint64),
    slots: wp.array2d(dtype=wp.int32),
    t: int,
    nv: int,
    kp1: int,
):
    """Constraints (sites, split planes) whose bit no vertex carries are redundant on the
    piece: free their slots."""
    for w in range(N_WORDS):
        used = wp.uint64(0)
        for v in range(nv):
            used = used | pm[t, v, w]
        for j in range(64):
            s = 64 * w + j
            if s > kp1 and slots[t, s] != FREE and (used & bit(j)) == wp.uint64(0):
                slots[t, s] = wp.int32(FREE)
                set_free(vs, t, s, True)
                for x in range(vs.shape[2]):
                    vs[t, s, x] = wp.uint64(0)


@wp.func
def site_plane(
    tx: wp.array3d(dtype=wp.float64),
    te: wp.array3d(dtype=wp.float64),
    xs: wp.array2d(dtype=wp.float64),
    t: int,
    s: int,
):
    """a_j = 2 (w_j - w_0) . (w_0 - x_s), b = |w_0 - x_s|^2: the site's plane over u (a is
    zero beyond k, as ``te`` is)."""
    a = vec6()
    b = wp.float64(0.0)
    for l in range(tx.shape[2]):
        d0 = tx[t, 0, l] - xs[s, l]
        b += d0 * d0
        for c in range(U_DIM):
            a[c] = a[c] + te[t, l, c] * d0
    for c in range(U_DIM):
        a[c] = wp.float64(2.0) * a[c]
    return a, b


@wp.func
def lifted_value(
    te: wp.array3d(dtype=wp.float64), pv: wp.array3d(dtype=wp.float64), t: int, v: int
):
    """F = |E u|^2 + z at vertex v: phi_S^2 at an upper vertex. ``te[t, l, c]`` is
    coordinate l of the edge vector w_(c+1) - w_0 (zero for c >= k)."""
    s = wp.float64(0.0)
    if te.shape[1] == 3:  # the common case, unrolled
        u0 = pv[t, v, 0]
        u1 = pv[t, v, 1]
        u2 = pv[t, v, 2]
        for l in range(3):
            e = u0 * te[t, l, 0] + u1 * te[t, l, 1] + u2 * te[t, l, 2]
            s += e * e
        return s + pv[t, v, COL_Z]
    for l in range(te.shape[1]):
        e = wp.float64(0.0)
        for c in range(U_DIM):  # u is zero beyond k: a fixed, unrolled loop
            e += pv[t, v, c] * te[t, l, c]
        s += e * e
    return s + pv[t, v, COL_Z]


@wp.func
def init_prism(
    sx: Simplices,
    xs: wp.array2d(dtype=wp.float64),
    t: int,
    s: int,
    zmin: wp.float64,
    poly: Polytope,
):
    """P for S = {s}: the prism over Δ between z_min and the plane of s. Returns its size.
    Every slot but the site's must be free (:func:`flood.kernels._sloop.start_task` frees
    them): the free-slot mask is written as all slots above the site's."""
    tx = sx.corners
    te = sx.edges
    pv = poly.pv
    pm = poly.pm
    vs = poly.vs
    slots = poly.slots
    kp1 = tx.shape[1]
    a, b = site_plane(tx, te, xs, t, s)
    slot = kp1 + 1
    slots[t, slot] = wp.int32(s)
    facets = bit(kp1) - wp.uint64(1)  # facet and floor bits all lie in word 0
    for j in range(kp1):
        base = facets & ~bit(j)  # corner j lies on every facet of Δ but facet j
        top = b
        if j > 0:
            top = b + a[j - 1]
        for h in range(2):
            v = 2 * j + h
            for c in range(U_DIM):
                pv[t, v, c] = wp.float64(0.0)
            if j > 0:
                pv[t, v, j - 1] = wp.float64(1.0)
            for w in range(1, N_WORDS):
                pm[t, v, w] = wp.uint64(0)
            if h == 0:
                pv[t, v, COL_Z] = zmin
                pm[t, v, 0] = base | bit(kp1)
            else:
                pv[t, v, COL_Z] = top
                pm[t, v, 0] = base
                set_bit(pm, t, v, slot)
            pv[t, v, COL_F] = lifted_value(te, pv, t, v)
    # the vertex sets, written directly (the sets rebuild_vsets would find, the mask
    # reset_free would): vertex 2j + h holds every facet but j, and the floor (h = 0) or
    # the site (h = 1); every slot above is free
    allv = bit(2 * kp1) - wp.uint64(1)
    even = wp.uint64(0)
    for j in range(kp1):
        even = even | bit(2 * j)
    for i in range(kp1):
        vs[t, i, 0] = allv & ~(wp.uint64(3) << wp.uint64(2 * i))
    vs[t, kp1, 0] = even
    vs[t, slot, 0] = allv & ~even
    for w in range(1, vs.shape[2]):
        for c in range(kp1 + 2):
            vs[t, c, w] = wp.uint64(0)
    vs[t, FREE_ROW, 0] = ~(bit(kp1 + 2) - wp.uint64(1))
    return 2 * kp1


@wp.func
def top_vertex(pv: wp.array3d(dtype=wp.float64), t: int, nv: int):
    """The vertex with the largest F (the first of equals)."""
    best = wp.float64(-wp.inf)
    bv = int(0)
    for v in range(nv):
        if pv[t, v, COL_F] > best:
            best = pv[t, v, COL_F]
            bv = v
    return bv


@wp.func
def barycentric(pv: wp.array3d(dtype=wp.float64), t: int, v: int, j: int, k: int):
    """lambda_j of vertex v (lambda_0 = 1 - sum u)."""
    if j > 0:
        return pv[t, v, j - 1]
    s = wp.float64(1.0)
    for c in range(k):
        s -= pv[t, v, c]
    return s


@wp.func
def task_ball(tx: wp.array3d(dtype=wp.float64), t: int):
    """Centroid, circumscribing radius about it, and the largest |w_j - w_0|^2."""
    kp1 = tx.shape[1]
    dim = tx.shape[2]
    c = vec6()
    for l in range(dim):
        acc = wp.float64(0.0)
        for j in range(kp1):
            acc += tx[t, j, l]
        c[l] = acc / wp.float64(kp1)
    r2 = wp.float64(0.0)
    e2 = wp.float64(0.0)
    for j in range(kp1):
        dc = wp.float64(0.0)
        de = wp.float64(0.0)
        for l in range(dim):
            u = tx[t, j, l] - c[l]
            w = tx[t, j, l] - tx[t, 0, l]
            dc += u * u
            de += w * w
        r2 = wp.max(r2, dc)
        e2 = wp.max(e2, de)
    return c, wp.sqrt(r2), e2


@wp.func
def maximizer(sx: Simplices, xs: wp.array2d(dtype=wp.float64), poly: Polytope, t: int, bv: int):
    """(max F over the vertices, y* in C, p2 >= phi_S(y*)^2 recomputed from the sites), from
    the vertex ``bv`` with the largest F (:func:`top_vertex`, or as a cut reports it)."""
    tx = sx.corners
    pv = poly.pv
    pm = poly.pm
    slots = poly.slots
    kp1 = tx.shape[1]
    k = kp1 - 1
    best = pv[t, bv, COL_F]
    # barycentric coordinates clamped into the simplex: y* is a point of C
    total = wp.float64(0.0)
    u = vec6()
    for c in range(k):
        u[c] = wp.max(pv[t, bv, c], wp.float64(0.0))
        total += u[c]
    if total > wp.float64(1.0):
        for c in range(k):
            u[c] = u[c] / total
    y = vec6()
    for l in range(tx.shape[2]):
        acc = tx[t, 0, l]
        for c in range(k):
            acc += u[c] * (tx[t, c + 1, l] - tx[t, 0, l])
        y[l] = acc
    # phi over the sites of the maximizer's constraints (its nearest ones; any subset of S
    # gives phi >= phi_S, so upper stays an upper bound), or over all of S if it has none
    p2 = site_distance2(xs, slots, pm, t, bv, y, kp1, tx.shape[2])
    if p2 == wp.float64(wp.inf):
        p2 = site_distance2(xs, slots, pm, t, -1, y, kp1, tx.shape[2])
    return best, y, p2


@wp.func
def site_distance2(
    xs: wp.array2d(dtype=wp.float64),
    slots: wp.array2d(dtype=wp.int32),
    pm: wp.array3d(dtype=wp.uint64),
    t: int,
    v: int,
    y: vec6,
    kp1: int,
    dim: int,
):
    """min |y - x_s|^2 over the sites s of vertex v's constraints, or over every site of
    the task if v < 0 (inf if none)."""
    p2 = wp.float64(wp.inf)
    for w in range(N_WORDS):
        m = ~wp.uint64(0)
        if v >= 0:
            m = pm[t, v, w]
        if w == 0:
            m = m & ~(bit(kp1 + 1) - wp.uint64(1))  # slots above the facets and the floor
        while m != wp.uint64(0):
            s = int(slots[t, 64 * w + low_bit(m)])
            m = m & (m - wp.uint64(1))
            if s >= 0:
                d2 = wp.float64(0.0)
                for l in range(dim):
                    dl = y[l] - xs[s, l]
                    d2 += dl * dl
                p2 = wp.min(p2, d2)
    return p2
