"""Cutting the lifted polytope P by a half-space (a site's plane or a split plane), by the
double description method.

Adding a site is one cut of P by a half-space; P is kept as its vertex list, each vertex
with the bit mask of the constraints active at it (k+1 facets of Δ, the floor z_min, one bit
per site), and cut by the double description method: vertices strictly outside are removed,
a new vertex is made on each edge from a kept to a removed vertex, where two vertices span
an edge iff their common constraints number at least k and no third vertex has them all (the
combinatorial test: exact for degenerate polytopes too, since masks are maintained
combinatorially, never re-measured). Sites whose bit no vertex carries any more are
redundant on C and free their slot. The edges from kept to removed vertices come from
:mod:`flood.kernels._edges`. A cut costs O(V) word operations for the classification and
O(removed vertices) for the rest; it also reports the vertex with the largest F (the kept
ones are compared while classified, the new ones as made, and the one vertex is followed
through the compaction), so finding the maximizer costs no pass over P.

Rounding (step (1) of the argument in :mod:`flood.kernels._voronoi`): a vertex is removed
only when it violates the new constraint by more than ``REL_TAU`` times a bound on the
magnitude of that constraint's terms (``|b| + |z| + sum |a_c|``, as 0 <= u_c <= 1); a vertex
within that band is kept (and marked active).
"""

import warp as wp

from flood.kernels import _counters
from flood.kernels._counters import EV_CUTS, EV_REMOVED, EV_SKIPPED, EV_VERTICES, count_event
from flood.kernels._edges import PAIR_BASE, PAIR_SHIFT, find_edges
from flood.kernels._polytope import (
    COL_F,
    COL_Z,
    N_WORDS,
    U_DIM,
    Polytope,
    Simplices,
    copy_vertex,
    free_slot,
    free_slots,
    index_vertex,
    lifted_value,
    set_bit,
    set_free,
    site_plane,
    vset_add,
)
from flood.kernels._tree import vec6

wp.set_module_options({"enable_backward": False})

REL_TAU = 1e-12  # a vertex counts as on a plane within this fraction of the terms' size
SPARE_SLOTS = 3  # slots sites leave free for the split planes of the pieces
VERTEX_HEADROOM = 8  # site cuts leave 1/8 of a piece's vertices free for a split plane's cut

# what :func:`cut` did (P is unchanged unless CUT_MADE)
CUT_SKIPPED = 0  # the plane removes no vertex with F above the threshold
CUT_MADE = 1
CUT_NO_SLOT = 2  # refused: fewer than the spare constraint slots would stay free
CUT_NO_ROOM = 3  # refused: P would pass its vertex limit


@wp.func(inline=False)  # out of line: its loop keeps its values in registers
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
    for c in range(U_DIM):
        mag0 += wp.abs(a[c])
    rows = pv[t]  # the task's rows as views: the loop indexes them by v alone
    slack = ps[t]
    out = negs[t]
    v = int(0)
    while v < nv:
        z = zc * rows[v, COL_Z]
        s = b - z
        if k <= 3:  # the terms beyond column 2 are 0 * 0: leaving them out changes no bit
            s += a[0] * rows[v, 0]
            s += a[1] * rows[v, 1]
            s += a[2] * rows[v, 2]
        else:
            for c in range(U_DIM):  # a and u are zero beyond k: a fixed, unrolled loop
                s += a[c] * rows[v, c]
        if wp.abs(s) <= wp.float64(REL_TAU) * (mag0 + wp.abs(z)):
            s = wp.float64(0.0)
            out[top - nband] = wp.int32(v)
            nband += 1
        f = rows[v, COL_F]
        if s < wp.float64(0.0):
            out[nneg] = wp.int32(v)
            nneg += 1
            if f > thr2:
                nhigh += 1
        elif f > best_f:
            best_f = f
            best = v
        slack[v] = s
        v += 1
    return nneg, nhigh, nband, best, best_f


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
def cut(
    sx: Simplices,
    poly: Polytope,
    t: int,
    a: vec6,
    b: wp.float64,
    zc: wp.float64,
    label: int,
    nv: int,
    thr2: wp.float64,
    spare_slots: int,
    max_vertices: int,
):
    """Cut P by ``b + a . u - zc z >= 0`` (a site's plane for zc = 1, a split plane for
    zc = 0), unless the cut removes no vertex with F > thr2 (it cannot lower the maximum
    above thr2 then; a later query finds the site again if it matters). ``label`` goes into
    the constraint's slot (a site index, or SPLIT_PLANE). The cut is refused while fewer
    than ``spare_slots`` slots would stay free or P would pass ``max_vertices``.
    Returns (size, code, top): code ``CUT_SKIPPED``, ``CUT_MADE``, ``CUT_NO_SLOT`` or
    ``CUT_NO_ROOM``; unless ``CUT_MADE`` P is unchanged (and top is -1), else top is the
    vertex with the largest F (for :func:`maximizer`)."""
    te = sx.edges
    pv = poly.pv
    pm = poly.pm
    ps = poly.ps
    negs = poly.negs
    vs = poly.vs
    pairs = poly.pairs
    slots = poly.slots
    kp1 = sx.corners.shape[1]
    k = kp1 - 1
    nneg, nhigh, nband, top, top_f = classify(pv, ps, negs, t, nv, k, a, b, zc, thr2)
    if _counters.COUNTING:  # a compile-time constant: no code in a normal build
        count_event(poly.counts, k, EV_CUTS, 1)
        count_event(poly.counts, k, EV_VERTICES, nv)
        count_event(poly.counts, k, EV_REMOVED, nneg)
        if nhigh == 0:
            count_event(poly.counts, k, EV_SKIPPED, 1)
    if nhigh == 0:
        return nv, CUT_SKIPPED, -1
    slot, n_free = free_slot(vs, t)
    if n_free <= spare_slots:
        free_slots(pm, vs, slots, t, nv, kp1)  # redundant constraints are freed only when needed
        slot, n_free = free_slot(vs, t)
    if n_free <= spare_slots:
        return nv, CUT_NO_SLOT, -1
    npair = find_edges(pm, ps, negs, vs, pairs, t, nv, nneg, k, max_vertices)
    if npair < 0:
        return nv, CUT_NO_ROOM, -1
    slots[t, slot] = wp.int32(label)
    set_free(vs, t, slot, False)
    for w in range(vs.shape[2]):  # a free slot's row is stale (see rebuild_vsets)
        vs[t, slot, w] = wp.uint64(0)
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
        for c in range(U_DIM):  # zeros beyond k stay zero
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
    return n, CUT_MADE, top


@wp.func
def add_site(
    sx: Simplices,
    xs: wp.array2d(dtype=wp.float64),
    poly: Polytope,
    t: int,
    s: int,
    nv: int,
    thr2: wp.float64,
):
    """:func:`cut` by the plane of site s, leaving room for the pieces' split planes. A
    point found by a query is never in S already (it is closer to y* than every site); a
    seed or candidate may be: its plane then removes no vertex, and the cut is skipped
    (``CUT_SKIPPED``)."""
    a, b = site_plane(sx.corners, sx.edges, xs, t, s)
    limit = poly.pairs.shape[1] - poly.pairs.shape[1] // VERTEX_HEADROOM
    return cut(sx, poly, t, a, b, wp.float64(1.0), s, nv, thr2, SPARE_SLOTS, limit)
