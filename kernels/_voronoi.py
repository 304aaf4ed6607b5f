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

The maximum of phi_S over a piece is the largest lifted value F over the vertices of a
polytope P (:mod:`flood.kernels._polytope`), kept up to date by one cut per added site
(:mod:`flood.kernels._cut`, :mod:`flood.kernels._edges`); pieces and their stack are in
:mod:`flood.kernels._pieces`, seeds and candidates in :mod:`flood.kernels._candidates`.

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

from flood.kernels._candidates import (
    EXTRA_CANDIDATES,
    NO_POINT,
    best_candidate,
    keep_candidates,
    seed_polytope,
)
from flood.kernels._cut import CUT_MADE, CUT_NO_SLOT, add_site, cut_plane
from flood.kernels._edges import PAIR_BASE
from flood.kernels._pieces import (
    MAX_DEPTH,
    META_COLS,
    META_UPPER,
    pop_piece,
    push_piece,
    split_plane,
    split_sides,
)
from flood.kernels._polytope import (
    FLOOR_GAP,
    FREE,
    MAX_CORNERS,
    MAX_POLY_VERTICES,
    N_BITS,
    N_COLS,
    N_WORDS,
    init_prism,
    maximizer,
    task_ball,
    top_vertex,
)
from flood.kernels._tree import K_NEAREST, tree_knn, tree_nearest, vec6

wp.set_module_options({"enable_backward": False})

MAX_QUERIES = 200  # k-nearest queries per task before it is handed back to be split
REL_MARGIN = 1e-11  # slack on phi^2, relative to the task's squared scale (see docstring)
RADIUS_SHRINK = 1e-12  # query strictly inside phi_S(y*): ties with S count as "in S"

STATUS_DONE = 0
STATUS_SPLIT = 1


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
        slots[t, j] = wp.int32(FREE)
    c, rad, e2 = task_ball(tx, t)
    zmin = wp.float64(-2.0) * e2 - wp.float64(FLOOR_GAP)
    lower = lower0[t]
    thr = lower + tol
    for j in range(extra.shape[1]):
        extra[t, j] = wp.int32(NO_POINT)
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
                if code == CUT_MADE:
                    top = cut_top
                if code >= CUT_NO_SLOT:  # refused: no slot or no room
                    overflow = True
                elif col < seeds.shape[1]:
                    seeds[t, col] = wp.int32(NO_POINT)
                else:
                    extra[t, col - seeds.shape[1]] = wp.int32(NO_POINT)
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
                            if code == CUT_MADE:
                                top = cut_top
                            if code >= CUT_NO_SLOT:  # refused: no slot or no room
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
                if code != CUT_MADE:
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
            if code != CUT_MADE:
                status = STATUS_SPLIT
                upper = stk_meta[t, depth, META_UPPER]
                break
    if status == STATUS_SPLIT:  # hand back with a bound over the whole task
        upper_done = wp.max(upper_done, upper)
        for j in range(depth):
            upper_done = wp.max(upper_done, stk_meta[t, j, META_UPPER])
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
        self.stk_meta = wp.empty((capacity, MAX_DEPTH, META_COLS), dtype=wp.float64, device=device)
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
