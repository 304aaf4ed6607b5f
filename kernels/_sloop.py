"""The steps of one task's S-loop, each a ``@wp.func`` over the task's state
(:class:`TaskState`); :func:`flood.kernels._voronoi.certify_kernel` runs them in order.

``start_task`` seeds the first polytope; then, per round, ``bound_piece`` reads the current
piece's upper bound off its polytope, ``grow_sites`` adds a site (a known candidate, else
the points a query finds), ``split_piece`` halves a piece whose sites overflow, and
``retire_piece`` closes a finished piece and pops the next; ``finish_task`` writes the
bounds. Each step takes the state and returns it; ``stop`` ends the loop.
"""

import warp as wp

from flood.kernels import _counters
from flood.kernels._candidates import (
    Candidates,
    best_candidate,
    drop_candidate,
    keep_candidates,
    ring_add,
    seed_polytope,
)
from flood.kernels._counters import EV_CANDIDATES, EV_QUERIES, EV_SITES, EV_TASKS, count_event
from flood.kernels._cut import CUT_MADE, CUT_NO_SLOT, add_site
from flood.kernels._pieces import (
    MAX_DEPTH,
    META_UPPER,
    PieceSides,
    PieceStack,
    commit_split,
    pop_piece,
    probe_split,
    push_far_half,
    split_plane,
    split_sides,
)
from flood.kernels._polytope import (
    FLOOR_GAP,
    FREE,
    N_BITS,
    Polytope,
    Simplices,
    bit,
    init_prism,
    maximizer,
    task_ball,
    top_vertex,
)
from flood.kernels._tree import TreeArrays, vec6
from flood.kernels._tree_query import K_NEAREST, tree_knn, tree_nearest

wp.set_module_options({"enable_backward": False})

MAX_QUERIES = 200  # k-nearest queries per task before it is handed back to be split
REL_MARGIN = 1e-11  # slack on phi^2, relative to the task's squared scale (see _voronoi)
RADIUS_SHRINK = 1e-12  # query strictly inside phi_S(y*): ties with S count as "in S"
NO_HINT = -1  # a nearest-point query without a known point to start from
SEED_REACH_CORNERS = 4  # triangles up to this: seeds need phi(y*) below lower + tol

# how a task ended (``status``)
STATUS_DONE = 0
STATUS_SPLIT = 1  # handed back, with valid bounds, to be split by the host


@wp.struct
class TaskParams:
    """What each task starts from (row t: task t) and the loop's settings."""

    lower0: wp.array(dtype=wp.float64)  # known lower bounds (faces, or the whole simplex)
    reach: wp.array(dtype=wp.float64)  # seeds farther from the task's ball are dropped
    tol: wp.float64  # a piece is finished once upper - lower <= tol
    max_queries: int
    n_add: int  # points of a query that join S
    n_eager: int  # seeds cut into the first polytope (the later ones are candidates)
    n_keep: int  # points of a query kept as candidates


@wp.struct
class TaskOutputs:
    """The bounds of each task and what the host needs to split it (row t: task t)."""

    lower: wp.array(dtype=wp.float64)
    upper: wp.array(dtype=wp.float64)
    status: wp.array(dtype=wp.int32)  # STATUS_DONE or STATUS_SPLIT
    queries: wp.array(dtype=wp.int32)  # k-nearest queries
    splits: wp.array(dtype=wp.int32)  # pieces split inside the task
    ystar: wp.array2d(dtype=wp.float64)  # (task, dim): the last maximizer of phi_S
    ylow: wp.array2d(dtype=wp.float64)  # (task, dim): where d_X >= lower (NaN: lower0 kept)


@wp.struct
class TaskState:
    """One thread's state between the steps of its loop."""

    nv: int  # vertices of the current piece's polytope
    top: int  # its vertex with the largest F
    depth: int  # pieces on the stack
    queries: int
    n_split: int
    n_extra: int  # candidates ever put in the ring
    n_ring: int  # candidates in the ring now (not tried yet: its first n_ring columns)
    n_cand: int  # seed candidates kept in front (-1: not filtered yet)
    seed_cols: int  # columns of the seed row in use (the rest is never read)
    status: int
    lower: wp.float64  # the task's lower bound
    thr: wp.float64  # lower + tol as of the last query: cuts below thr^2 are skipped
    upper: wp.float64  # the current piece's upper bound
    upper_done: wp.float64  # the largest over the finished pieces
    margin2: wp.float64  # the certified slack on phi^2 (-1: not set yet)
    p2: wp.float64  # phi_S(y*)^2 from the sites
    zmin: wp.float64  # the polytope's floor
    e2: wp.float64  # the largest |w_j - w_0|^2
    rad: wp.float64  # the circumscribing radius about the centroid
    c: vec6  # the centroid
    y: vec6  # the maximizer y*
    ylow: vec6  # where d_X >= lower was found (the witness of the lower bound)
    raised: bool  # whether this task raised lower above lower0
    finished: bool  # the current piece is within tol (or exact)
    overflow: bool  # a site did not fit the current piece
    stop: bool  # the loop is over (done, or handed back)


@wp.func
def start_task(
    tree: TreeArrays,
    sx: Simplices,
    params: TaskParams,
    cands: Candidates,
    poly: Polytope,
    t: int,
):
    """Every slot free, no candidate in the ring, P from the seeds (or, with none, from the
    nearest point of X to the centroid); the state before the first round."""
    st = TaskState()
    slots = poly.slots[t]  # the task's row as a view
    for j in range(N_BITS):
        slots[j] = wp.int32(FREE)
    c, rad, e2 = task_ball(sx.corners, t)
    st.c = c
    st.rad = rad
    st.e2 = e2
    st.zmin = wp.float64(-2.0) * st.e2 - wp.float64(FLOOR_GAP)
    st.lower = params.lower0[t]
    st.thr = st.lower + params.tol
    # the ring of candidates is empty: n_extra = n_ring = 0 (entries are read once written)
    nv, seed_cols = seed_polytope(
        sx, tree.points, cands.seeds, params.reach[t], params.n_eager, t, c, rad, st.zmin,
        st.thr * st.thr, poly,
    )  # fmt: skip
    st.nv = nv
    st.seed_cols = seed_cols
    if st.nv == 0:
        s0 = tree_nearest(tree.points, tree.lo, tree.hi, tree.first_leaf, st.c, NO_HINT)
        st.nv = init_prism(sx, tree.points, t, s0, st.zmin, poly)
    st.top = top_vertex(poly.pv, t, st.nv)  # then each cut reports it
    st.upper = wp.float64(wp.inf)
    st.upper_done = wp.float64(0.0)
    st.margin2 = wp.float64(-1.0)
    st.status = STATUS_DONE
    st.n_cand = -1
    return st


@wp.func
def bound_piece(
    sx: Simplices,
    xs: wp.array2d(dtype=wp.float64),
    poly: Polytope,
    st: TaskState,
    t: int,
    tol: wp.float64,
):
    """The current piece's upper bound: max F over its polytope (at the top vertex) or
    phi_S(y*)^2 recomputed from the sites, whichever is larger, plus the certified margin
    (fixed at the first round); the piece is finished once it is within ``tol`` of lower."""
    fmax, y, p2 = maximizer(sx, xs, poly, t, st.top)
    u2 = wp.max(fmax, p2)
    if st.margin2 < wp.float64(0.0):
        st.margin2 = wp.float64(REL_MARGIN) * (st.e2 + u2)
    st.upper = wp.sqrt(u2 + st.margin2)
    st.y = y
    st.p2 = p2
    st.finished = st.upper <= st.lower + tol
    st.overflow = False
    return st


@wp.func
def after_cut(code: int, cut_top: int, top: int, overflow: bool):
    """The top vertex and the overflow flag after a site's cut: a cut made reports its top
    vertex; a refused one (no slot or no room) is an overflow."""
    if code == CUT_MADE:
        top = cut_top
    if code >= CUT_NO_SLOT:
        overflow = True
    return top, overflow


@wp.func
def query_sites(
    tree: TreeArrays,
    sx: Simplices,
    params: TaskParams,
    cands: Candidates,
    poly: Polytope,
    st: TaskState,
    t: int,
    r2: wp.float64,
):
    """Query the points of X nearest to y* within sqrt(r2): the nearest raises lower (none:
    the maximum is exact and the piece finished); the first ``n_add`` join S, the next go to
    the ring of candidates."""
    kq = wp.max(1, wp.min(params.n_add + params.n_keep, K_NEAREST))
    count, dd, ii = tree_knn(
        tree.points, tree.lo, tree.hi, tree.first_leaf, st.y, r2, kq, params.n_add == 1
    )
    st.queries += 1
    if _counters.COUNTING:
        count_event(poly.counts, sx.corners.shape[1] - 1, EV_QUERIES, 1)
    d_here = wp.sqrt(dd[0])
    if count == 0:  # nothing of X is closer to y* than S: the maximum is exact
        d_here = wp.sqrt(r2)
        st.finished = True
    if d_here > st.lower:
        st.lower = d_here
        st.ylow = st.y
        st.raised = True
    if count > 0:
        st.thr = st.lower + params.tol
        # plain locals through the loop (a struct would be copied at every branch)
        nv = st.nv
        top = st.top
        overflow = st.overflow
        n_extra = st.n_extra
        n_ring = st.n_ring
        ring = cands.extra.shape[1]
        for i in range(count):  # a loop, not unrolled: one inlined cut, not K_NEAREST
            if i < params.n_add and not overflow:
                nv, code, cut_top = add_site(
                    sx, tree.points, poly, t, int(ii[i]), nv, st.thr * st.thr
                )
                top, overflow = after_cut(code, cut_top, top, overflow)
            elif ring > 0:  # the rest: candidates
                n_ring = ring_add(cands, t, int(ii[i]), n_ring, n_extra)
                n_extra += 1
        st.nv = nv
        st.top = top
        st.overflow = overflow
        st.n_extra = n_extra
        st.n_ring = n_ring
    return st


@wp.func
def grow_sites(
    tree: TreeArrays,
    sx: Simplices,
    params: TaskParams,
    cands: Candidates,
    poly: Polytope,
    st: TaskState,
    t: int,
):
    """Add a site that beats S at y*: the nearest known candidate (no query; a seed, on a
    triangle or tetrahedron with tol > 0, only where it brings phi(y*) below lower + tol),
    else the points a query finds (:func:`query_sites`); with ``max_queries`` spent, hand
    the task back."""
    r2 = st.p2 * (wp.float64(1.0) - wp.float64(RADIUS_SHRINK))
    if st.n_cand < 0:  # once: drop the seeds that cannot matter, the rest to the front
        st.n_cand = keep_candidates(tree.points, cands, t, st.c, st.rad, st.upper, st.seed_cols)
    # A seed candidate that leaves phi(y*) above thr = lower + tol does not finish y*: the
    # query does (it adds the nearest point of X there, and d_X(y*) may raise lower); the
    # seed stays a candidate. On triangles and tetrahedra only: not on edges, whose query is
    # a dearer k-nearest search, nor on simplices of dimension 4 and up (on all of them,
    # the third round measured more queries in 6-D), nor at tol = 0 (thr = lower: each
    # round would query).
    r2_seeds = r2
    kp1 = sx.corners.shape[1]
    if kp1 > 2 and kp1 <= SEED_REACH_CORNERS and params.tol > wp.float64(0.0):
        r2_seeds = st.thr * st.thr
    cand, col = best_candidate(tree.points, cands, st.n_cand, st.n_ring, t, st.y, r2, r2_seeds)
    if cand >= 0:  # a known point of X beats S at y*: add it, no query
        if _counters.COUNTING:
            count_event(poly.counts, kp1 - 1, EV_CANDIDATES, 1)
        nv, code, cut_top = add_site(sx, tree.points, poly, t, cand, st.nv, st.thr * st.thr)
        top, overflow = after_cut(code, cut_top, st.top, st.overflow)
        st.nv = nv
        st.top = top
        st.overflow = overflow
        if not st.overflow:  # tried once: out of the seeds or the ring
            n_cand, n_ring = drop_candidate(cands, st.n_cand, st.n_ring, t, col)
            st.n_cand = n_cand
            st.n_ring = n_ring
        return st
    if st.queries >= params.max_queries:
        st.status = STATUS_SPLIT
        st.stop = True
        return st
    return query_sites(tree, sx, params, cands, poly, st, t, r2)


@wp.func
def split_piece(sx: Simplices, poly: Polytope, stack: PieceStack, st: TaskState, t: int):
    """Halve the piece by the plane that bisects its diameter and go on with the near half.
    The far half retires at once when its bound is within ``tol`` of lower (the square root
    of its largest F plus the margin, as :func:`bound_piece` bounds a piece; ``thr`` is
    ``lower + tol`` as of the last query, and lower only grows): no stack entry, no second
    cut;
    else it is stacked (with an upper bound over it). A full stack or a cut that cannot be
    made hands the task back."""
    ok, a, b = split_plane(sx, poly, t, st.nv)
    if not ok:
        st.status = STATUS_SPLIT
        st.stop = True
        return st
    npair, nneg, nband, slot, top, far_f = probe_split(sx, poly, t, a, b, st.nv)
    if npair < 0:
        st.status = STATUS_SPLIT
        st.stop = True
        return st
    far_upper = wp.sqrt(far_f + st.margin2)
    if far_upper <= st.thr:  # thr = lower + tol as of the last query: lower only grows
        st.upper_done = wp.max(st.upper_done, far_upper)
    elif st.depth >= MAX_DEPTH:
        st.status = STATUS_SPLIT
        st.stop = True
        return st
    else:
        upper = wp.min(st.upper, far_upper)
        push_far_half(poly, stack, t, st.nv, nneg, nband, npair, slot, st.depth, upper)
        st.depth += 1
    st.n_split += 1
    nv, top = commit_split(poly, t, st.nv, nneg, nband, npair, slot, top)
    st.nv = nv
    st.top = top
    return st


@wp.func
def retire_piece(sx: Simplices, poly: Polytope, stack: PieceStack, st: TaskState, t: int):
    """Close the finished piece (its bound joins ``upper_done``) and pop the next one (saved
    already cut down to its half); with none left the task is done."""
    st.upper_done = wp.max(st.upper_done, st.upper)
    if st.depth == 0:
        st.stop = True
        return st
    st.depth -= 1
    nv, top = pop_piece(poly, stack, t, st.depth, sx.corners.shape[1])
    st.nv = nv
    st.top = top
    return st


@wp.func
def finish_task(
    sx: Simplices,
    poly: Polytope,
    stack: PieceStack,
    out: TaskOutputs,
    sides: PieceSides,
    st: TaskState,
    t: int,
):
    """Write the task's bounds: its upper bound is the largest over its pieces (a task handed
    back counts its current and stacked pieces too), and where to split it."""
    upper = st.upper_done
    if st.status == STATUS_SPLIT:  # hand back with a bound over the whole task
        upper = wp.max(upper, st.upper)
        for j in range(st.depth):
            upper = wp.max(upper, stack.meta[t, j, META_UPPER])
    out.lower[t] = st.lower
    out.upper[t] = wp.max(upper, st.lower)
    out.status[t] = wp.int32(st.status)
    out.queries[t] = wp.int32(st.queries)
    out.splits[t] = wp.int32(st.n_split)
    for l in range(sx.corners.shape[2]):
        out.ystar[t, l] = st.y[l]
        out.ylow[t, l] = wp.where(st.raised, st.ylow[l], wp.float64(wp.nan))
    if st.status == STATUS_SPLIT:
        split_sides(sx, poly, t, st.nv, sides)
    if _counters.COUNTING:
        count_sites(sx, poly, st, t)


@wp.func
def count_sites(sx: Simplices, poly: Polytope, st: TaskState, t: int):
    """Count the task's end and its sites still active on its last piece (slots past the
    floor holding a site whose bit some vertex carries; nothing is changed)."""
    kp1 = sx.corners.shape[1]
    n = int(0)
    for j in range(kp1 + 1, N_BITS):
        if poly.slots[t, j] >= 0:
            w = j // 64
            for v in range(st.nv):
                if (poly.pm[t, v, w] & bit(j - 64 * w)) != wp.uint64(0):
                    n += 1
                    break
    count_event(poly.counts, kp1 - 1, EV_SITES, n)
    count_event(poly.counts, kp1 - 1, EV_TASKS, 1)
