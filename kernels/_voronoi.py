"""Certified Flood values by restricted Voronoi bounds (the S-loop), in Warp.

One *task* is a k-simplex C (a Delaunay simplex of the landmarks, or a piece of one) with a set
S of points of X (its *sites*). For every S ⊆ X,

    phi_S(y) = min over t in S of |y - t|  >=  d_X(y) = min over x in X of |y - x|,

so ``max over C of phi_S`` bounds the Flood value ``f(C) = max over C of d_X`` from above, and
d_X at any point of C bounds it from below. One thread runs the loop for its task: find the
maximizer y* of phi_S over C; if a *candidate* (a seed not cut yet, or a point an earlier
query found but did not add) is closer to y* than S is, add the nearest such one (no query);
else query the points of X nearest to y* among those closer than phi_S(y*), add the first
``n_add`` to S and keep the next ``n_keep`` as candidates; repeat; stop when
``upper - lower <= tol``, or when no point of X is closer to y* than S is (then
d_X(y*) = phi_S(y*) = max phi_S: the value is exact). Candidates are points of X, so adding
one keeps phi_S >= d_X; each is tried once. S only grows, X is finite: the loop ends.

Pieces. When a site does not fit the task's fixed arrays (``N_BITS`` constraint bits,
``MAX_POLY_VERTICES`` vertices), the thread halves its current piece by the plane that
bisects the piece's diameter: it pushes a copy of the polytope (with the other half's plane)
on a per-task stack, cuts the polytope by its own half-plane (a constraint like any other,
in the same frame) and goes on; sites and vertices of the far half drop out as redundant.
A piece retires when its maximum is within ``tol`` of the simplex's lower bound (shared by
all pieces) or exact; then the next piece is popped. The task's upper bound is the largest
over its pieces. Only when the stack is full, a split plane itself does not fit, or
``max_queries`` is spent does the task stop with valid bounds (the largest over finished,
current and stacked pieces) and ask the host to split the simplex.

The maximum of phi_S, by lifting. Write y = w_0 + E u for u in the standard simplex Δ ⊂ R^k
(E = [w_1 - w_0, ..., w_k - w_0]). Then |y - t|^2 = |E u|^2 + a_t . u + b_t with
a_t = 2 E^T (w_0 - t) and b_t = |w_0 - t|^2, so

    phi_S(y)^2 = |E u|^2 + h(u),   h(u) = min over t in S of (a_t . u + b_t)   (concave, PL).

Let P = {(u, z) : u in Δ, z_min <= z <= a_t . u + b_t for all t in S}, a convex polytope in
R^(k+1) (z_min lies below every site plane on Δ, as a_t . u + b_t >= -|E u|^2 >= -max|e_j|^2).
F(u, z) = |E u|^2 + z is convex and increasing in z, so
``max over C of phi_S^2 = max over P of F = max over the vertices of P of F``. Its upper
vertices are the vertices of the Voronoi diagram of S restricted to C (Voronoi vertices inside,
Voronoi edges crossing facets, ..., the corners of C). Adding a site is one cut of P by a
half-space; P is kept as its vertex list, each vertex with the bit mask of the constraints
active at it (k+1 facets of Δ, the floor z_min, one bit per site), and cut by the double
description method: vertices strictly outside are removed, a new vertex is made on each edge
from a kept to a removed vertex, where two vertices span an edge iff their common constraints
number at least k and no third vertex has them all (the combinatorial test: exact for
degenerate polytopes too, since masks are maintained combinatorially, never re-measured).
Sites whose bit no vertex carries any more are redundant on C and free their slot. The edge
search reads per-constraint *vertex sets* (for each constraint slot, a bit set of the vertices
holding it, kept up to date through every cut): a removed vertex q with exactly k+1
constraints has its neighbours in the sets S_j = the vertices holding all of q's constraints
but j; S_j = {q, p} makes (q, p) an edge at once, and a larger S_j (a degenerate face) or a
q with more constraints gets the combinatorial test above, its "third vertex" found by the
AND of the common constraints' sets. A cut costs O(V) word operations for the classification
and O(removed vertices) for the rest; it also reports the vertex with the largest F (the
kept ones are compared while classified, the new ones as made, and the one vertex is
followed through the compaction), so finding the maximizer costs no pass over P.

Why the upper bound survives rounding. (1) A vertex is removed only when it violates the new
constraint by more than ``REL_TAU`` times a bound on the magnitude of the terms of that
constraint (``|b| + |z| + sum |a_c|``, as 0 <= u_c <= 1); a vertex within that band is kept
(and marked active). So every removed vertex is outside the
exact half-space, and the computed polytope P' contains P up to the rounding of the new
vertices' coordinates (convex combinations of two kept points: a few ulps of the data's scale).
(2) F is convex, so max over P of F <= max over the vertices of P' of F + (the change of F
across that rounding), which ``REL_MARGIN`` (relative to the task's squared scale, about 1e5
ulps) covers. (3) Sites are points of X, so dropping sites (seeds filtered for a piece,
redundant or overflowing sites) only raises phi_S: the bound stays valid; so does evaluating
phi at the maximizer over the sites of its own constraints only. The lower bound is
d_X at the maximizer with its barycentric coordinates clamped into the simplex (a point of C),
computed by an exact search; when no point of X lies within ``sqrt(p2 (1 - 1e-12))`` of y*,
that radius is a lower bound on d_X(y*).
"""

import numpy as np
import warp as wp

from flood.kernels._tree import (
    K_NEAREST,
    point_dist2,
    tree_knn,
    tree_nearest,
    vec6,
)

wp.set_module_options({"enable_backward": False})

MAX_CORNERS = 7  # simplices of dimension <= 6
N_WORDS = 1  # 64-bit words per vertex mask
N_BITS = 64 * N_WORDS  # constraint bits per vertex mask: k+1 facets, the floor, site slots
FREE_ROW = N_BITS  # the row of the vertex sets ``vs`` that holds the free-slot mask (one word)
MAX_POLY_VERTICES = 256  # vertices of one task's lifted polytope (fixed per-task arrays)
COL_Z = 6  # column of z in the vertex array (u in columns 0..5, zero beyond k)
COL_F = 7  # column of the lifted value F = |E u|^2 + z
N_COLS = 8  # u (6, zero-padded), z, F
MAX_QUERIES = 200  # k-nearest queries per task before it is handed back to be split
REL_TAU = 1e-12  # a vertex counts as on a plane within this fraction of the terms' size
REL_MARGIN = 1e-11  # slack on phi^2, relative to the task's squared scale (see docstring)
RADIUS_SHRINK = 1e-12  # query strictly inside phi_S(y*): ties with S count as "in S"

FREE = -1  # slot markers: a free slot, a split plane (else the slot holds a site index)
SPLIT_PLANE = -2
SPARE_SLOTS = 3  # slots sites leave free for the split planes of the pieces
VERTEX_HEADROOM = 8  # site cuts leave 1/8 of a piece's vertices free for a split plane's cut
EXTRA_CANDIDATES = 32  # points found by queries but not added, kept as candidates (a ring)
PAIR_SHIFT = 12  # an edge (p, q) is stored as p * PAIR_BASE + q (vertices < 4096)
PAIR_BASE = 1 << PAIR_SHIFT
MAX_DEPTH = 12  # pieces on one task's stack (each split halves a piece's diameter)

STATUS_DONE = 0
STATUS_SPLIT = 1


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
        for c in range(6):
            a[c] = a[c] + te[t, l, c] * d0
    for c in range(6):
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
        for c in range(6):  # u is zero beyond k: a fixed, unrolled loop
            e += pv[t, v, c] * te[t, l, c]
        s += e * e
    return s + pv[t, v, COL_Z]


@wp.func
def init_prism(
    tx: wp.array3d(dtype=wp.float64),
    te: wp.array3d(dtype=wp.float64),
    xs: wp.array2d(dtype=wp.float64),
    t: int,
    s: int,
    zmin: wp.float64,
    pv: wp.array3d(dtype=wp.float64),
    pm: wp.array3d(dtype=wp.uint64),
    vs: wp.array3d(dtype=wp.uint64),
    slots: wp.array2d(dtype=wp.int32),
):
    """P for S = {s}: the prism over Δ between z_min and the plane of s. Returns its size."""
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
            for c in range(6):
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
    rebuild_vsets(pm, vs, t, 2 * kp1)
    reset_free(vs, slots, t, kp1)
    return 2 * kp1


@wp.func
def classify(
    pv: wp.array3d(dtype=wp.float64),
    ps: wp.array2d(dtype=wp.float64),
    negs: wp.array2d(dtype=wp.int32),
    t: int,
    nv: int,
    k: int,
    a: vec6,
    b: wp.float64,
    zc: wp.float64,
    thr2: wp.float64,
):
    """ps[t, v] = slack of vertex v under ``b + a . u - zc z >= 0``, 0 within the tolerance
    band ``REL_TAU * (|b| + |zc z| + sum |a_c|)``, which bounds the terms' magnitude as
    ``0 <= u_c <= 1`` (a wider band than the terms' own sum: a vertex is removed only further
    out). The removed vertices go to ``negs[t, :nneg]``, the ones in the band to the end of
    ``negs`` (``negs[t, -1 - i]``). Returns (nneg, how many of them have F > thr2, nband,
    the kept vertex with the largest F (the first of equals), that F)."""
    nneg = int(0)
    nhigh = int(0)
    nband = int(0)
    best = int(-1)
    best_f = wp.float64(-wp.inf)
    top = negs.shape[1] - 1
    mag0 = wp.abs(b)
    for c in range(6):
        mag0 += wp.abs(a[c])
    for v in range(nv):
        z = zc * pv[t, v, COL_Z]
        s = b - z
        for c in range(6):  # a and u are zero beyond k: a fixed, unrolled loop
            s += a[c] * pv[t, v, c]
        if wp.abs(s) <= wp.float64(REL_TAU) * (mag0 + wp.abs(z)):
            s = wp.float64(0.0)
            negs[t, top - nband] = wp.int32(v)
            nband += 1
        f = pv[t, v, COL_F]
        if s < wp.float64(0.0):
            negs[t, nneg] = wp.int32(v)
            nneg += 1
            if f > thr2:
                nhigh += 1
        elif f > best_f:
            best_f = f
            best = v
        ps[t, v] = s
    return nneg, nhigh, nband, best, best_f


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
    pm: wp.array3d(dtype=wp.uint64), vs: wp.array3d(dtype=wp.uint64), t: int, nv: int
):
    """The vertex sets of every constraint, from the vertices' masks."""
    for c in range(N_BITS):
        for w in range(vs.shape[2]):
            vs[t, c, w] = wp.uint64(0)
    for v in range(nv):
        index_vertex(pm, vs, t, v, True)


@wp.func
def holders_are_two(
    pm: wp.array3d(dtype=wp.uint64),
    vs: wp.array3d(dtype=wp.uint64),
    t: int,
    p: int,
    q: int,
    nw: int,
):
    """Whether p and q are the only vertices holding every constraint they share (with
    >= k shared, the combinatorial edge test: exact for degenerate polytopes too)."""
    n = int(0)
    for w in range(nw):
        x = ~wp.uint64(0)
        for j in range(N_WORDS):
            m = pm[t, p, j] & pm[t, q, j]
            while m != wp.uint64(0):
                x = x & vs[t, 64 * j + low_bit(m), w]
                m = m & (m - wp.uint64(1))
        n += wp.bit_count(x)
    return n == 2


@wp.func
def add_pair(pairs: wp.array2d(dtype=wp.int32), t: int, p: int, q: int, npair: int, room: int):
    """Append edge (p, q); -1 once ``room`` new vertices are used up (and after)."""
    if npair < 0:
        return npair
    if npair >= room:
        return -1
    pairs[t, npair] = wp.int32(p * PAIR_BASE + q)
    return npair + 1


@wp.func
def holders_but(vs: wp.array3d(dtype=wp.uint64), t: int, rest: wp.uint64, w: int):
    """Word w of the set of vertices holding every constraint in ``rest``."""
    x = ~wp.uint64(0)
    m = rest
    while m != wp.uint64(0):
        x = x & vs[t, low_bit(m), w]
        m = m & (m - wp.uint64(1))
    return x


@wp.func
def edges_of_simple(
    pm: wp.array3d(dtype=wp.uint64),
    ps: wp.array2d(dtype=wp.float64),
    vs: wp.array3d(dtype=wp.uint64),
    pairs: wp.array2d(dtype=wp.int32),
    t: int,
    q: int,
    nw: int,
    npair: int,
    room: int,
):
    """Edges from the removed vertex q with exactly k + 1 constraints to kept vertices. A
    neighbour holds all of q's constraints but (at most) one, j: it lies in S_j, the set of
    vertices holding the other k, which holds q too. When S_j is {q, p}, (p, q) is an edge
    (no third vertex holds what they share); a larger S_j (degenerate) gets the
    combinatorial test for each member. A p holding all of q's constraints (coinciding with
    q) lies in every S_j and is taken at the lowest j only."""
    mq = pm[t, q, 0]  # one mask word (N_WORDS == 1)
    lowest = mq ^ (mq & (mq - wp.uint64(1)))
    mj = mq
    while mj != wp.uint64(0):
        lj = mj ^ (mj & (mj - wp.uint64(1)))
        mj = mj & (mj - wp.uint64(1))
        rest = mq ^ lj
        count = int(0)
        other = int(-1)
        for w in range(nw):
            x = holders_but(vs, t, rest, w)
            count += wp.bit_count(x)
            if w == q // 64:
                x = x & ~bit(q - 64 * w)
            if x != wp.uint64(0):
                other = 64 * w + low_bit(x)
        if count == 2:
            p = other
            if ((pm[t, p, 0] & lj) == wp.uint64(0) or lj == lowest) and ps[t, p] > wp.float64(0.0):
                npair = add_pair(pairs, t, p, q, npair, room)
        elif count > 2:
            for w in range(nw):
                x = holders_but(vs, t, rest, w)
                while x != wp.uint64(0):
                    p = 64 * w + low_bit(x)
                    x = x & (x - wp.uint64(1))
                    first = (pm[t, p, 0] & lj) == wp.uint64(0) or lj == lowest
                    if p != q and first and ps[t, p] > wp.float64(0.0):
                        if holders_are_two(pm, vs, t, p, q, nw):
                            npair = add_pair(pairs, t, p, q, npair, room)
    return npair


@wp.func
def shares_at_least(pm: wp.array3d(dtype=wp.uint64), t: int, p: int, q: int, k: int):
    """Whether vertices p and q share at least k constraints."""
    c = int(0)
    for w in range(N_WORDS):
        c += int(wp.bit_count(pm[t, p, w] & pm[t, q, w]))
    return c >= k


@wp.func
def find_edges(
    pm: wp.array3d(dtype=wp.uint64),
    ps: wp.array2d(dtype=wp.float64),
    negs: wp.array2d(dtype=wp.int32),
    vs: wp.array3d(dtype=wp.uint64),
    pairs: wp.array2d(dtype=wp.int32),
    t: int,
    nv: int,
    nneg: int,
    k: int,
    max_vertices: int,
):
    """Edges from a kept (+) to a removed (-) vertex, into ``pairs``; -1 if P would pass
    ``max_vertices``. Two vertices span an edge iff they share >= k constraints and no
    third vertex holds them all (the combinatorial test: exact for degenerate polytopes).
    The per-constraint vertex sets ``vs`` give a simple vertex's neighbours in a few word
    operations; a degenerate one (more than k + 1 constraints) scans every vertex."""
    nw = (nv + 63) // 64
    room = max_vertices - nv
    npair = int(0)
    for iq in range(nneg):
        q = int(negs[t, iq])
        nq = int(0)
        for w in range(N_WORDS):
            nq += int(wp.bit_count(pm[t, q, w]))
        if nq == k + 1 and N_WORDS == 1:  # the fast search reads one mask word
            npair = edges_of_simple(pm, ps, vs, pairs, t, q, nw, npair, room)
        else:
            for p in range(nv):
                if p != q and ps[t, p] > wp.float64(0.0) and shares_at_least(pm, t, p, q, k):
                    if holders_are_two(pm, vs, t, p, q, nw):
                        npair = add_pair(pairs, t, p, q, npair, room)
    return npair


@wp.func
def copy_vertex(
    pv: wp.array3d(dtype=wp.float64), pm: wp.array3d(dtype=wp.uint64), t: int, src: int, dst: int
):
    for c in range(N_COLS):
        pv[t, dst, c] = pv[t, src, c]
    for j in range(N_WORDS):
        pm[t, dst, j] = pm[t, src, j]


@wp.func
def settle(
    pv: wp.array3d(dtype=wp.float64),
    pm: wp.array3d(dtype=wp.uint64),
    negs: wp.array2d(dtype=wp.int32),
    vs: wp.array3d(dtype=wp.uint64),
    t: int,
    nv: int,
    nneg: int,
    npair: int,
    track: int,
):
    """Drop the removed vertices (``negs[t, :nneg]``, ascending) and keep the ``npair`` new
    ones (rows ``nv ...``): the last new vertices fill the holes, and holes left over take
    the last old vertices (from the highest hole down: the tail never holds a hole). Updates
    the vertex sets; returns the size and where vertex ``track`` (a kept one) went."""
    for i in range(nneg):
        index_vertex(pm, vs, t, int(negs[t, i]), False)
    nfill = wp.min(nneg, npair)
    for i in range(nfill):
        src = nv + npair - 1 - i
        copy_vertex(pv, pm, t, src, int(negs[t, i]))
        index_vertex(pm, vs, t, int(negs[t, i]), True)
        if src == track:
            track = int(negs[t, i])
    for r in range(nv, nv + npair - nfill):
        index_vertex(pm, vs, t, r, True)
    n = nv + npair - nfill
    for ii in range(nneg - nfill):
        h = int(negs[t, nneg - 1 - ii])
        n -= 1
        if h != n:
            index_vertex(pm, vs, t, n, False)
            copy_vertex(pv, pm, t, n, h)
            index_vertex(pm, vs, t, h, True)
            if n == track:
                track = h
    return n, track


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
def cut(
    tx: wp.array3d(dtype=wp.float64),
    te: wp.array3d(dtype=wp.float64),
    t: int,
    a: vec6,
    b: wp.float64,
    zc: wp.float64,
    label: int,
    nv: int,
    pv: wp.array3d(dtype=wp.float64),
    pm: wp.array3d(dtype=wp.uint64),
    ps: wp.array2d(dtype=wp.float64),
    negs: wp.array2d(dtype=wp.int32),
    vs: wp.array3d(dtype=wp.uint64),
    pairs: wp.array2d(dtype=wp.int32),
    slots: wp.array2d(dtype=wp.int32),
    thr2: wp.float64,
    spare_slots: int,
    max_vertices: int,
):
    """Cut P by ``b + a . u - zc z >= 0`` (a site's plane for zc = 1, a split plane for
    zc = 0), unless the cut removes no vertex with F > thr2 (it cannot lower the maximum
    above thr2 then; a later query finds the site again if it matters). ``label`` goes into
    the constraint's slot (a site index, or SPLIT_PLANE). The cut is refused while fewer
    than ``spare_slots`` slots would stay free or P would pass ``max_vertices``.
    Returns (size, code, top): code 0 skipped, 1 cut, 2 no free slot, 3 too many vertices;
    on codes 0, 2 and 3 P is unchanged (and top is -1), on code 1 top is the vertex with the
    largest F (for :func:`maximizer`)."""
    kp1 = tx.shape[1]
    k = kp1 - 1
    nneg, nhigh, nband, top, top_f = classify(pv, ps, negs, t, nv, k, a, b, zc, thr2)
    if nhigh == 0:
        return nv, 0, -1
    slot, n_free = free_slot(vs, t)
    if n_free <= spare_slots:
        free_slots(pm, vs, slots, t, nv, kp1)  # redundant constraints are freed only when needed
        slot, n_free = free_slot(vs, t)
    if n_free <= spare_slots:
        return nv, 2, -1
    npair = find_edges(pm, ps, negs, vs, pairs, t, nv, nneg, k, max_vertices)
    if npair < 0:
        return nv, 3, -1
    slots[t, slot] = wp.int32(label)
    set_free(vs, t, slot, False)
    for i in range(nband):
        v = int(negs[t, negs.shape[1] - 1 - i])
        set_bit(pm, t, v, slot)
        vset_add(vs, t, slot, v)
    for i in range(npair):
        code = int(pairs[t, i])
        p = code >> PAIR_SHIFT
        q = code & (PAIR_BASE - 1)
        lam = ps[t, p] / (ps[t, p] - ps[t, q])
        v = nv + i
        z = b
        for c in range(6):  # zeros beyond k stay zero
            uc = pv[t, p, c] + lam * (pv[t, q, c] - pv[t, p, c])
            pv[t, v, c] = uc
            z += a[c] * uc
        if zc == wp.float64(0.0):
            z = pv[t, p, COL_Z] + lam * (pv[t, q, COL_Z] - pv[t, p, COL_Z])
        pv[t, v, COL_Z] = z  # on a site's plane: snapped onto it
        for w in range(N_WORDS):
            pm[t, v, w] = pm[t, p, w] & pm[t, q, w]
        set_bit(pm, t, v, slot)
        f = lifted_value(te, pv, t, v)
        pv[t, v, COL_F] = f
        if f > top_f:
            top_f = f
            top = v
    n, top = settle(pv, pm, negs, vs, t, nv, nneg, npair, top)
    return n, 1, top


@wp.func
def cut_plane(
    tx: wp.array3d(dtype=wp.float64),
    te: wp.array3d(dtype=wp.float64),
    t: int,
    a: vec6,
    b: wp.float64,
    nv: int,
    pv: wp.array3d(dtype=wp.float64),
    pm: wp.array3d(dtype=wp.uint64),
    ps: wp.array2d(dtype=wp.float64),
    negs: wp.array2d(dtype=wp.int32),
    vs: wp.array3d(dtype=wp.uint64),
    pairs: wp.array2d(dtype=wp.int32),
    slots: wp.array2d(dtype=wp.int32),
):
    """:func:`cut` by the split plane ``b + a . u >= 0``: always (no threshold), with every
    slot and vertex available."""
    return cut(
        tx, te, t, a, b, wp.float64(0.0), SPLIT_PLANE, nv, pv, pm, ps, negs, vs, pairs, slots,
        wp.float64(-wp.inf), 0, pairs.shape[1],
    )  # fmt: skip


@wp.func
def add_site(
    tx: wp.array3d(dtype=wp.float64),
    te: wp.array3d(dtype=wp.float64),
    xs: wp.array2d(dtype=wp.float64),
    t: int,
    s: int,
    nv: int,
    pv: wp.array3d(dtype=wp.float64),
    pm: wp.array3d(dtype=wp.uint64),
    ps: wp.array2d(dtype=wp.float64),
    negs: wp.array2d(dtype=wp.int32),
    vs: wp.array3d(dtype=wp.uint64),
    pairs: wp.array2d(dtype=wp.int32),
    slots: wp.array2d(dtype=wp.int32),
    thr2: wp.float64,
):
    """:func:`cut` by the plane of site s, leaving room for the pieces' split planes. A
    point found by a query is never in S already (it is closer to
    y* than every site); a seed or candidate may be: its plane then removes no vertex, and
    the cut is skipped (code 0)."""
    a, b = site_plane(tx, te, xs, t, s)
    limit = pairs.shape[1] - pairs.shape[1] // VERTEX_HEADROOM
    return cut(
        tx,
        te,
        t,
        a,
        b,
        wp.float64(1.0),
        s,
        nv,
        pv,
        pm,
        ps,
        negs,
        vs,
        pairs,
        slots,
        thr2,
        SPARE_SLOTS,
        limit,
    )


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
def maximizer(
    tx: wp.array3d(dtype=wp.float64),
    xs: wp.array2d(dtype=wp.float64),
    pv: wp.array3d(dtype=wp.float64),
    pm: wp.array3d(dtype=wp.uint64),
    slots: wp.array2d(dtype=wp.int32),
    t: int,
    bv: int,
):
    """(max F over the vertices, y* in C, p2 >= phi_S(y*)^2 recomputed from the sites), from
    the vertex ``bv`` with the largest F (:func:`top_vertex`, or as a cut reports it)."""
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
def seed_polytope(
    tx: wp.array3d(dtype=wp.float64),
    te: wp.array3d(dtype=wp.float64),
    xs: wp.array2d(dtype=wp.float64),
    seeds: wp.array2d(dtype=wp.int32),
    reach: wp.float64,
    n_eager: int,
    t: int,
    zmin: wp.float64,
    thr2: wp.float64,
    pv: wp.array3d(dtype=wp.float64),
    pm: wp.array3d(dtype=wp.uint64),
    ps: wp.array2d(dtype=wp.float64),
    negs: wp.array2d(dtype=wp.int32),
    vs: wp.array3d(dtype=wp.uint64),
    pairs: wp.array2d(dtype=wp.int32),
    slots: wp.array2d(dtype=wp.int32),
):
    """P for the task's first ``n_eager`` seeds that can be nearest somewhere in C (within
    ``reach`` of its ball); seeds that overflow are dropped. The later seeds within reach
    stay in ``seeds`` as candidates (:func:`best_candidate`), the others become -1. Returns
    the size (0: no seed at all)."""
    c, rad, e2 = task_ball(tx, t)
    nv = int(0)
    closest = int(-1)
    closest_d = wp.float64(wp.inf)
    for j in range(seeds.shape[1]):
        s = int(seeds[t, j])
        if s >= 0:
            dc = wp.float64(0.0)
            for l in range(tx.shape[2]):
                u = xs[s, l] - c[l]
                dc += u * u
            dc = wp.sqrt(dc)
            if dc < closest_d:
                closest_d = dc
                closest = s
            if dc - rad > reach:
                seeds[t, j] = wp.int32(-1)
            elif j < n_eager or nv == 0:
                seeds[t, j] = wp.int32(-1)
                if nv == 0:
                    nv = init_prism(tx, te, xs, t, s, zmin, pv, pm, vs, slots)
                else:
                    nv, code, top = add_site(
                        tx, te, xs, t, s, nv, pv, pm, ps, negs, vs, pairs, slots, thr2
                    )
    if nv == 0 and closest >= 0:
        nv = init_prism(tx, te, xs, t, closest, zmin, pv, pm, vs, slots)
    return nv


@wp.func
def best_candidate(
    xs: wp.array2d(dtype=wp.float64),
    seeds: wp.array2d(dtype=wp.int32),
    n_seeds: int,
    extra: wp.array2d(dtype=wp.int32),
    n_extra: int,
    t: int,
    y: vec6,
    r2: wp.float64,
):
    """The candidate (one of the first ``n_seeds`` seeds not cut yet, or a point a query
    found but did not add) nearest to y among those closer than ``sqrt(r2)``: (point, its
    column: seeds' columns first, then ``extra``'s), or (-1, -1). Candidates are points of
    X: adding one keeps phi_S an upper bound, and costs no query."""
    best = int(-1)
    col = int(-1)
    bd = r2
    for j in range(n_seeds):
        s = int(seeds[t, j])
        if s >= 0:
            d2 = point_dist2(xs, s, y)
            if d2 < bd:
                bd = d2
                best = s
                col = j
    for j in range(wp.min(n_extra, extra.shape[1])):  # the ring fills from column 0
        s = int(extra[t, j])
        if s >= 0:
            d2 = point_dist2(xs, s, y)
            if d2 < bd:
                bd = d2
                best = s
                col = seeds.shape[1] + j
    return best, col


@wp.func
def keep_candidates(
    xs: wp.array2d(dtype=wp.float64),
    seeds: wp.array2d(dtype=wp.int32),
    t: int,
    c: vec6,
    rad: wp.float64,
    upper: wp.float64,
):
    """Move the seed candidates that can still beat S somewhere in C (closer than ``upper``
    >= max phi_S to the task's ball) to the front of the row; returns how many."""
    n = int(0)
    for j in range(seeds.shape[1]):
        s = int(seeds[t, j])
        if s >= 0:
            if wp.sqrt(point_dist2(xs, s, c)) - rad < upper:
                seeds[t, n] = wp.int32(s)
                n += 1
    for j in range(n, seeds.shape[1]):
        seeds[t, j] = wp.int32(-1)
    return n


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
def split_sides(
    tx: wp.array3d(dtype=wp.float64),
    pv: wp.array3d(dtype=wp.float64),
    pm: wp.array3d(dtype=wp.uint64),
    slots: wp.array2d(dtype=wp.int32),
    t: int,
    nv: int,
    edge_out: wp.array(dtype=wp.int32),
    side_out: wp.array2d(dtype=wp.int32),
):
    """The longest edge (a, b) (first in row order) as ``a * MAX_CORNERS + b``, and for each
    active site which halves its restricted cell reaches: bit 0 the half at corner a
    (lambda_a >= lambda_b), bit 1 the half at corner b. A cell is convex: it meets a half iff
    one of its vertices does."""
    kp1 = tx.shape[1]
    ea = int(0)
    eb = int(1)
    longest = wp.float64(-1.0)
    for a in range(kp1):
        for b in range(a + 1, kp1):
            s = wp.float64(0.0)
            for l in range(tx.shape[2]):
                d = tx[t, a, l] - tx[t, b, l]
                s += d * d
            if s > longest:
                longest = s
                ea = a
                eb = b
    edge_out[t] = wp.int32(ea * MAX_CORNERS + eb)
    for j in range(N_BITS):
        side = int(0)
        if j > kp1 and slots[t, j] >= 0:
            for v in range(nv):
                if has_bit(pm, t, v, j):
                    d = barycentric(pv, t, v, ea, kp1 - 1) - barycentric(pv, t, v, eb, kp1 - 1)
                    if d >= wp.float64(-1e-9):
                        side = side | 1
                    if d <= wp.float64(1e-9):
                        side = side | 2
        side_out[t, j] = wp.int32(side)


@wp.func
def split_plane(
    tx: wp.array3d(dtype=wp.float64),
    pv: wp.array3d(dtype=wp.float64),
    pm: wp.array3d(dtype=wp.uint64),
    t: int,
    nv: int,
):
    """The plane that bisects the piece's diameter: the piece is the floor facet of P, its
    corners the vertices with the floor bit. Returns (ok, a, b) with the half at the first
    end of the diameter ``b + a . u >= 0``."""
    kp1 = tx.shape[1]
    k = kp1 - 1
    dim = tx.shape[2]
    best = wp.float64(0.0)
    va = int(-1)
    vb = int(-1)
    for v in range(nv):
        if has_bit(pm, t, v, kp1):
            for w in range(v + 1, nv):
                if has_bit(pm, t, w, kp1):
                    d2 = wp.float64(0.0)
                    for l in range(dim):
                        e = wp.float64(0.0)
                        for c in range(k):
                            e += (pv[t, v, c] - pv[t, w, c]) * (tx[t, c + 1, l] - tx[t, 0, l])
                        d2 += e * e
                    if d2 > best:
                        best = d2
                        va = v
                        vb = w
    a = vec6()
    b = wp.float64(0.0)
    if va < 0:
        return False, a, b
    for l in range(dim):
        ya = tx[t, 0, l]
        yb = tx[t, 0, l]
        for c in range(k):
            el = tx[t, c + 1, l] - tx[t, 0, l]
            ya += pv[t, va, c] * el
            yb += pv[t, vb, c] * el
        d = ya - yb
        b += (tx[t, 0, l] - wp.float64(0.5) * (ya + yb)) * d
        for c in range(k):
            a[c] = a[c] + (tx[t, c + 1, l] - tx[t, 0, l]) * d
    return True, a, b


@wp.func
def push_piece(
    pv: wp.array3d(dtype=wp.float64),
    pm: wp.array3d(dtype=wp.uint64),
    slots: wp.array2d(dtype=wp.int32),
    t: int,
    nv: int,
    level: int,
    a: vec6,
    b: wp.float64,
    upper: wp.float64,
    stk_pv: wp.array4d(dtype=wp.float64),
    stk_pm: wp.array4d(dtype=wp.uint64),
    stk_slots: wp.array3d(dtype=wp.int32),
    stk_meta: wp.array3d(dtype=wp.float64),
    stk_nv: wp.array2d(dtype=wp.int32),
):
    """Save P, the plane of the sibling piece and an upper bound over it."""
    for v in range(nv):
        for c in range(N_COLS):
            stk_pv[t, level, v, c] = pv[t, v, c]
        for w in range(N_WORDS):
            stk_pm[t, level, v, w] = pm[t, v, w]
    for j in range(N_BITS):
        stk_slots[t, level, j] = slots[t, j]
    for c in range(6):
        stk_meta[t, level, c] = a[c]
    stk_meta[t, level, 6] = b
    stk_meta[t, level, 7] = upper
    stk_nv[t, level] = wp.int32(nv)


@wp.func
def pop_piece(
    pv: wp.array3d(dtype=wp.float64),
    pm: wp.array3d(dtype=wp.uint64),
    vs: wp.array3d(dtype=wp.uint64),
    slots: wp.array2d(dtype=wp.int32),
    t: int,
    level: int,
    kp1: int,
    stk_pv: wp.array4d(dtype=wp.float64),
    stk_pm: wp.array4d(dtype=wp.uint64),
    stk_slots: wp.array3d(dtype=wp.int32),
    stk_meta: wp.array3d(dtype=wp.float64),
    stk_nv: wp.array2d(dtype=wp.int32),
):
    """Restore the P saved at ``level``; returns (size, plane a, plane b)."""
    nv = int(stk_nv[t, level])
    for v in range(nv):
        for c in range(N_COLS):
            pv[t, v, c] = stk_pv[t, level, v, c]
        for w in range(N_WORDS):
            pm[t, v, w] = stk_pm[t, level, v, w]
    for j in range(N_BITS):
        slots[t, j] = stk_slots[t, level, j]
    rebuild_vsets(pm, vs, t, nv)
    reset_free(vs, slots, t, kp1)
    a = vec6()
    for c in range(6):
        a[c] = stk_meta[t, level, c]
    return nv, a, stk_meta[t, level, 6]


@wp.kernel
def certify_kernel(
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    tx: wp.array3d(dtype=wp.float64),
    te: wp.array3d(dtype=wp.float64),
    seeds: wp.array2d(dtype=wp.int32),
    lower0: wp.array(dtype=wp.float64),
    reach: wp.array(dtype=wp.float64),
    tol: wp.float64,
    max_queries: int,
    n_add: int,
    n_eager: int,
    n_keep: int,
    extra: wp.array2d(dtype=wp.int32),
    pv: wp.array3d(dtype=wp.float64),
    pm: wp.array3d(dtype=wp.uint64),
    ps: wp.array2d(dtype=wp.float64),
    negs: wp.array2d(dtype=wp.int32),
    vs: wp.array3d(dtype=wp.uint64),
    pairs: wp.array2d(dtype=wp.int32),
    slots: wp.array2d(dtype=wp.int32),
    stk_pv: wp.array4d(dtype=wp.float64),
    stk_pm: wp.array4d(dtype=wp.uint64),
    stk_slots: wp.array3d(dtype=wp.int32),
    stk_meta: wp.array3d(dtype=wp.float64),
    stk_nv: wp.array2d(dtype=wp.int32),
    lower_out: wp.array(dtype=wp.float64),
    upper_out: wp.array(dtype=wp.float64),
    status_out: wp.array(dtype=wp.int32),
    queries_out: wp.array(dtype=wp.int32),
    splits_out: wp.array(dtype=wp.int32),
    ystar_out: wp.array2d(dtype=wp.float64),
    ylow_out: wp.array2d(dtype=wp.float64),
    edge_out: wp.array(dtype=wp.int32),
    side_out: wp.array2d(dtype=wp.int32),
):
    t = wp.tid()
    dim = tx.shape[2]
    for j in range(N_BITS):
        slots[t, j] = wp.int32(-1)
    c, rad, e2 = task_ball(tx, t)
    zmin = wp.float64(-2.0) * e2 - wp.float64(1e-300)
    lower = lower0[t]
    thr = lower + tol
    for j in range(extra.shape[1]):
        extra[t, j] = wp.int32(-1)
    n_extra = int(0)
    nv = seed_polytope(
        tx, te, points, seeds, reach[t], n_eager, t, zmin, thr * thr, pv, pm, ps, negs, vs, pairs,
        slots,
    )  # fmt: skip
    if nv == 0:  # no seed: the nearest point of X to the centroid
        s0 = tree_nearest(points, lo, hi, first_leaf, c, -1)
        nv = init_prism(tx, te, points, t, s0, zmin, pv, pm, vs, slots)
    top = top_vertex(pv, t, nv)  # then each cut reports it
    upper = wp.float64(wp.inf)
    upper_done = wp.float64(0.0)  # max over the finished pieces
    status = int(STATUS_DONE)
    queries = int(0)
    depth = int(0)
    n_split = int(0)
    margin2 = wp.float64(-1.0)
    ybest = vec6()
    ylow = vec6()  # where d_X >= lower was found (the witness of the lower bound)
    raised = bool(False)  # whether this task raised lower above lower0
    n_cand = int(-1)
    while True:
        fmax, y, p2 = maximizer(tx, points, pv, pm, slots, t, top)
        u2 = wp.max(fmax, p2)
        if margin2 < wp.float64(0.0):
            margin2 = wp.float64(REL_MARGIN) * (e2 + u2)
        upper = wp.sqrt(u2 + margin2)
        ybest = y
        finished = bool(upper <= lower + tol)
        if not finished:
            r2 = p2 * (wp.float64(1.0) - wp.float64(RADIUS_SHRINK))
            overflow = bool(False)
            if n_cand < 0:  # once: drop the seeds that cannot matter, the rest to the front
                n_cand = keep_candidates(points, seeds, t, c, rad, upper)
            cand, col = best_candidate(points, seeds, n_cand, extra, n_extra, t, y, r2)
            if cand >= 0:  # a known point of X beats S at y*: add it, no query
                nv, code, cut_top = add_site(
                    tx, te, points, t, cand, nv, pv, pm, ps, negs, vs, pairs, slots, thr * thr
                )
                if code == 1:
                    top = cut_top
                if code >= 2:
                    overflow = True
                elif col < seeds.shape[1]:
                    seeds[t, col] = wp.int32(-1)
                else:
                    extra[t, col - seeds.shape[1]] = wp.int32(-1)
            else:
                if queries >= max_queries:
                    status = STATUS_SPLIT
                    break
                kq = wp.max(1, wp.min(n_add + n_keep, K_NEAREST))
                count, dd, ii = tree_knn(points, lo, hi, first_leaf, y, r2, kq, n_add == 1)
                queries += 1
                d_here = wp.sqrt(dd[0])
                if count == 0:  # nothing of X is closer to y* than S: the maximum is exact
                    d_here = wp.sqrt(r2)
                    finished = True
                if d_here > lower:
                    lower = d_here
                    ylow = y
                    raised = True
                if count > 0:
                    thr = lower + tol
                    for i in range(K_NEAREST):
                        if i < count and i < n_add and not overflow:
                            nv, code, cut_top = add_site(
                                tx, te, points, t, int(ii[i]), nv, pv, pm, ps, negs, vs, pairs,
                                slots, thr * thr,
                            )  # fmt: skip
                            if code == 1:
                                top = cut_top
                            if code >= 2:
                                overflow = True
                        elif i < count and extra.shape[1] > 0:  # the rest: candidates
                            extra[t, n_extra % extra.shape[1]] = ii[i]
                            n_extra += 1
            if overflow:  # halve the piece: keep one half, stack the other
                ok, a, b = split_plane(tx, pv, pm, t, nv)
                if not ok or depth >= MAX_DEPTH:
                    status = STATUS_SPLIT
                    break
                push_piece(
                    pv,
                    pm,
                    slots,
                    t,
                    nv,
                    depth,
                    -a,
                    -b,
                    upper,
                    stk_pv,
                    stk_pm,
                    stk_slots,
                    stk_meta,
                    stk_nv,
                )
                depth += 1
                n_split += 1
                nv, code, top = cut_plane(tx, te, t, a, b, nv, pv, pm, ps, negs, vs, pairs, slots)
                if code != 1:
                    status = STATUS_SPLIT
                    break
        if finished:
            upper_done = wp.max(upper_done, upper)
            if depth == 0:
                break
            depth -= 1
            nv, a, b = pop_piece(
                pv, pm, vs, slots, t, depth, tx.shape[1], stk_pv, stk_pm, stk_slots, stk_meta,
                stk_nv,
            )  # fmt: skip
            nv, code, top = cut_plane(tx, te, t, a, b, nv, pv, pm, ps, negs, vs, pairs, slots)
            if code != 1:
                status = STATUS_SPLIT
                upper = stk_meta[t, depth, 7]
                break
    if status == STATUS_SPLIT:  # hand back with a bound over the whole task
        upper_done = wp.max(upper_done, upper)
        for j in range(depth):
            upper_done = wp.max(upper_done, stk_meta[t, j, 7])
    upper = upper_done
    lower_out[t] = lower
    upper_out[t] = wp.max(upper, lower)
    status_out[t] = wp.int32(status)
    queries_out[t] = wp.int32(queries)
    splits_out[t] = wp.int32(n_split)
    for l in range(dim):
        ystar_out[t, l] = ybest[l]
        ylow_out[t, l] = wp.where(raised, ylow[l], wp.float64(wp.nan))
    if status == STATUS_SPLIT:
        split_sides(tx, pv, pm, slots, t, nv, edge_out, side_out)


def _wp(a, dtype, device):
    return (
        a
        if isinstance(a, wp.array)
        else wp.array(np.ascontiguousarray(a), dtype=dtype, device=device)
    )


class TaskScratch:
    """Per-task working arrays of :func:`certify_tasks` for up to ``capacity`` tasks at once
    (about 250 KiB per task, most of it the stack of pieces); reuse one across batches."""

    def __init__(self, capacity, device="cpu", max_vertices=MAX_POLY_VERTICES):
        self.capacity = int(capacity)
        self.pv = wp.empty((capacity, max_vertices, N_COLS), dtype=wp.float64, device=device)
        self.pm = wp.empty((capacity, max_vertices, N_WORDS), dtype=wp.uint64, device=device)
        self.ps = wp.empty((capacity, max_vertices), dtype=wp.float64, device=device)
        self.negs = wp.empty((capacity, max_vertices), dtype=wp.int32, device=device)
        # per constraint slot, the set of vertices holding it (max_vertices bits)
        words = -(-max_vertices // 64)
        # row FREE_ROW (word 0): the mask of free site slots
        self.vs = wp.empty((capacity, N_BITS + 1, words), dtype=wp.uint64, device=device)
        self.pairs = wp.empty((capacity, max_vertices), dtype=wp.int32, device=device)
        self.slots = wp.empty((capacity, N_BITS), dtype=wp.int32, device=device)
        shape = (capacity, MAX_DEPTH, max_vertices)
        self.stk_pv = wp.empty((*shape, N_COLS), dtype=wp.float64, device=device)
        self.stk_pm = wp.empty((*shape, N_WORDS), dtype=wp.uint64, device=device)
        self.stk_slots = wp.empty((capacity, MAX_DEPTH, N_BITS), dtype=wp.int32, device=device)
        self.stk_meta = wp.empty((capacity, MAX_DEPTH, 8), dtype=wp.float64, device=device)
        self.stk_nv = wp.empty((capacity, MAX_DEPTH), dtype=wp.int32, device=device)
        self.extra = wp.empty((capacity, EXTRA_CANDIDATES), dtype=wp.int32, device=device)


def _distinct_seeds(seeds, lead=0):
    """Each row's distinct seeds (>= 0): the first ``lead`` columns in their order (a repeat
    of an earlier one becomes -1), then the other distinct seeds not among them, in
    descending order, then -1 padding; the columns trimmed to the longest row (at least one).
    Two row sorts, no per-row argsort. The order of the later seeds is the order a piece cuts
    them in, and among candidates it only breaks ties: any order keeps the bounds valid."""
    seeds = np.maximum(seeds, -1).astype(np.int32)  # a copy, every negative as -1
    n, m = seeds.shape
    lead = min(lead, m)
    head = seeds[:, :lead]
    for j in range(1, lead):
        repeat = (head[:, j : j + 1] == head[:, :j]).any(axis=1)
        head[repeat, j] = -1
    rest = np.sort(seeds[:, lead:], axis=1)
    if rest.shape[1] > 1:
        repeat = rest[:, 1:] == rest[:, :-1]
        rest[:, 1:][repeat] = -1
    if lead and rest.shape[1]:
        seen = np.zeros(rest.shape, dtype=bool)
        for j in range(lead):
            seen |= rest == head[:, j : j + 1]
        rest[seen & (rest >= 0)] = -1
    rest = np.sort(rest, axis=1)[:, ::-1]
    width = int((rest >= 0).sum(axis=1).max(initial=0))
    out = np.concatenate([head, rest[:, :width]], axis=1)
    if out.shape[1] == 0:
        out = np.full((n, 1), -1, dtype=np.int32)
    return np.ascontiguousarray(out, dtype=np.int32)


def certify_tasks(
    tree,
    corners,
    seeds,
    lower0,
    reach,
    tol,
    *,
    max_queries=MAX_QUERIES,
    n_add=K_NEAREST,
    n_keep=0,
    n_eager=None,
    max_vertices=MAX_POLY_VERTICES,
    scratch=None,
    batch_size=4096,
    progress=None,
):
    """Run the S-loop on each task (a simplex given by its corners, with seed sites).

    Parameters
    ----------
    tree : PointTree
        Index over X (sites are tree-order indices).
    corners : ndarray of float64, shape (n_tasks, k + 1, dim)
        The simplices, ``1 <= k <= dim <= 6``, in the tree's coordinates.
    seeds : ndarray of int32, shape (n_tasks, n_seeds)
        Initial sites (points of X, -1 for none), e.g. the nearest points of the corners and
        the sites of the faces; duplicates are dropped here (the kernel sees distinct seeds).
    lower0 : ndarray of float64, shape (n_tasks,)
        Known lower bounds (from faces, or the whole simplex of a piece).
    reach : ndarray of float64, shape (n_tasks,)
        Seeds farther than ``reach`` from the task's circumscribing ball about its centroid
        are dropped (``inf`` keeps all); any value keeps the bounds valid.
    tol : float
        Stop when ``upper - lower <= tol`` (0: exact up to rounding).
    n_add : int
        How many of the ``K_NEAREST`` points found by a query join S (the nearest first).
    n_keep : int
        How many more of them are kept as candidates: before each query, the candidate
        nearest to the maximizer y* that beats S there joins S instead (no query, and no cut
        for candidates that never matter).
    n_eager : int, optional
        Seeds (after deduplication, in order) cut into the polytope at the start; the later
        ones are candidates. Default: all.
    max_queries : int
        Queries per task before it stops and asks to be split (0: bound the seeds only).
    max_vertices : int
        Vertices of a piece's polytope before it is split (the scratch's size).
    scratch : TaskScratch, optional
    batch_size : int
        Tasks per launch (the scratch holds that many).
    progress : callable, optional
        Called with the number of tasks finished after each launch.

    Returns
    -------
    out : dict of ndarray
        ``lower``, ``upper`` (n_tasks,), ``status`` (0 done, 1 split requested),
        ``queries`` (k-nearest queries per task), ``splits`` (pieces split inside the
        task), ``sites`` (n_tasks, N_BITS) int32: the sites active on the task when it
        stopped (-1 free, -2 a split plane), ``ystar`` (n_tasks, dim): the
        last maximizer of phi_S, ``ylow`` (n_tasks, dim): a point of the simplex with
        ``d_X(ylow) >= lower`` (the witness of the lower bound; NaN where the task did not
        raise ``lower0``); for tasks to split, ``edge`` (n_tasks,): the longest edge
        ``(a, b)`` as ``a * 7 + b``, and ``side`` (n_tasks, N_BITS): per site slot, bit 0 if its
        cell reaches the half at corner a, bit 1 the half at corner b.
    """
    device = tree.device
    corners = np.ascontiguousarray(corners, dtype=np.float64)
    n, kp1, dim = corners.shape
    if not (2 <= kp1 <= MAX_CORNERS and kp1 - 1 <= dim <= 6):
        raise ValueError(
            f"corners must have shape (n, k + 1, dim) with 1 <= k <= dim <= 6; got {corners.shape}"
        )
    lead = 0 if n_eager is None else int(n_eager)  # the eager seeds keep their order
    seeds = _distinct_seeds(np.asarray(seeds, dtype=np.int32).reshape(n, -1), lead)
    # edges[t, l, c]: coordinate l of w_(c+1) - w_0, zero for c >= k (the kernel's E)
    edges = np.zeros((n, dim, 6))
    edges[:, :, : kp1 - 1] = (corners[:, 1:] - corners[:, :1]).transpose(0, 2, 1)
    lower0 = np.ascontiguousarray(np.broadcast_to(lower0, (n,)), dtype=np.float64)
    reach = np.ascontiguousarray(np.broadcast_to(reach, (n,)), dtype=np.float64)
    out = {
        "lower": np.empty(n),
        "upper": np.empty(n),
        "status": np.empty(n, dtype=np.int32),
        "queries": np.empty(n, dtype=np.int32),
        "splits": np.empty(n, dtype=np.int32),
        "sites": np.empty((n, N_BITS), dtype=np.int32),
        "ystar": np.empty((n, dim)),
        "ylow": np.empty((n, dim)),
        "edge": np.full(n, -1, dtype=np.int32),
        "side": np.zeros((n, N_BITS), dtype=np.int32),
    }
    batch_size = max(1, min(batch_size, n)) if scratch is None else scratch.capacity
    if not 1 <= max_vertices <= PAIR_BASE:
        raise ValueError(f"max_vertices must be in [1, {PAIR_BASE}]; got {max_vertices}")
    if scratch is None and n:
        scratch = TaskScratch(batch_size, device, max_vertices)
    for a in range(0, n, batch_size):
        e = min(a + batch_size, n)
        m = e - a
        outs = [
            wp.empty(m, dtype=wp.float64, device=device),
            wp.empty(m, dtype=wp.float64, device=device),
            wp.empty(m, dtype=wp.int32, device=device),
            wp.empty(m, dtype=wp.int32, device=device),
            wp.empty(m, dtype=wp.int32, device=device),
            wp.empty((m, dim), dtype=wp.float64, device=device),
            wp.empty((m, dim), dtype=wp.float64, device=device),
            wp.full(m, -1, dtype=wp.int32, device=device),
            wp.zeros((m, N_BITS), dtype=wp.int32, device=device),
        ]
        wp.launch(
            certify_kernel,
            dim=m,
            inputs=[
                tree.points,
                tree.lo,
                tree.hi,
                tree.first_leaf,
                _wp(corners[a:e], wp.float64, device),
                _wp(edges[a:e], wp.float64, device),
                _wp(seeds[a:e], wp.int32, device),
                _wp(lower0[a:e], wp.float64, device),
                _wp(reach[a:e], wp.float64, device),
                float(tol),
                int(max_queries),
                int(n_add),
                int(seeds.shape[1] if n_eager is None else n_eager),
                int(n_keep),
                scratch.extra,
                scratch.pv,
                scratch.pm,
                scratch.ps,
                scratch.negs,
                scratch.vs,
                scratch.pairs,
                scratch.slots,
                scratch.stk_pv,
                scratch.stk_pm,
                scratch.stk_slots,
                scratch.stk_meta,
                scratch.stk_nv,
            ],
            outputs=outs,
            device=device,
        )
        for key, arr in zip(
            ("lower", "upper", "status", "queries", "splits", "ystar", "ylow", "edge", "side"),
            outs,
        ):
            out[key][a:e] = arr.numpy()
        out["sites"][a:e] = scratch.slots.numpy()[:m]
        if progress is not None:
            progress(m)
    return out


def restricted_voronoi_max(points, corners, sites, device="cpu"):
    """``max over conv(corners) of phi_S`` for each task, S = its ``sites`` (no queries).

    Parameters
    ----------
    points : ndarray of shape (n_points, dim)
        X.
    corners : ndarray of shape (n_tasks, k + 1, dim)
    sites : ndarray of int, shape (n_tasks, m)
        Indices into ``points`` (-1 for none), at most ``N_BITS - k - 2 - SPARE_SLOTS``
        distinct per task (more are dropped: the bound stays valid, but is not the maximum).

    Returns
    -------
    upper : ndarray of shape (n_tasks,)
        The maximum, rounded up by the kernel's certified margin.
    ystar : ndarray of shape (n_tasks, dim)
        A maximizer.
    """
    from flood.kernels._tree import build_tree

    tree = build_tree(points, device=device)
    inverse = np.empty(len(points), dtype=np.int32)
    inverse[tree.order] = np.arange(len(points), dtype=np.int32)
    sites = np.asarray(sites)
    seeds = np.where(sites >= 0, inverse[np.maximum(sites, 0)], -1).astype(np.int32)
    out = certify_tasks(tree, corners, seeds, 0.0, np.inf, 0.0, max_queries=0)
    return out["upper"], out["ystar"]


def restricted_voronoi_max_reference(points, corners, sites):
    """Brute-force NumPy reference for :func:`restricted_voronoi_max`: every face of each
    simplex against every subset of as many sites, one linear solve each."""
    from itertools import combinations

    points = np.asarray(points, dtype=np.float64)
    corners = np.asarray(corners, dtype=np.float64)
    out = np.empty(len(corners))
    for c, w in enumerate(corners):
        t = points[list(dict.fromkeys(int(s) for s in sites[c] if s >= 0))]
        best = -1.0
        for m1 in range(1, len(w) + 1):
            for face in combinations(range(len(w)), m1):
                w0, e = w[face[0]], w[list(face[1:])] - w[face[0]]
                for sub in combinations(range(len(t)), m1):
                    if m1 == 1:
                        y = w0
                    else:
                        tt = t[list(sub)] - w0
                        A = 2 * (tt[1:] - tt[0]) @ e.T
                        r = (tt[1:] ** 2).sum(1) - (tt[0] ** 2).sum()
                        if abs(np.linalg.det(A)) < 1e-12 * max(abs(A).max(), 1e-300) ** len(A):
                            continue
                        try:
                            coef = np.linalg.solve(A, r)
                        except np.linalg.LinAlgError:
                            continue
                        if coef.min() < -1e-12 or coef.sum() > 1 + 1e-12:
                            continue
                        y = w0 + np.clip(coef, 0, None) @ e
                    best = max(best, np.sqrt(((y - t) ** 2).sum(1)).min())
        out[c] = best
    return out
