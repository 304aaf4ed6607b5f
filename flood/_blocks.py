"""Blocks and their halos: the filtration of a dask-array cloud, block by block.

A block (planned by :mod:`flood._cells`) owns a cell of space: the top-dimensional
simplices of Del(L) in it, whole, with all their faces, and the **pieces** of the simplices
that reach beyond it (a face shared by blocks is bounded in each; a simplex's bound is the
largest over its pieces).

The **halo** of a block: every y in conv(s), for a simplex s in the ball B(c, R), has a
vertex v with |y - v| <= R
(``sum_v lambda_v |y - v|^2 = sum_v lambda_v |c - v|^2 - |y - c|^2 <= R^2``), so ``d_X(y) <=
U = R + max_v d_X(v)`` (a sampled bound may be smaller: :func:`upper_bounds`; a piece keeps
its simplex's U). The nearest point of X to y then lies within U of conv(s), in the box
``[min_v - U, max_v + U]``. Faces lie in conv(s) too, so a block needs only the points of X
in the union of its simplices' and pieces' boxes; it keeps those in the union of
``HALO_BOXES`` boxes, each around the boxes of a compact group of them (a superset: never
fewer points, sometimes more), read from the tiles (:mod:`flood._tiles`) whose bounding
boxes meet one of them and, for one simplex or piece in them, its ball ``B(centroid, max_v
|v - centroid| + U)``, which holds that set too. On its simplices d over the kept points
equals d_X, so the kernel's bounds are certified for X, and merging blocks by ``lower =
max``, ``upper = min`` keeps them so. R is the radius of the smallest enclosing ball
(:func:`enclosing_balls`).

**Memory.** A block task holds its halo (read once) and indexes it; on a dask worker with a
memory limit, a halo of more points than :func:`worker_halo_cap` allows is indexed in parts
(:func:`sub_groups`: the block's simplices, then its pieces, halved until each group's halo
boxes hold few enough), each part with its own tree.
"""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from flood._certify import MAX_SPLIT_DEPTH, CertifyStats, _bound_dimension, _run, certified_bounds
from flood._validation import check_device
from flood.kernels import build_tree, grid_interior_max, nearest

#: Whole top-dimensional simplices and pieces per block task, at most: a 1,000-landmark
#: 3-D complex (~6,500 tetrahedra) makes a few blocks when the workers' memory allows
#: (their halos then overlap little), more when it does not (:mod:`flood._cells`).
DEFAULT_BLOCK_SIZE = 4096
#: Rows a block task reads, at most, where no worker memory limit says otherwise (a
#: process, or workers without a limit): ~340 MB of halo and tree in 3-D.
DEFAULT_BLOCK_ROWS = 2_000_000
#: Relative widening of each halo box: covers the rounding of ball centres and radii.
HALO_RTOL = 1e-9
#: The sampled bound f_C(s) >= f(s) is certified to within this fraction of the median
#: enclosing radius (any gap keeps it an upper bound; a smaller one, thinner halos).
BOUND_RTOL = 0.05
#: Boxes per block whose union a block keeps: tighter than one box around a curved or
#: scattered block, and 16 box tests per point read are still cheap next to indexing them.
HALO_BOXES = 16
#: Bytes per point and coordinate a block task holds for the points it indexes at once: their
#: centred copy, the tree's build peak and the tree (~26 per coordinate measured with
#: :func:`~flood.kernels.build_tree`, 3-D), with room to spare.
INDEXED_BYTES = 40
#: A block task on a dask worker indexes its whole halo when the memory model the plan
#: used (:mod:`flood._memory`: the worker's baseline, 16 bytes per coordinate of the halo
#: and its concatenation, ``INDEXED_BYTES`` for the tree, within ``MEMORY_SHARE`` of the
#: limit) allows: the plan made every block fit it, so a planned block runs in one part
#: (at 10^8 points on 2.5 GiB workers a stricter rule, 0.4 of the limit, cut 32 blocks
#: into 47 parts whose overlapping trees and sub-block bookkeeping cost ~20 % of the CPU).
#: A sub-block may index at least this fraction of what an empty budget would allow (a halo
#: that takes most of the budget itself is still cut into a bounded number of parts).
MIN_CAP_FRACTION = 0.125
#: Where a block task's time goes: reading its halo, indexing it, the kernel.
BLOCK_STAGES = ("read", "tree", "kernel")


@dataclass
class Pieces:
    """Pieces of k-simplices of the complex (:mod:`flood._cells`): f(s) is the largest f
    over the pieces of s."""

    parents: np.ndarray  # (n,) global rows of the k-simplices they are pieces of
    corners: np.ndarray  # (n, k + 1, dim), centred coordinates
    lo: np.ndarray  # (n, dim) halo box corners, input coordinates
    hi: np.ndarray
    radius: np.ndarray = None  # (n,) halo ball radius about the centroid of the corners


@dataclass
class Block:
    """One block task: its simplices (global rows and local vertex indices) and halo box."""

    rows: list  # per dimension, sorted global rows; rows[0]: landmark indices
    vertices: np.ndarray  # (n_vertices, dim), centred landmark coordinates
    values: np.ndarray  # d_X at the vertices
    simplices: list  # per dimension, local vertex indices
    facets: list  # per dimension >= 2, local facet rows
    boxes: np.ndarray  # (n_boxes, 2, dim): halo boxes (lower, upper corner), input coordinates
    tiles: np.ndarray  # the tiles (:mod:`flood._tiles`) whose bounding box meets a halo box
    # per top simplex (local rows), for sub-blocks: enclosing-ball centre, halo box corners
    top_centres: np.ndarray = None  # (n_top, dim)
    top_lo: np.ndarray = None  # (n_top, dim), input coordinates
    top_hi: np.ndarray = None
    reads: int = 0  # rows of X in the tiles it meets (what the task will read)
    pieces: dict = field(default_factory=dict)  # dimension -> Pieces
    cell: int = -1  # the cell of space it owns (:mod:`flood._cells`)
    # its halo, item by item (whole simplices, then pieces): (centres, radii, lo, hi) in
    # input coordinates: a point of X is needed only in some item's box and ball (the plan
    # reads the tiles that meet one; not sent to the task, which keeps the points in boxes)
    items: tuple = None


@dataclass
class BlockResult:
    """What a block task returns: per dimension its global rows and bounds, and counters."""

    rows: list
    lower: list
    upper: list
    queries: dict
    max_sites: dict
    splits: dict
    halo_points: int
    rows_read: int
    sub_blocks: int = 1  # parts the block was run in, to fit the worker's memory
    seconds: dict = None  # "read", "tree", "kernel": where the task's time went
    pieces: dict = None  # dimension -> (parents, lower, upper, witness) of its pieces
    # per dimension, where the kernel found d_X >= lower (centred coordinates; NaN: none)
    witness: list = None


def enclosing_balls(corners):
    """Smallest enclosing balls of simplices given by their corners.

    The smallest ball enclosing a point set is the circumball of a subset of it within the
    subset's affine hull; so over every face (and the centroid) the ball about its
    circumcentre with radius the largest distance to *all* corners encloses the simplex, and
    the smallest of these is the smallest enclosing ball (degenerate faces only give larger
    valid balls).

    Parameters
    ----------
    corners : ndarray of shape (n_simplices, k + 1, dim)

    Returns
    -------
    centres : ndarray of shape (n_simplices, dim)
    radii : ndarray of shape (n_simplices,)

    Examples
    --------
    >>> c, r = enclosing_balls(np.array([[[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]]]))
    >>> c.round(12).tolist(), r.round(12).tolist()
    ([[1.0, 1.0]], [1.414213562373])
    """
    best_c = corners.mean(axis=1)
    best_r = np.linalg.norm(corners - best_c[:, None], axis=2).max(axis=1)
    for size in range(2, corners.shape[1] + 1):
        for face in combinations(range(corners.shape[1]), size):
            q = corners[:, face]
            a = q[:, 1:] - q[:, :1]
            gram = a @ a.transpose(0, 2, 1)
            mu = np.linalg.pinv(gram) @ (0.5 * np.diagonal(gram, axis1=1, axis2=2))[..., None]
            c = q[:, 0] + (mu * a).sum(axis=1)
            r = np.linalg.norm(corners - c[:, None], axis=2).max(axis=1)
            better = r < best_r
            best_c[better], best_r[better] = c[better], r[better]
    return best_c, best_r


def _bisect(points, rows, size, out):
    """Recursive coordinate bisection of ``rows`` into groups of at most ``size``."""
    if len(rows) <= size:
        out.append(rows)
        return
    p = points[rows]
    order = rows[np.argsort(p[:, np.argmax(np.ptp(p, axis=0))], kind="stable")]
    n_groups = max(2, -(-len(rows) // size))
    cut = (n_groups // 2) * len(rows) // n_groups
    _bisect(points, order[:cut], size, out)
    _bisect(points, order[cut:], size, out)


def top_dimension(simplices):
    """The highest dimension with simplices."""
    return max((k for k, s in enumerate(simplices) if len(s)), default=0)


def upper_bounds(corners, radii, values, samples, device="cpu", n_threads=2):
    """Upper bounds U >= f(s) of simplices, before any point of X is read.

    Two bounds, the smaller kept: ``R + max_v d_X(v)`` (some vertex is within R of each
    point of conv(s)), and the certified upper bound on ``f_C(s) = max over conv(s) of d_C``
    for C, a subset of X (the FPS candidates): d_X <= d_C, so f(s) <= f_C(s). The second is
    the filtration kernel itself run on C (restricted Voronoi bounds, no grid slack: a big
    flat simplex across a face of the hull gets a bound near its f_C(s), where a grid of 6
    intervals per edge left ~R/3; one block then read all of a 10M-point cheese).

    Parameters
    ----------
    corners : ndarray of shape (n_simplices, k + 1, dim)
    radii : ndarray of shape (n_simplices,)
        Radii of balls holding the simplices.
    values : ndarray of shape (n_simplices, k + 1)
        d_X at the corners.
    samples : ndarray of shape (n_samples, dim)
        Points of X (C), in the corners' coordinates; may be empty.
    device : str
    n_threads : int

    Returns
    -------
    bound : ndarray of shape (n_simplices,)
    """
    bound = radii + values.max(axis=1)
    if not len(samples) or not len(corners) or corners.shape[1] < 2:
        return bound
    n, kp1, dim = corners.shape
    tree = build_tree(samples, device=device)
    seeds = nearest(tree, corners.reshape(-1, dim))[0].reshape(n, kp1).astype(np.int32)
    tol = BOUND_RTOL * float(np.median(radii))
    out = _run(tree, corners, seeds, np.zeros(n), np.full(n, np.inf), tol, n_threads, None)
    return np.minimum(bound, out["upper"])


def _face_rows(top_rows, simplices, facets, top):
    """Sorted global rows of the top simplices ``top_rows`` and of all their faces."""
    rows = [None] * len(simplices)
    rows[top] = np.sort(top_rows)
    for k in range(top, 1, -1):
        rows[k - 1] = np.unique(facets[k][rows[k]])
    if top >= 1:
        rows[0] = np.unique(simplices[1][rows[1]])
    for k in range(top + 1, len(simplices)):
        rows[k] = np.zeros(0, dtype=np.int64)
    return rows


def _halo_boxes(centres, lo_s, hi_s, group):
    """Up to ``HALO_BOXES`` boxes covering the simplices' boxes, one per compact subgroup,
    widened by ``HALO_RTOL`` of their coordinates; shape (n_boxes, 2, dim)."""
    parts = []
    _bisect(centres, group, -(-len(group) // HALO_BOXES), parts)
    boxes = np.array([[lo_s[p].min(axis=0), hi_s[p].max(axis=0)] for p in parts])
    margin = HALO_RTOL * np.abs(boxes).max(axis=(1, 2))
    boxes[:, 0] -= margin[:, None]
    boxes[:, 1] += margin[:, None]
    return boxes


def _tiles_meeting(boxes, tile_lo, tile_hi):
    """Mask of the tiles whose box meets one of ``boxes``."""
    meets = np.zeros(len(tile_lo), dtype=bool)
    for lo, hi in boxes:
        meets |= np.all(tile_lo <= hi, axis=1) & np.all(tile_hi >= lo, axis=1)
    return meets


def _ball_gap2(c, lo, hi):
    """Squared distances from the points ``c`` (n, dim) to the boxes [lo, hi] (m, dim),
    shape (m, n)."""
    d2 = np.zeros((len(lo), len(c)))
    for a in range(c.shape[1]):
        below, above = lo[:, None, a] - c[None, :, a], c[None, :, a] - hi[:, None, a]
        gap = np.maximum(np.maximum(below, above), 0)
        d2 += gap * gap
    return d2


def _items_meeting(items, lo, hi):
    """(m, n_items) mask: item j's halo (its box and its ball) meets box i [lo[i], hi[i]]."""
    centres, radii, i_lo, i_hi = items
    ok = np.ones((len(lo), len(radii)), dtype=bool)
    for a in range(lo.shape[1]):
        ok &= (lo[:, None, a] <= i_hi[None, :, a]) & (hi[:, None, a] >= i_lo[None, :, a])
    return ok & (_ball_gap2(centres, lo, hi) <= radii[None, :] ** 2)


def _tiles_meeting_items(boxes, items, tile_lo, tile_hi, chunk=256):
    """Mask of the tiles that meet the halo of one of ``items`` (centres, radii, lo, hi):
    first by the group ``boxes``, then item by item."""
    meets = _tiles_meeting(boxes, tile_lo, tile_hi)
    rows = np.flatnonzero(meets)
    for start in range(0, len(rows), chunk):
        r = rows[start : start + chunk]
        meets[r] = _items_meeting(items, tile_lo[r], tile_hi[r]).any(axis=1)
    return meets


def _block(group, vertices, values, simplices, facets, top, boxes, tiles):
    """The Block of the top simplices ``group`` of a complex, with all their faces."""
    rows = _face_rows(group, simplices, facets, top)
    local = [np.arange(len(rows[0]))[:, None]]
    local += [np.searchsorted(rows[0], simplices[k][rows[k]]) for k in range(1, len(rows))]
    local_facets = [None, None] + [
        np.searchsorted(rows[k - 1], facets[k][rows[k]]) for k in range(2, len(rows))
    ]
    return Block(
        rows=rows,
        vertices=vertices[rows[0]],
        values=values[rows[0]],
        simplices=local,
        facets=local_facets,
        boxes=boxes,
        tiles=tiles,
    )


def _in_boxes(points, boxes):
    """Mask of the points inside the union of ``boxes`` (n_boxes, 2, dim)."""
    inside = np.zeros(len(points), dtype=bool)
    if not len(boxes) or not len(points):
        return inside
    lo, hi = boxes[:, 0].min(axis=0), boxes[:, 1].max(axis=0)
    near = np.flatnonzero(np.all((points >= lo) & (points <= hi), axis=1))  # all boxes first
    for b_lo, b_hi in boxes:
        if not len(near):
            break
        hit = np.all((points[near] >= b_lo) & (points[near] <= b_hi), axis=1)
        inside[near[hit]] = True
        near = near[~hit]
    return inside


def _boxes_meeting(boxes, lo, hi):
    """The boxes (n_boxes, 2, dim) that meet the box [lo, hi]."""
    return boxes[np.all(boxes[:, 0] <= hi, axis=1) & np.all(boxes[:, 1] >= lo, axis=1)]


def halo_points(reader, block):
    """The points of X in the block's halo boxes, read tile by tile (``reader.pieces``, a
    :class:`flood._tiles.TileReader`: each chunk file opened once), each piece tested
    against the boxes that meet its tile only (kept whole when one box holds the tile's
    box); and the rows read."""
    kept, n_read = [np.zeros((0, block.boxes.shape[2]))], 0
    meeting = {}
    for t, points in reader.pieces(block.tiles):
        if t not in meeting:
            lo, hi = reader.lo[t], reader.hi[t]
            inside = np.all(block.boxes[:, 0] <= lo, axis=1) & np.all(
                block.boxes[:, 1] >= hi, axis=1
            )
            meeting[t] = None if inside.any() else _boxes_meeting(block.boxes, lo, hi)
        n_read += len(points)
        kept.append(points if meeting[t] is None else points[_in_boxes(points, meeting[t])])
    return np.concatenate(kept), n_read


def worker_halo_cap(dim, n_halo=0):
    """The most points a block task on this dask worker indexes at once, holding a halo of
    ``n_halo`` points: what :mod:`flood._memory`'s model leaves of ``MEMORY_SHARE`` of the
    worker's memory limit after its baseline and the halo (16 bytes per coordinate), over
    ``INDEXED_BYTES`` per coordinate (at least ``MIN_CAP_FRACTION`` of the cap with no
    halo); None outside a worker, or for a worker without a limit."""
    from flood._memory import MEMORY_SHARE, WORKER_BASELINE

    try:
        from distributed import get_worker

        limit = get_worker().memory_manager.memory_limit
    except (ImportError, ValueError, AttributeError):
        return None
    if not limit:
        return None
    budget = max(MEMORY_SHARE * limit - WORKER_BASELINE, 0.0)
    free = max(budget - 16 * dim * n_halo, MIN_CAP_FRACTION * budget)
    return max(1, int(free / (INDEXED_BYTES * dim)))


def sub_groups(centres, lo, hi, halo, cap):
    """Items (top simplices or pieces, with their centres and halo boxes) in groups whose
    halo boxes hold at most ``cap`` of the ``halo`` points (or one item), by halving along
    their centres; and the halo boxes of each group."""
    out = []

    def visit(group):
        boxes = _halo_boxes(centres, lo, hi, group)
        if len(group) == 1 or np.count_nonzero(_in_boxes(halo, boxes)) <= cap:
            out.append((group, boxes))
            return
        halves = []
        _bisect(centres, group, -(-len(group) // 2), halves)
        for half in halves:
            visit(half)

    if len(centres):
        visit(np.arange(len(centres)))
    return out


def _all_pieces(pieces):
    """The pieces of all dimensions as one list: (dimension, row) of each, their centres and
    halo boxes."""
    keys = [(k, i) for k, q in sorted(pieces.items()) for i in range(len(q.parents))]
    if not keys:
        return keys, np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0))
    qs = [pieces[k] for k in sorted(pieces)]
    centres = np.concatenate([q.corners.mean(axis=1) for q in qs])
    return keys, centres, np.concatenate([q.lo for q in qs]), np.concatenate([q.hi for q in qs])


def _subset(pieces, keys, group):
    """The Pieces of ``group`` (indices into ``keys``), per dimension."""
    out = {}
    for k, q in pieces.items():
        rows = np.array([keys[g][1] for g in group if keys[g][0] == k], dtype=np.int64)
        if len(rows):
            out[k] = Pieces(q.parents[rows], q.corners[rows], q.lo[rows], q.hi[rows])
    return out


def _certify_points(points, block, tol, device, n_threads, seconds, pieces):
    """Certified bounds of a block's whole simplices and of ``pieces`` (dimension ->
    Pieces) over ``points`` (centred; this call's own, freed once indexed); adds the
    seconds of the tree and of the kernel to ``seconds``. Returns (lower, upper, stats,
    {dimension: (parents, lower, upper, witness)}); ``stats.witness``: the simplices'."""
    t0 = time.perf_counter()
    tree = build_tree(points, device=device)
    del points
    t1 = time.perf_counter()
    if len(block.vertices):
        sites, _ = nearest(tree, block.vertices)
        t1 = time.perf_counter()
        lower, upper, stats = certified_bounds(
            tree,
            block.vertices,
            sites,
            block.simplices,
            block.facets,
            tol,
            vertex_values=block.values,
            n_threads=n_threads,
        )
    else:
        lower = upper = [np.zeros(0) for _ in block.rows]
        stats = CertifyStats(witness=[np.zeros((0, block.vertices.shape[1])) for _ in block.rows])
    done = {}
    for k, q in pieces.items():
        n, kp1, dim = q.corners.shape
        corners = np.ascontiguousarray(q.corners, dtype=np.float64)
        seeds = nearest(tree, corners.reshape(-1, dim))[0].reshape(n, kp1).astype(np.int32)
        lo, up, wit, _, queries, max_sites, splits, _ = _bound_dimension(
            tree, corners, seeds, np.zeros(n), tol, n_threads, MAX_SPLIT_DEPTH, None
        )
        done[k] = (q.parents, lo, up, wit)
        stats.queries[k] = stats.queries.get(k, 0) + queries
        stats.splits[k] = stats.splits.get(k, 0) + splits
        stats.max_sites[k] = max(stats.max_sites.get(k, 0), max_sites)
    seconds["tree"] += t1 - t0
    seconds["kernel"] += time.perf_counter() - t1
    return lower, upper, stats, done


def block_task(reader, block, *args, **kwargs):
    """:func:`run_block` on this thread's launcher thread, with that thread's CPU seconds in
    ``seconds["cpu"]`` (the kernel runs on it when ``n_threads`` is 1, as on a dask worker).

    Why another thread: the certified kernel's speed depends on where the launching
    thread's stack lies (one block's launches swept over stack offsets in 32-byte steps read
    1.95-2.35 s, likely cache or 4K-alias conflicts between stack slots and the kernel's
    data), and a dask worker's executor thread sat at a slow place: the 10^7 cheese's blocks
    took 54-57 s of kernel there against 44-45 s for the same blocks in one process. On a
    launcher thread (a one-thread executor, like the launch pool's threads one process
    uses) they took 46.9-48.2 s. A measured mitigation, not a cure: where the kernel's data
    lands matters too (one placement read 3.32 and 3.56 s in two calls of one process), and
    the cause is not pinned down (benchmarks/RESULTS.md, Dask; benchmarks/stack_offset.py).
    """
    pid, launcher = getattr(_launchers, "executor", (None, None))
    if launcher is None or pid != os.getpid():  # one per calling thread (and process: a
        # fork keeps the executor, not its thread), so concurrent block tasks never queue
        launcher = ThreadPoolExecutor(1, thread_name_prefix="flood-block")
        _launchers.executor = os.getpid(), launcher
    return launcher.submit(_timed_block, reader, block, args, kwargs).result()


#: the calling thread's launcher (freed, with its thread, when the calling thread ends)
_launchers = threading.local()


def _timed_block(reader, block, args, kwargs):
    cpu = time.thread_time()
    result = run_block(reader, block, *args, **kwargs)
    result.seconds["cpu"] = time.thread_time() - cpu
    return result


def _add_stats(queries, max_sites, splits, stats):
    for k, q in stats.queries.items():
        queries[k] = queries.get(k, 0) + q
        splits[k] = splits.get(k, 0) + stats.splits.get(k, 0)
        max_sites[k] = max(max_sites.get(k, 0), stats.max_sites.get(k, 0))


def run_block(reader, block, shift, tol, method, points_per_edge, device, n_threads, max_halo=None):
    """Bounds (or, for ``method="grid"``, grid values) of one block's simplices and pieces.

    Runs where the task is scheduled (a worker process, or this one): reads the halo,
    indexes it in the centred coordinates shared by all blocks and runs the kernel. A halo
    of more than ``max_halo`` points (default: :func:`worker_halo_cap`, from the dask
    worker's memory limit; no limit outside a worker) is indexed in parts: the block's
    whole simplices, then its pieces, are halved (:func:`sub_groups`) until each group's
    halo fits, and each group runs (simplices with their faces) on its part (a face in
    several groups is bounded in each; the bounds merge as blocks do).
    """
    check_device(device)  # Warp initialized quietly, kernels from the cache
    t0 = time.perf_counter()
    halo, n_read = halo_points(reader, block)
    n_halo = len(halo)
    seconds = {"read": time.perf_counter() - t0, "tree": 0.0, "kernel": 0.0}
    if method == "grid":
        if block.pieces:
            raise ValueError("method='grid' bounds whole simplices: plan without pieces")
        halo -= shift
        tree = build_tree(halo, device=device)
        del halo
        sites, _ = nearest(tree, block.vertices)
        t1 = time.perf_counter()
        inner = [block.values] + [
            grid_interior_max(tree, block.vertices, sites, s, points_per_edge)
            for s in block.simplices[1:]
        ]
        seconds["tree"], seconds["kernel"] = t1 - t0 - seconds["read"], time.perf_counter() - t1
        return BlockResult(block.rows, inner, inner, {}, {}, {}, n_halo, n_read, 1, seconds)
    cap = worker_halo_cap(halo.shape[1], n_halo) if max_halo is None else max_halo
    top = top_dimension(block.simplices)
    n_items = (len(block.rows[top]) if top else 0) + sum(
        len(q.parents) for q in block.pieces.values()
    )
    if cap is None or n_halo <= cap or n_items < 2:
        halo -= shift  # halo is this task's own array
        lower, upper, stats, done = _certify_points(
            halo, block, tol, device, n_threads, seconds, block.pieces
        )
        return BlockResult(
            block.rows,
            lower,
            upper,
            stats.queries,
            stats.max_sites,
            stats.splits,
            n_halo,
            n_read,
            1,
            seconds,
            done,
            stats.witness,
        )
    lower = [block.values.copy()] + [np.full(len(r), -np.inf) for r in block.rows[1:]]
    upper = [block.values.copy()] + [np.full(len(r), np.inf) for r in block.rows[1:]]
    witness = [np.full((len(r), block.vertices.shape[1]), np.nan) for r in block.rows]
    queries, max_sites, splits, done = {}, {}, {}, {}
    n_top = len(block.rows[top]) if top and block.top_centres is not None else 0
    groups = []
    if n_top:
        top_lo, top_hi = block.top_lo[:n_top], block.top_hi[:n_top]
        for g, b in sub_groups(block.top_centres[:n_top], top_lo, top_hi, halo, cap):
            groups.append((g, b, None))
    keys, centres, lo, hi = _all_pieces(block.pieces)
    for g, b in sub_groups(centres, lo, hi, halo, cap):
        groups.append((None, b, _subset(block.pieces, keys, g)))
    empty = _block(
        np.zeros(0, np.int64), block.vertices, block.values, block.simplices, block.facets,
        top, None, None,
    )  # fmt: skip
    for group, boxes, parts in groups:
        sub = empty
        if group is not None:
            sub = _block(
                group, block.vertices, block.values, block.simplices, block.facets, top, boxes, None
            )
        points = halo[_in_boxes(halo, boxes)]
        points -= shift
        lo_k, up_k, stats, got = _certify_points(
            points, sub, tol, device, n_threads, seconds, parts or {}
        )
        del points
        for k in range(1, len(sub.rows)):
            rows = sub.rows[k]  # rows of this block
            if len(rows):
                rises = lo_k[k] > lower[k][rows]
                witness[k][rows[rises]] = stats.witness[k][rises]
                lower[k][rows] = np.maximum(lower[k][rows], lo_k[k])
                upper[k][rows] = np.minimum(upper[k][rows], up_k[k])
        for k, got_k in got.items():
            old = done.get(k, tuple(np.zeros((0,) + a.shape[1:], a.dtype) for a in got_k))
            done[k] = tuple(np.concatenate([a, b]) for a, b in zip(old, got_k))
        _add_stats(queries, max_sites, splits, stats)
    return BlockResult(
        block.rows, lower, upper, queries, max_sites, splits, n_halo, n_read, len(groups),
        seconds, done, witness,
    )  # fmt: skip


def merge(results, simplices, values, method):
    """Per-simplex bounds of the whole complex from the blocks' (an iterable of BlockResult):
    ``lower = max``, ``upper = min`` over the blocks holding a simplex (each block's bounds
    are certified, so both stay so); where each largest lower bound was found (per
    dimension, centred coordinates, NaN where none: the witnesses of
    :func:`flood._certify.maximizers`; None for ``method="grid"``); and the summed counters:
    per block its halo, rows read, sub-blocks and seconds (columns :data:`BLOCK_STAGES`),
    and the simplices (of dimension >= 1) computed per simplex of the complex (a face shared
    by blocks is computed in each)."""
    lower = [values.copy()] + [np.full(len(s), -np.inf) for s in simplices[1:]]
    upper = [values.copy()] + [np.full(len(s), np.inf) for s in simplices[1:]]
    queries, max_sites, splits, halo, read, parts, seconds, cpu = {}, {}, {}, [], [], [], [], []
    # the pieces of a simplex: f(s) is their largest f, so are its bounds (all pieces of s
    # are in some block); NaN: no piece
    piece_lo = [np.full(len(s), -np.inf) for s in simplices]
    piece_up = [np.full(len(s), -np.inf) for s in simplices]
    # where the largest lower bound of each simplex was found (NaN: no witness)
    wit = [np.full((len(s), 0), np.nan) for s in simplices]
    wit_lo = [np.full(len(s), -np.inf) for s in simplices]
    evaluated = 0
    for res in results:
        for k in range(1, len(simplices)):
            rows = res.rows[k]
            lower[k][rows] = np.maximum(lower[k][rows], res.lower[k])
            upper[k][rows] = np.minimum(upper[k][rows], res.upper[k])
            if res.witness is not None and len(rows):
                _keep_best(wit, wit_lo, k, rows, res.lower[k], res.witness[k])
            evaluated += len(rows)
        for k, (parents, lo, up, *w) in (res.pieces or {}).items():
            np.maximum.at(piece_lo[k], parents, lo)
            np.maximum.at(piece_up[k], parents, up)
            if w and len(parents):
                _keep_best(wit, wit_lo, k, parents, lo, w[0])
            evaluated += len(parents)
        for k, q in res.queries.items():
            queries[k] = queries.get(k, 0) + q
            splits[k] = splits.get(k, 0) + res.splits[k]
            max_sites[k] = max(max_sites.get(k, 0), res.max_sites[k])
        halo.append(res.halo_points)
        read.append(res.rows_read)
        parts.append(res.sub_blocks)
        seconds.append([res.seconds[s] for s in BLOCK_STAGES])
        cpu.append(res.seconds.get("cpu", np.nan))
    for k in range(1, len(simplices)):
        cut = piece_up[k] > -np.inf
        lower[k][cut] = np.maximum(lower[k][cut], piece_lo[k][cut])
        upper[k][cut] = np.minimum(upper[k][cut], piece_up[k][cut])
    if not all(np.isfinite(lo).all() and np.isfinite(up).all() for lo, up in zip(lower, upper)):
        raise RuntimeError("a simplex was left out of every block (please report this)")
    upper = [np.maximum(up, lo) for lo, up in zip(lower, upper)]
    n_simplices = sum(len(s) for s in simplices[1:])
    work = {
        "blocks": len(halo),
        "halo_points": np.array(halo, dtype=np.int64),
        "rows_read": np.array(read, dtype=np.int64),
        "sub_blocks": np.array(parts, dtype=np.int64),
        "block_seconds": np.array(seconds, dtype=np.float64).reshape(-1, len(BLOCK_STAGES)),
        "block_cpu_seconds": np.array(cpu, dtype=np.float64),
        "evaluations_per_simplex": evaluated / max(n_simplices, 1),
    }
    if method != "grid":
        work.update(max_sites=max_sites, splits=splits)
    dims = {w.shape[1] for w in wit if w.shape[1]}
    witness = None
    if method != "grid" and dims:
        (dim,) = dims
        witness = [w if w.shape[1] else np.full((len(w), dim), np.nan) for w in wit]
    return lower, upper, queries, work, witness


def _keep_best(wit, wit_lo, k, rows, lower, where):
    """Keeps, per simplex of dimension k, the witness of its largest lower bound so far
    (``rows`` may repeat: the pieces of one simplex)."""
    if wit[k].shape[1] != where.shape[1]:
        wit[k] = np.full((len(wit_lo[k]), where.shape[1]), np.nan)
    found = ~np.isnan(where[:, 0])
    rows, lower, where = rows[found], lower[found], where[found]
    order = np.argsort(lower, kind="stable")[::-1]  # the largest of each row first
    rows, first = np.unique(rows[order], return_index=True)
    best, where = lower[order][first], where[order][first]
    better = best > wit_lo[k][rows]
    wit[k][rows[better]] = where[better]
    wit_lo[k][rows[better]] = best[better]
