"""Blocks of simplices and their halos: the filtration of a dask-array cloud, block by block.

The top-dimensional simplices of Del(L) are grouped by the size of their halos and cut, by
recursive bisection of their enclosing-ball centres, into compact blocks of at most
``block_size`` (:func:`group_simplices`); a block holds them and all their faces (a face
shared by blocks is computed in each).

The **halo** of a block: every y in conv(s), for a top simplex s in the ball B(c, R), has a
vertex v with |y - v| <= R (``sum_v lambda_v |y - v|^2 = sum_v lambda_v |c - v|^2 -
|y - c|^2 <= R^2``), so ``d_X(y) <= U = R + max_v d_X(v)`` (a sampled bound may be smaller:
:func:`upper_bounds`). The nearest point of X to y then lies within U of conv(s), in the
box ``[min_v - U, max_v + U]`` (inside the box of B(c, R + U), and much thinner for a flat
simplex). Faces lie in conv(s) too, so a block needs only the points of X in the union of
its simplices' boxes; it keeps those in the union of ``HALO_BOXES`` boxes, each around the
boxes of a compact group of its simplices (a superset: never fewer points, sometimes more),
read from the tiles (:mod:`flood._tiles`) whose bounding boxes meet one of them.
On its simplices d over the kept points equals d_X, so the kernel's bounds are certified
for X, and merging blocks by ``lower = max``, ``upper = min`` keeps them so. R is the radius
of the smallest enclosing ball (:func:`enclosing_balls`).

**Memory.** A block task holds its halo (read once) and indexes it; on a dask worker with a
memory limit, a halo of more points than :func:`worker_halo_cap` allows is indexed in parts
(:func:`sub_groups`: the block's simplices halved until each group's halo boxes hold few
enough), each part with its own tree. With a fixed number of landmarks the halos grow with
N, and so does the number of parts, not a worker's peak.
"""

import time
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from flood._certify import _run, certified_bounds
from flood._validation import check_device
from flood.kernels import build_tree, grid_interior_max, nearest
from flood.kernels._tree import _morton_order

#: Top-dimensional simplices per block task, at most: a 1,000-landmark 3-D complex (~6,500
#: tetrahedra) makes a few blocks when the workers' memory allows (their halos then overlap
#: little), more when it does not (:mod:`flood._memory`).
DEFAULT_BLOCK_SIZE = 4096
#: Top simplices per compact group, the unit that blocks are merged from (halo boxes are
#: drawn per group: smaller groups, tighter halos).
GROUP_SIZE = 256
#: Rows a block task reads, at most, where no worker memory limit says otherwise (a
#: process, or workers without a limit): ~340 MB of halo and tree in 3-D.
DEFAULT_BLOCK_ROWS = 2_000_000
#: Relative widening of each halo box: covers the rounding of ball centres and radii.
HALO_RTOL = 1e-9
#: The sampled bound f_C(s) >= f(s) is certified to within this fraction of the median
#: enclosing radius (any gap keeps it an upper bound; a smaller one, thinner halos).
BOUND_RTOL = 0.05
#: A group of big simplices is cut while its box is over this many times the largest
#: member's box in volume (their halos overlap little: few points would be read once).
SPREAD = 4.0
#: Boxes per block whose union a block keeps: tighter than one box around a curved or
#: scattered block, and 16 box tests per point read are still cheap next to indexing them.
HALO_BOXES = 16
#: Bytes per point and coordinate a block task holds for the points it indexes at once: their
#: centred copy, the tree's build peak and the tree (~26 per coordinate measured with
#: :func:`~flood.kernels.build_tree`, 3-D), with room to spare.
INDEXED_BYTES = 40
#: Share of a dask worker's memory limit a block task's halo (8 bytes per coordinate) and the
#: points it indexes at once (``INDEXED_BYTES``) may take together; a block whose halo holds
#: more runs in sub-blocks (its halo is read once, each sub-block indexes a part). The rest
#: is the worker's own (~300 MiB with flood and Warp loaded), the chunk being read, the
#: halo's concatenation and the allocator's slack: at 0.4 of a 2 GiB limit without the
#: halo's own bytes, one worker of a 10^8-point run (largest halo 12.6M points) passed 95%.
HALO_MEMORY_SHARE = 0.4
#: A sub-block may index at least this fraction of what an empty budget would allow (a halo
#: that takes most of the budget itself is still cut into a bounded number of parts).
MIN_CAP_FRACTION = 0.125
#: Where a block task's time goes: reading its halo, indexing it, the kernel.
BLOCK_STAGES = ("read", "tree", "kernel")


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
    sub_blocks: int = 1  # pieces the block was run in, to fit the worker's memory
    seconds: dict = None  # "read", "tree", "kernel": where the task's time went


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


def _bisect(points, rows, size, out, spread=None):
    """Recursive coordinate bisection of ``rows`` into groups of at most ``size``; with
    ``spread = (lo, hi)`` boxes, also while a group's bounding box is over ``SPREAD``
    times its largest member's in volume (members far apart)."""
    if len(rows) <= size and (spread is None or len(rows) == 1 or not _spread_out(spread, rows)):
        out.append(rows)
        return
    p = points[rows]
    order = rows[np.argsort(p[:, np.argmax(np.ptp(p, axis=0))], kind="stable")]
    n_groups = max(2, -(-len(rows) // size))
    cut = (n_groups // 2) * len(rows) // n_groups
    _bisect(points, order[:cut], size, out, spread)
    _bisect(points, order[cut:], size, out, spread)


def _spread_out(boxes, rows):
    lo, hi = boxes[0][rows], boxes[1][rows]
    union = np.prod(hi.max(axis=0) - lo.min(axis=0))
    return bool(union > SPREAD * np.prod(hi - lo, axis=1).max())


def group_simplices(centres, lo, hi, size):
    """Compact groups of at most ``size`` simplices, each of one size class.

    Simplices whose halo box width (``hi - lo``, largest over the axes) lies in the same
    power of 2 relative to the median are cut by recursive coordinate bisection of their
    centres. A few big simplices (the hull's flat ones, those spanning a void or a hole)
    need much of X: kept apart, they do not make every block's halo big; and a group of
    them is cut further while its members lie far apart (``SPREAD``), so that one block's
    halo does not hold the regions of many, while big simplices that need the same points
    (around one hole) stay together and those points are read once.

    Returns
    -------
    groups : list of ndarray of int
    """
    width = (hi - lo).max(axis=1)
    scale = np.median(width) if len(width) else 1.0
    with np.errstate(divide="ignore"):
        size_class = np.floor(np.log2(width / scale)) if scale > 0 else np.zeros(len(width))
    size_class = np.clip(size_class, 0, None)
    groups = []
    for c in np.unique(size_class):
        rows = np.flatnonzero(size_class == c)
        _bisect(centres, rows, size, groups, None if c == 0 else (lo, hi))
    return groups


def top_dimension(simplices):
    """The highest dimension with simplices."""
    return max(k for k, s in enumerate(simplices) if len(s))


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


def plan_blocks(
    landmarks,
    values,
    simplices,
    facets,
    shift,
    tile_lo,
    tile_hi,
    block_size,
    samples,
    device="cpu",
    tile_rows=None,
    max_rows=None,
    hard=True,
):
    """The blocks of the complex: simplices, local indices and the tiles each must read,
    largest first.

    Parameters
    ----------
    landmarks : ndarray of shape (n_landmarks, dim)
        Centred landmark coordinates (input coordinates minus ``shift``).
    values : ndarray of shape (n_landmarks,)
        d_X at the landmarks.
    simplices, facets : list of ndarray
        The complex (:func:`flood._delaunay.triangulate`, ``facet_index``).
    shift : ndarray of shape (dim,)
    tile_lo, tile_hi : ndarray of shape (n_tiles, dim)
        Bounding box of each tile of X (``+inf``/``-inf`` for empty tiles).
    block_size : int
    samples : ndarray of shape (n_samples, dim)
        Centred points of X for :func:`upper_bounds` (the FPS candidates).
    device : str
    tile_rows : ndarray of shape (n_tiles,), optional
        Points of X in each tile: a block reads the rows of the tiles it meets.
    max_rows : int, optional
        A block reading more rows is halved (its centres bisected) until each part reads at
        most ``max_rows`` or is one simplex (:mod:`flood._memory` refuses those before they
        run).
    hard : bool, default=True
        Whether ``max_rows`` is a memory limit; else a target, and a block is halved only
        where both halves then fit (halving a block of big simplices reads their tiles
        twice and saves nothing).

    Returns
    -------
    blocks : list of Block
        Sorted by the rows they read, most first (with ``tile_rows``): the longest tasks
        start first.
    """
    top = top_dimension(simplices)
    corners = landmarks[simplices[top]]
    centres, radii = enclosing_balls(corners)
    bound = upper_bounds(corners, radii, values[simplices[top]], samples, device)
    lo_s = corners.min(axis=1) - bound[:, None] + shift
    hi_s = corners.max(axis=1) + bound[:, None] + shift
    rows = tile_rows if tile_rows is not None else np.zeros(len(tile_lo), np.int64)

    def halo(group):
        boxes = _halo_boxes(centres, lo_s, hi_s, group)
        return group, boxes, _tiles_meeting(boxes, tile_lo, tile_hi)

    groups = []
    todo = [halo(g) for g in group_simplices(centres, lo_s, hi_s, min(block_size, GROUP_SIZE))]
    while todo:  # compact groups, each cut until its tiles fit max_rows (or one simplex)
        group, boxes, meets = todo.pop()
        if max_rows is not None and rows[meets].sum() > max_rows and len(group) > 1:
            halves = []
            _bisect(centres, group, -(-len(group) // 2), halves)
            halves = [halo(h) for h in halves]
            # a soft limit cuts only where the halves fit: halves that do not read the
            # same big tiles again (the halo of a big simplex), for nothing
            if hard or all(rows[m].sum() <= max_rows for _, _, m in halves):
                todo.extend(halves)
                continue
        groups.append((group, boxes, meets))
    blocks = []
    for members in _merge_groups(groups, centres, rows, block_size, max_rows):
        group = np.concatenate([groups[m][0] for m in members])
        boxes = np.concatenate([groups[m][1] for m in members])
        meets = np.logical_or.reduce([groups[m][2] for m in members])
        blocks.append(
            _block(group, landmarks, values, simplices, facets, top, boxes, np.flatnonzero(meets))
        )
        top_rows = blocks[-1].rows[top]
        blocks[-1].top_centres = centres[top_rows]
        blocks[-1].top_lo, blocks[-1].top_hi = lo_s[top_rows], hi_s[top_rows]
        blocks[-1].reads = int(rows[meets].sum())
    return sorted(blocks, key=lambda b: -b.reads)


def _tiles_meeting(boxes, tile_lo, tile_hi):
    """Mask of the tiles whose box meets one of ``boxes``."""
    meets = np.zeros(len(tile_lo), dtype=bool)
    for lo, hi in boxes:
        meets |= np.all(tile_lo <= hi, axis=1) & np.all(tile_hi >= lo, axis=1)
    return meets


def _merge_groups(groups, centres, rows, block_size, max_rows):
    """Groups of neighbouring groups (lists of indices into ``groups``): consecutive in the
    Z-order of their centres, merged while the block holds at most ``block_size`` top
    simplices and its tiles at most ``max_rows`` rows. Blocks that share tiles read them
    once: fewer, larger halos read and index less of X twice."""
    if not groups:
        return []
    where = np.array([centres[g].mean(axis=0) for g, _, _ in groups])
    out, current, size, meets = [], [], 0, None
    for i in _morton_order(where):
        group, _, tiles = groups[i]
        union = tiles if meets is None else meets | tiles
        fits = size + len(group) <= block_size
        fits &= max_rows is None or rows[union].sum() <= max_rows
        if current and not fits:
            out.append(current)
            current, size, union = [], 0, tiles
        current.append(int(i))
        size += len(group)
        meets = union
    out.append(current)
    return out


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
    ``n_halo`` points: ``HALO_MEMORY_SHARE`` of the worker's memory limit, less the halo's
    bytes, over ``INDEXED_BYTES`` per coordinate (at least ``MIN_CAP_FRACTION`` of the cap
    with no halo); None outside a worker, or for a worker without a limit."""
    try:
        from distributed import get_worker

        limit = get_worker().memory_manager.memory_limit
    except (ImportError, ValueError, AttributeError):
        return None
    if not limit:
        return None
    budget = HALO_MEMORY_SHARE * limit
    free = max(budget - 8 * dim * n_halo, MIN_CAP_FRACTION * budget)
    return max(1, int(free / (INDEXED_BYTES * dim)))


def sub_groups(block, halo, cap):
    """The block's top simplices (local rows) in groups whose halo boxes hold at most
    ``cap`` of the ``halo`` points (or one simplex), by halving the block along its centres;
    and the halo boxes of each group."""
    out = []

    def visit(group):
        boxes = _halo_boxes(block.top_centres, block.top_lo, block.top_hi, group)
        if len(group) == 1 or np.count_nonzero(_in_boxes(halo, boxes)) <= cap:
            out.append((group, boxes))
            return
        halves = []
        _bisect(block.top_centres, group, -(-len(group) // 2), halves)
        for half in halves:
            visit(half)

    visit(np.arange(len(block.top_centres)))
    return out


def _certify_points(points, block, tol, device, n_threads, seconds):
    """Certified bounds of a block's simplices over ``points`` (centred; this call's own,
    freed once indexed); adds the seconds of the tree and of the kernel to ``seconds``."""
    t0 = time.perf_counter()
    tree = build_tree(points, device=device)
    del points
    sites, _ = nearest(tree, block.vertices)
    t1 = time.perf_counter()
    out = certified_bounds(
        tree,
        block.vertices,
        sites,
        block.simplices,
        block.facets,
        tol,
        vertex_values=block.values,
        n_threads=n_threads,
    )
    seconds["tree"] += t1 - t0
    seconds["kernel"] += time.perf_counter() - t1
    return out


def block_task(reader, block, *args, **kwargs):
    """:func:`run_block`, with the CPU seconds of this thread in ``seconds["cpu"]`` (the
    kernel runs on the calling thread when ``n_threads`` is 1, as on a dask worker)."""
    cpu = time.thread_time()
    result = run_block(reader, block, *args, **kwargs)
    result.seconds["cpu"] = time.thread_time() - cpu
    return result


def run_block(reader, block, shift, tol, method, points_per_edge, device, n_threads, max_halo=None):
    """Bounds (or, for ``method="grid"``, grid values) of one block's simplices.

    Runs where the task is scheduled (a worker process, or this one): reads the halo,
    indexes it in the centred coordinates shared by all blocks and runs the kernel. A halo
    of more than ``max_halo`` points (default: :func:`worker_halo_cap`, from the dask
    worker's memory limit; no limit outside a worker) is indexed in parts: the block's
    simplices are halved (:func:`sub_groups`) until each group's halo fits, and each group
    runs with its faces on its part (a face in several groups is bounded in each; the
    bounds merge as blocks do).
    """
    check_device(device)  # Warp initialized quietly, kernels from the cache
    t0 = time.perf_counter()
    halo, n_read = halo_points(reader, block)
    n_halo = len(halo)
    seconds = {"read": time.perf_counter() - t0, "tree": 0.0, "kernel": 0.0}
    if method == "grid":
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
    if cap is None or n_halo <= cap or block.top_centres is None or len(block.top_centres) < 2:
        halo -= shift  # halo is this task's own array
        lower, upper, stats = _certify_points(halo, block, tol, device, n_threads, seconds)
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
        )
    top = top_dimension(block.simplices)
    lower = [block.values.copy()] + [np.full(len(r), -np.inf) for r in block.rows[1:]]
    upper = [block.values.copy()] + [np.full(len(r), np.inf) for r in block.rows[1:]]
    queries, max_sites, splits = {}, {}, {}
    groups = sub_groups(block, halo, cap)
    for group, boxes in groups:
        sub = _block(
            group, block.vertices, block.values, block.simplices, block.facets, top, boxes, None
        )
        points = halo[_in_boxes(halo, boxes)]
        points -= shift
        lo, up, stats = _certify_points(points, sub, tol, device, n_threads, seconds)
        del points
        for k in range(1, len(sub.rows)):
            rows = sub.rows[k]  # rows of this block
            lower[k][rows] = np.maximum(lower[k][rows], lo[k])
            upper[k][rows] = np.minimum(upper[k][rows], up[k])
        for k, q in stats.queries.items():
            queries[k] = queries.get(k, 0) + q
            splits[k] = splits.get(k, 0) + stats.splits[k]
            max_sites[k] = max(max_sites.get(k, 0), stats.max_sites[k])
    return BlockResult(
        block.rows, lower, upper, queries, max_sites, splits, n_halo, n_read, len(groups), seconds
    )


def merge(results, simplices, values, method):
    """Per-simplex bounds of the whole complex from the blocks' (an iterable of
    BlockResult): ``lower = max``, ``upper = min`` over the blocks holding a simplex (each
    block's bounds are certified, so both stay so); and the summed counters: per block its
    halo, rows read, sub-blocks and seconds (columns :data:`BLOCK_STAGES`), and the
    simplices (of dimension >= 1) computed per simplex of the complex (a face shared by
    blocks is computed in each)."""
    lower = [values.copy()] + [np.full(len(s), -np.inf) for s in simplices[1:]]
    upper = [values.copy()] + [np.full(len(s), np.inf) for s in simplices[1:]]
    queries, max_sites, splits, halo, read, parts, seconds, cpu = {}, {}, {}, [], [], [], [], []
    evaluated = 0
    for res in results:
        for k in range(1, len(simplices)):
            rows = res.rows[k]
            lower[k][rows] = np.maximum(lower[k][rows], res.lower[k])
            upper[k][rows] = np.minimum(upper[k][rows], res.upper[k])
            evaluated += len(rows)
        for k, q in res.queries.items():
            queries[k] = queries.get(k, 0) + q
            splits[k] = splits.get(k, 0) + res.splits[k]
            max_sites[k] = max(max_sites.get(k, 0), res.max_sites[k])
        halo.append(res.halo_points)
        read.append(res.rows_read)
        parts.append(res.sub_blocks)
        seconds.append([res.seconds[s] for s in BLOCK_STAGES])
        cpu.append(res.seconds.get("cpu", np.nan))
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
    return lower, upper, queries, work
