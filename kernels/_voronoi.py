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

Pieces: when a site does not fit the task's fixed arrays, the thread halves its current
piece and stacks one half (:mod:`flood.kernels._pieces`, where the rule is written out).

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

from flood.kernels._candidates import Candidates, _distinct_seeds
from flood.kernels._edges import PAIR_BASE
from flood.kernels._pieces import PieceSides, PieceStack
from flood.kernels._polytope import (
    MAX_CORNERS,
    MAX_POLY_VERTICES,
    N_BITS,
    U_DIM,
    Polytope,
    Simplices,
)
from flood.kernels._scratch import TaskScratch, launch_size
from flood.kernels._seeds import FaceSeeds, gather_seeds_kernel
from flood.kernels._sloop import (
    MAX_QUERIES,
    TaskOutputs,
    TaskParams,
    bound_piece,
    finish_task,
    grow_sites,
    retire_piece,
    split_piece,
    start_task,
)
from flood.kernels._tree import TreeArrays
from flood.kernels._tree_query import K_NEAREST

wp.set_module_options({"enable_backward": False})


@wp.kernel
def certify_kernel(
    tree: TreeArrays,
    sx: Simplices,
    params: TaskParams,
    cands: Candidates,
    poly: Polytope,
    stack: PieceStack,
    out: TaskOutputs,
    sides: PieceSides,
):
    """The S-loop of task ``wp.tid()`` (see the module docstring): seed its polytope, then
    per round bound the current piece; unless it is finished, add a site (a candidate, else
    what a query finds) and halve the piece if the site overflows it; a finished piece
    retires and the next one is popped. The loop stops when the last piece retires, or when
    the task must be handed back (queries spent, stack full, a split that does not fit);
    then its bounds are written (:mod:`flood.kernels._sloop` holds the steps)."""
    t = wp.tid()
    st = start_task(tree, sx, params, cands, poly, t)
    while True:
        st = bound_piece(sx, tree.points, poly, st, t, params.tol)
        if not st.finished:
            st = grow_sites(tree, sx, params, cands, poly, st, t)
            if st.overflow and not st.stop:  # halve the piece: keep one half, stack the other
                st = split_piece(sx, poly, stack, st, t)
        if st.finished and not st.stop:
            st = retire_piece(sx, poly, stack, st, t)
        if st.stop:
            break
    finish_task(sx, poly, stack, out, sides, st, t)


#: the fields of :class:`TaskOutputs`, their dtypes (``ystar`` and ``ylow`` of shape (n, dim))
_OUTPUT_KEYS = ("lower", "upper", "status", "queries", "splits", "ystar", "ylow")
_OUTPUT_TYPES = (wp.float64, wp.float64, wp.int32, wp.int32, wp.int32, wp.float64, wp.float64)
#: the fields of :class:`PieceSides` (written only for tasks handed back: they start as -1, 0)
_SIDE_KEYS = ("edge", "side")
_SIDE_TYPES = (wp.int32, wp.int32)


def _in_place(device):
    """Whether the kernel can write the host's output arrays itself (CPU memory)."""
    return wp.get_device(device).is_cpu


def _wp(a, dtype, device):
    """``a`` as a Warp array on ``device``: on the CPU a contiguous NumPy array is shared,
    not copied (the kernel's writes land in it)."""
    return (
        a
        if isinstance(a, wp.array)
        else wp.array(np.ascontiguousarray(a), dtype=dtype, device=device, copy=False)
    )


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
    batch_size=None,
    progress=None,
):
    """Run the S-loop on each task (a simplex given by its corners, with seed sites).

    Parameters
    ----------
    tree : PointTree
        Index over X (sites are tree-order indices).
    corners : ndarray of float64, shape (n_tasks, k + 1, dim)
        The simplices, ``1 <= k <= dim <= 6``, in the tree's coordinates.
    seeds : ndarray of int32, shape (n_tasks, n_seeds), or FaceSeeds
        Initial sites (points of X, -1 for none), e.g. the nearest points of the corners and
        the sites of the faces; duplicates are dropped here (the kernel sees distinct seeds).
        A :class:`~flood.kernels._seeds.FaceSeeds` (with ``n_eager`` its own sites) is
        gathered and deduplicated by the kernel itself, as the rows it stands for would be.
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
    batch_size : int, optional
        Tasks per launch (the scratch holds that many). Default: :func:`launch_size`.
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
    gather = isinstance(seeds, FaceSeeds)
    if gather and n_eager != seeds.own.shape[1]:
        raise ValueError(f"FaceSeeds need n_eager={seeds.own.shape[1]}; got {n_eager}")
    if not gather:
        lead = 0 if n_eager is None else int(n_eager)  # the eager seeds keep their order
        seeds = _distinct_seeds(np.asarray(seeds, dtype=np.int32).reshape(n, -1), lead)
    # edges[t, l, c]: coordinate l of w_(c+1) - w_0, zero for c >= k (the kernel's E)
    edges = np.zeros((n, dim, U_DIM))
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
    if scratch is not None:
        batch_size = scratch.capacity
    else:
        batch_size = launch_size(device, max_vertices) if batch_size is None else batch_size
        batch_size = max(1, min(batch_size, n))
    if not 1 <= max_vertices <= PAIR_BASE:
        raise ValueError(f"max_vertices must be in [1, {PAIR_BASE}]; got {max_vertices}")
    if scratch is None and n:  # a CPU launch runs its tasks in turn: they share one row
        scratch = TaskScratch(batch_size, device, max_vertices, one_row=_in_place(device))
    tree_arrays = scratch.tree_arrays(tree) if n else None
    cpu = _in_place(device)
    for a in range(0, n, batch_size):
        e = min(a + batch_size, n)
        m = e - a
        sx = Simplices()
        sx.corners = _wp(corners[a:e], wp.float64, device)
        sx.edges = _wp(edges[a:e], wp.float64, device)
        params = TaskParams()
        params.lower0 = _wp(lower0[a:e], wp.float64, device)
        params.reach = _wp(reach[a:e], wp.float64, device)
        params.tol = float(tol)
        params.max_queries = int(max_queries)
        params.n_add = int(n_add)
        params.n_eager = int(seeds.shape[1] if n_eager is None else n_eager)
        params.n_keep = int(n_keep)
        cands = Candidates()
        if gather:  # a kernel of its own fills the scratch's rows (the S-loop's code as it was)
            cands.seeds = scratch.seed_rows(m, seeds.take(a, e).width())
            faces = seeds.struct(device, a, e)
            wp.launch(gather_seeds_kernel, dim=m, inputs=[faces, cands.seeds], device=device)
        else:
            cands.seeds = _wp(seeds[a:e], wp.int32, device)
        cands.extra = scratch.extra
        cands.xyz = scratch.coords(cands.seeds.shape[1], dim)
        # on the CPU the kernel writes into ``out`` itself; elsewhere into copies (the
        # sides start as -1 and 0) that are copied back
        res, sides = TaskOutputs(), PieceSides()
        for key, dtype in zip(_OUTPUT_KEYS + _SIDE_KEYS, _OUTPUT_TYPES + _SIDE_TYPES):
            host = out[key][a:e]
            field = _wp(host, dtype, device) if cpu else wp.array(host, dtype=dtype, device=device)
            setattr(res if key in _OUTPUT_KEYS else sides, key, field)
        wp.launch(
            certify_kernel,
            dim=m,
            inputs=[tree_arrays, sx, params, cands, scratch.poly, scratch.stack, res, sides],
            device=device,
        )
        if not cpu:
            for key in _OUTPUT_KEYS + _SIDE_KEYS:
                out[key][a:e] = getattr(res if key in _OUTPUT_KEYS else sides, key).numpy()
        out["sites"][a:e] = scratch.poly.slots.numpy()[:m]
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
