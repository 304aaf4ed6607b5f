"""Pieces of a task and their stack: how a thread halves a piece of its simplex when its
sites outgrow the fixed arrays, saves one half and comes back to it.

Pieces. When a site does not fit the task's fixed arrays (``N_BITS`` constraint bits,
``MAX_POLY_VERTICES`` vertices), the thread halves its current piece by the plane that
bisects the piece's diameter (a constraint like any other, in the same frame): one
classification of P's vertices and one edge search give both halves, as the far half's
vertices are the ones the near half's cut removes, the ones on the plane and the new ones.
It pushes the far half on a per-task stack, or retires it at once when its largest F is
within ``tol`` of the lower bound, and goes on with the near half; sites of a half that no
vertex holds any more are freed as redundant when their slots are needed.
A piece retires when its maximum is within ``tol`` of the simplex's lower bound (shared by
all pieces) or exact; then the next piece is popped. The task's upper bound is the largest
over its pieces. Only when the stack is full, a split plane itself does not fit, or
``max_queries`` is spent does the task stop with valid bounds (the largest over finished,
current and stacked pieces) and ask the host to split the simplex.

Why a far half may retire at once. The lifted polytope over the far half is
P ∩ {b + a . u <= 0}; its vertices are P's vertices on that side (the removed ones and the
ones in the tolerance band, which count in both halves, as for any cut: step (1) of the
argument in :mod:`flood.kernels._voronoi`) and the new ones on the plane. F is convex, so
max phi_S^2 over the half is at most their largest F plus ``margin2`` (step (2): the margin
covers the rounding of the new vertices, as for any cut), and sites added later only lower
phi_S. So sqrt(largest F + margin2) is an upper bound over the half for good; when it is
within ``thr`` (= lower + tol as of the last query; lower only grows), the half is finished,
as :func:`flood.kernels._sloop.bound_piece` would find it after a pop, and that bound joins
the finished pieces' ``upper_done``.
"""

import warp as wp

from flood.kernels._cut import classify, settle
from flood.kernels._edges import PAIR_BASE, PAIR_SHIFT, find_edges
from flood.kernels._polytope import (
    COL_F,
    COL_Z,
    MAX_CORNERS,
    N_BITS,
    N_COLS,
    N_WORDS,
    SPLIT_PLANE,
    Polytope,
    Simplices,
    barycentric,
    bit,
    free_slot,
    free_slots,
    has_bit,
    lifted_value,
    low_bit,
    rebuild_vsets,
    reset_free,
    set_bit,
    set_free,
    top_vertex,
    vset_add,
)
from flood.kernels._tree import vec6

wp.set_module_options({"enable_backward": False})

MAX_DEPTH = 12  # pieces on one task's stack (each split halves a piece's diameter)
# columns of the stack's ``meta`` row
META_UPPER = 0  # an upper bound over the saved piece
META_COLS = 1
# which halves of a piece a site's cell reaches (:func:`split_sides`)
SIDE_A = 1  # the half at corner a of the longest edge
SIDE_B = 2  # the half at corner b
SIDE_TOL = 1e-9  # a vertex this close to the bisector (barycentric) lies in both halves


@wp.struct
class PieceStack:
    """Per-task stack of saved pieces (row t: task t, then the level)."""

    pv: wp.array4d(dtype=wp.float64)  # (task, level, vertex, N_COLS): the saved P's vertices
    pm: wp.array4d(dtype=wp.uint64)  # (task, level, vertex, N_WORDS): their masks
    slots: wp.array3d(dtype=wp.int32)  # (task, level, N_BITS): its slots
    meta: wp.array3d(dtype=wp.float64)  # (task, level, META_COLS): plane and bound
    nv: wp.array2d(dtype=wp.int32)  # (task, level): its size


@wp.struct
class PieceSides:
    """Where a task handed back to be split is halved (written only for those tasks)."""

    edge: wp.array(dtype=wp.int32)  # (task,): the longest edge (a, b) as a * MAX_CORNERS + b
    side: wp.array2d(dtype=wp.int32)  # (task, N_BITS): per slot, SIDE_A | SIDE_B


@wp.func
def split_sides(sx: Simplices, poly: Polytope, t: int, nv: int, out: PieceSides):
    """The longest edge (a, b) (first in row order) as ``a * MAX_CORNERS + b``, and for each
    active site which halves its restricted cell reaches: ``SIDE_A`` the half at corner a
    (lambda_a >= lambda_b), ``SIDE_B`` the half at corner b. A cell is convex: it meets a half iff
    one of its vertices does."""
    tx = sx.corners
    pv = poly.pv
    pm = poly.pm
    slots = poly.slots
    edge_out = out.edge
    side_out = out.side
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
                    if d >= wp.float64(-SIDE_TOL):
                        side = side | SIDE_A
                    if d <= wp.float64(SIDE_TOL):
                        side = side | SIDE_B
        side_out[t, j] = wp.int32(side)


@wp.func
def split_plane(sx: Simplices, poly: Polytope, t: int, nv: int):
    """The plane that bisects the piece's diameter: the piece is the floor facet of P, its
    corners the vertices with the floor bit (read off the floor's vertex set, in row order).
    Returns (ok, a, b) with the half at the first end of the diameter ``b + a . u >= 0``."""
    tx = sx.corners
    pv = poly.pv
    vs = poly.vs
    kp1 = tx.shape[1]
    k = kp1 - 1
    dim = tx.shape[2]
    nw = (nv + 63) // 64
    best = wp.float64(0.0)
    va = int(-1)
    vb = int(-1)
    for xv in range(nw):
        mv = vs[t, kp1, xv]
        while mv != wp.uint64(0):
            v = 64 * xv + low_bit(mv)
            mv = mv & (mv - wp.uint64(1))
            for xw in range(xv, nw):
                mw = vs[t, kp1, xw]
                if xw == xv:
                    mw = mw & ~((bit(v - 64 * xv) << wp.uint64(1)) - wp.uint64(1))  # w > v
                while mw != wp.uint64(0):
                    w = 64 * xw + low_bit(mw)
                    mw = mw & (mw - wp.uint64(1))
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
def stack_row(poly: Polytope, stack: PieceStack, t: int, level: int, src: int, dst: int):
    """Copy vertex ``src`` of P into row ``dst`` of the piece saved at ``level``."""
    for c in range(N_COLS):
        stack.pv[t, level, dst, c] = poly.pv[t, src, c]
    for w in range(N_WORDS):
        stack.pm[t, level, dst, w] = poly.pm[t, src, w]


@wp.func
def push_far_half(
    poly: Polytope,
    stack: PieceStack,
    t: int,
    nv: int,
    nneg: int,
    nband: int,
    npair: int,
    slot: int,
    level: int,
    upper: wp.float64,
):
    """Save the far half of the split :func:`probe_split` prepared, already cut: its
    vertices are the removed ones, the band's and the new ones (the band's and the new
    ones hold the plane, in ``slot``), its slots P's with the plane in ``slot``; and an upper
    bound over it. One classification and one edge search make both halves."""
    negs = poly.negs
    for i in range(nneg):
        stack_row(poly, stack, t, level, int(negs[t, i]), i)
    for i in range(nband):
        v = nneg + i
        stack_row(poly, stack, t, level, int(negs[t, negs.shape[1] - 1 - i]), v)
        w = slot // 64
        stack.pm[t, level, v, w] = stack.pm[t, level, v, w] | bit(slot - 64 * w)
    for i in range(npair):  # the new vertices carry the plane's bit already
        stack_row(poly, stack, t, level, nv + i, nneg + nband + i)
    for j in range(N_BITS):
        stack.slots[t, level, j] = poly.slots[t, j]
    stack.slots[t, level, slot] = wp.int32(SPLIT_PLANE)
    stack.meta[t, level, META_UPPER] = upper
    stack.nv[t, level] = wp.int32(nneg + nband + npair)


@wp.func
def pop_piece(poly: Polytope, stack: PieceStack, t: int, level: int, kp1: int):
    """Restore the piece saved at ``level``; returns (size, its vertex with the largest F)."""
    pv = poly.pv
    pm = poly.pm
    vs = poly.vs
    slots = poly.slots
    stk_pv = stack.pv
    stk_pm = stack.pm
    stk_slots = stack.slots
    nv = int(stack.nv[t, level])
    for v in range(nv):
        for c in range(N_COLS):
            pv[t, v, c] = stk_pv[t, level, v, c]
        for w in range(N_WORDS):
            pm[t, v, w] = stk_pm[t, level, v, w]
    for j in range(N_BITS):
        slots[t, j] = stk_slots[t, level, j]
    rebuild_vsets(pm, vs, slots, t, nv, kp1)
    reset_free(vs, slots, t, kp1)
    return nv, top_vertex(pv, t, nv)


@wp.func
def probe_split(sx: Simplices, poly: Polytope, t: int, a: vec6, b: wp.float64, nv: int):
    """Prepare the cut of P by the split plane ``b + a . u >= 0`` without changing P (rows
    ``0 .. nv - 1``, which :func:`push_far_half` still reads): classify the vertices, find the
    edges that cross the plane and make the new vertices in rows ``nv ..`` (with the bit of
    the plane's slot). Returns (the new vertices' count, or -1 when the cut cannot be made:
    no vertex removed, no slot, no room; the removed vertices' count; the band's; the slot;
    the near half's top vertex; the far half's largest F). The far half's vertices are the
    removed ones, the ones in the band (on the plane within rounding: in both halves) and
    the new ones; F is convex, so its maximum over the far half is their largest F."""
    te = sx.edges
    pv = poly.pv
    pm = poly.pm
    ps = poly.ps
    negs = poly.negs
    vs = poly.vs
    pairs = poly.pairs
    slots = poly.slots
    kp1 = sx.corners.shape[1]
    no_threshold = wp.float64(-wp.inf)
    nneg, nhigh, nband, top, top_f = classify(
        pv, ps, negs, t, nv, kp1 - 1, a, b, wp.float64(0.0), no_threshold
    )
    far_f = wp.float64(-wp.inf)
    if nneg == 0:
        return int(-1), nneg, nband, int(-1), top, far_f
    slot, n_free = free_slot(vs, t)
    if n_free == 0:
        free_slots(pm, vs, slots, t, nv, kp1)  # redundant constraints are freed only when needed
        slot, n_free = free_slot(vs, t)
    if n_free == 0:
        return int(-1), nneg, nband, slot, top, far_f
    npair = find_edges(pm, ps, negs, vs, pairs, t, nv, nneg, kp1 - 1, pairs.shape[1])
    if npair < 0:
        return npair, nneg, nband, slot, top, far_f
    for i in range(nneg):
        far_f = wp.max(far_f, pv[t, int(negs[t, i]), COL_F])
    for i in range(nband):
        far_f = wp.max(far_f, pv[t, int(negs[t, negs.shape[1] - 1 - i]), COL_F])
    for i in range(npair):
        code = int(pairs[t, i])
        p = code >> PAIR_SHIFT
        q = code & (PAIR_BASE - 1)
        lam = ps[t, p] / (ps[t, p] - ps[t, q])
        v = nv + i
        for c in range(COL_Z + 1):  # u (zeros beyond k stay zero) and z, interpolated
            pv[t, v, c] = pv[t, p, c] + lam * (pv[t, q, c] - pv[t, p, c])
        for w in range(N_WORDS):
            pm[t, v, w] = pm[t, p, w] & pm[t, q, w]
        set_bit(pm, t, v, slot)
        f = lifted_value(te, pv, t, v)
        pv[t, v, COL_F] = f
        far_f = wp.max(far_f, f)
        if f > top_f:
            top_f = f
            top = v
    return npair, nneg, nband, slot, top, far_f


@wp.func
def commit_split(
    poly: Polytope, t: int, nv: int, nneg: int, nband: int, npair: int, slot: int, top: int
):
    """Make the cut :func:`probe_split` prepared: the plane takes its slot, the band's
    vertices get its bit, the removed ones give way to the new ones. Returns (size, where
    the top vertex went)."""
    pm = poly.pm
    negs = poly.negs
    vs = poly.vs
    poly.slots[t, slot] = wp.int32(SPLIT_PLANE)
    set_free(vs, t, slot, False)
    for w in range(vs.shape[2]):  # a free slot's row is stale (see rebuild_vsets)
        vs[t, slot, w] = wp.uint64(0)
    for i in range(nband):
        v = int(negs[t, negs.shape[1] - 1 - i])
        set_bit(pm, t, v, slot)
        vset_add(vs, t, slot, v)
    return settle(poly.pv, pm, negs, vs, t, nv, nneg, npair, top)
