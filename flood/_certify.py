"""Certified filtration values: the S-loop per simplex, dimension by dimension (policy; the
arithmetic is in :mod:`flood.kernels._voronoi`).

Each k-simplex is one task of the kernel: it keeps a set S of points of X, bounds ``f(s)``
from above by the maximum of ``phi_S`` over the simplex (exact, restricted Voronoi vertices)
and from below by d_X at the maximizers, and adds the nearest points found there until
``upper - lower <= tol`` or the maximum is exact. The dimensions run in order (edges, then
triangles, ...): a simplex starts from the nearest points of its corners, the sites its
facets ended with (all of them, as candidates: one is cut into its polytope only where it
beats the simplex's sites at a maximizer) and the largest lower bound of its facets (f is
monotone). A simplex whose sites outgrow the kernel's fixed arrays is cut into pieces inside
the kernel (see :mod:`flood.kernels._voronoi`); only a task whose stack of pieces is full
(or that spent ``CPU_MAX_QUERIES`` queries, ``MAX_QUERIES`` on a GPU) comes back, with valid
bounds, and is split here at the midpoint of its longest edge; each half starts from the
sites whose cells reach it. The upper bound of a simplex is the largest over its pieces, its
lower bound the largest found anywhere in it, and each piece retires only once its upper
bound is within ``tol`` of that lower bound (or is exact): on exit ``upper - lower <= tol``
for every simplex, unless ``max_depth`` host splits stop a piece first (the bounds then
still hold, with a wider gap, and a warning says so).
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from flood._certify_batches import SeedRows, ThreadScratch, faces_of, merge, shrink
from flood.kernels import certify_tasks, launch_size, nearest_k
from flood.kernels._pool import run_shared
from flood.kernels._sloop import MAX_QUERIES
from flood.kernels._voronoi import MAX_CORNERS

#: Points of each k-nearest query that join S at once, per simplex dimension (each is one
#: cut of a polytope whose size grows with |S|), and how many more are kept as candidates:
#: before its next query a task adds the candidate nearest to its maximizer that beats S
#: there, without a query, so candidates that never matter cost no cut. With ``n_add = 1``
#: the query is a nearest-point search and the kept points are the nearest others it
#: visited (free); else it is an exact k-nearest search. Measured on 100k-1M tori and
#: swiss cheeses (benchmarks/RESULTS.md, sixth step).
N_ADD = {1: 8}
N_ADD_DEFAULT = 1
N_KEEP = {1: 8}
N_KEEP_DEFAULT = 7
#: Vertices of a piece's polytope before it is split, per simplex dimension: the lifted
#: polytope of a k-simplex lives in R^(k+1) and has more vertices per site as k grows.
#: Tetrahedra: 384 (fewer splits; 1M cheese, 1,000 landmarks: -4 % CPU against 256, as fast
#: as 512 with 3/4 of its scratch; 10,000 and 100,000 landmarks: within noise).
MAX_VERTICES = {3: 384, 4: 1024, 5: 1024, 6: 2048}
MAX_VERTICES_DEFAULT = 256
#: Splits of one simplex before its bounds are accepted as they are (each halves a piece).
MAX_SPLIT_DEPTH = 40
#: k-nearest queries of one task on the CPU before it is handed back to be split here
#: (:data:`flood.kernels._sloop.MAX_QUERIES`, 200, stays the kernel's default and the GPU's,
#: where the host's halves of a long task run in parallel). A task handed back loses its
#: pieces and sites, and its halves start again in rounds of a few tasks that leave a thread
#: waiting; on the CPU it may as well go on. 1M cheese, 1,000 landmarks: with 200, the
#: first round handed back 28 triangles and 22 tetrahedra (seed 0; 42 and 23 on seed 1),
#: whose pieces ran in 3 and 4 more rounds (~0.04 s); with 1,000 none on either seed,
#: filtration 1.034-1.073 s against 1.086-1.117 (seed 0, 3 runs each) and queries per
#: tetrahedron 20.2 -> 16.9 (seed 1); 10,000 landmarks 1.73 against 1.77-1.86 s; the 300k
#: torus and ``tol=0`` on the 100k cheese hand nothing back either way.
CPU_MAX_QUERIES = 1000
#: Tasks per CPU kernel launch (for 256-vertex polytopes; fewer for larger ones): at least
#: the first, up to the second where a dimension has ``BATCHES_PER_THREAD`` batches per
#: thread of the first. A launch costs ~0.5 ms of host work besides its tasks (its arrays,
#: outputs, seeds): 4,096 took one thread's CPU at 100,000 landmarks (1M cheese) from 22.4-22.6
#: to 20.2-20.8 s. On the CPU the tasks of a launch share one row of working memory
#: (:class:`flood.kernels.TaskScratch` with ``one_row``), so a launch's size no longer
#: costs memory (with a row per task, 4,096 had taken the peak RSS at 1,000 landmarks from
#: 584 to 888 MB). A GPU launch holds as many tasks as fill the device
#: (:func:`flood.kernels.launch_size`).
BATCH_SIZE = {"cpu": (1024, 4096)}
BATCHES_PER_THREAD = 32
#: Batches per refinement round while progress is reported, so a bar moves at least ~30
#: times per dimension (a launch costs ~1 ms more than its tasks; 100k torus, 1,000 landmarks).
PROGRESS_BATCHES = 32


@dataclass
class CertifyStats:
    """Work counters of one certified computation, per simplex dimension."""

    queries: dict = field(default_factory=dict)  # k-nearest queries in all
    max_sites: dict = field(default_factory=dict)  # largest |S| active on a task
    splits: dict = field(default_factory=dict)  # pieces split in two (in the kernel or here)
    # per dimension (n_k, dim): where the kernel found d_X >= lower (NaN: lower came from faces)
    witness: list = field(default_factory=list)


def _bisect(corners, edge, sites, side):
    """Halve each simplex at the midpoint of its longest edge ``(a, b)`` (``a * 7 + b``):
    the half at corner a replaces b by the midpoint, the other a. Each half keeps the sites
    whose cells reach it. Returns (corners, seeds) of the 2n halves, then their parents."""
    n = len(corners)
    a, b = np.divmod(edge, MAX_CORNERS)
    rows = np.arange(n)
    mid = 0.5 * (corners[rows, a] + corners[rows, b])
    left, right = corners.copy(), corners.copy()
    left[rows, b] = mid
    right[rows, a] = mid
    seeds_l = np.where(side & 1, sites, -1)
    seeds_r = np.where(side & 2, sites, -1)
    return (
        np.concatenate([left, right]),
        np.concatenate([seeds_l, seeds_r]).astype(np.int32),
        np.concatenate([rows, rows]),
    )


def cpu_batch_size(n, max_vertices, n_threads, progress=False):
    """Tasks per CPU launch for ``n`` tasks of ``max_vertices``-vertex polytopes on
    ``n_threads`` threads: ``BATCH_SIZE``'s first (scaled down for bigger polytopes), up to
    its second where each thread gets ``BATCHES_PER_THREAD`` batches, never more than a
    thread's share (nor, with ``progress``, than ``PROGRESS_BATCHES`` allow), and evened out
    over the threads (:func:`_even_batches`)."""
    least, most = (b * MAX_VERTICES_DEFAULT // max_vertices for b in BATCH_SIZE["cpu"])
    threads = max(n_threads, 1)
    size = min(most, max(least, -(-n // (BATCHES_PER_THREAD * threads))))
    size = max(1, min(size, -(-n // threads)))
    if progress:
        size = max(1, min(size, -(-n // PROGRESS_BATCHES)))
    return _even_batches(n, size, threads)


def _even_batches(n, size, threads):
    """The batch size for ``n`` tasks at most ``size``, such that the batches (at least
    two) come in a multiple of ``threads``: each thread takes as many, so none waits alone
    on a last one (1M cheese, 1,000 landmarks: 9 tetrahedron batches on 2 threads kept one
    thread busy 1.19 s, the other 0.98)."""
    batches = -(-n // max(size, 1))
    if batches < 2 or threads < 2:
        return size
    batches = -(-batches // threads) * threads
    return max(1, -(-n // batches))


def _run(
    tree, corners, seeds, lower0, reach, tol, n_threads, progress, scratch=None, first_round=True
):
    """certify_tasks over batches shared by ``n_threads`` threads (launches release the GIL),
    each thread launching into its own reused ``scratch`` (a :class:`ThreadScratch`, made
    here if None); ``seeds`` is an array of rows or a :class:`SeedRows`. Returns
    :func:`shrink`'s fields of all tasks."""
    seeds = seeds if isinstance(seeds, SeedRows) else SeedRows(seeds)
    scratch = ThreadScratch(tree.device) if scratch is None else scratch
    k = corners.shape[1] - 1
    n_add = N_ADD.get(k, N_ADD_DEFAULT)
    n_keep = N_KEEP.get(k, N_KEEP_DEFAULT)
    # a simplex cuts its corners' nearest points at once, a piece of a split every seed
    n_eager = k + 1 if first_round else None
    max_vertices = MAX_VERTICES.get(k, MAX_VERTICES_DEFAULT)
    n = len(corners)
    device = str(tree.device)
    if device.startswith("cpu"):
        capacity = size = cpu_batch_size(n, max_vertices, n_threads, progress is not None)
        max_queries = CPU_MAX_QUERIES
    else:  # one launcher thread, launches that fill the GPU (progress moves per launch)
        capacity = size = launch_size(device, max_vertices)
        n_threads = 1
        max_queries = MAX_QUERIES
    bounds = [(a, min(a + size, n)) for a in range(0, n, size)]

    def work(b):
        a, e = b
        out = certify_tasks(
            tree,
            corners[a:e],
            seeds(a, e),
            lower0[a:e],
            reach[a:e],
            tol,
            n_add=n_add,
            n_keep=n_keep,
            n_eager=n_eager,
            max_queries=max_queries,
            max_vertices=max_vertices,
            scratch=scratch.get(capacity, max_vertices),
            progress=progress,
        )
        return shrink(out, first_round)

    return merge(run_shared(work, bounds, n_threads), bounds)


def _bound_dimension(
    tree, corners, seeds, lower0, tol, n_threads, max_depth, progress, scratch=None
):
    """Bounds for the k-simplices given by ``corners`` and their ``seeds`` (an array of rows
    or a :class:`SeedRows`); returns (lower, upper, witness, the sites each simplex ended with
    (as :func:`faces_of` gives them), queries, max |S|, splits, depth reached)."""
    n = len(corners)
    scratch = ThreadScratch(tree.device) if scratch is None else scratch
    lower, upper = lower0.copy(), np.zeros(n)
    witness = np.full((n, corners.shape[2]), np.nan)
    sid = np.arange(n)
    reach = np.full(n, np.inf)
    root, queries, max_sites, splits, depth = None, 0, 0, 0, 0
    total = 0  # tasks of all rounds so far: the simplices, then the pieces split from them
    while len(sid):
        total += len(sid)
        report = None if progress is None else (lambda m, t=total: progress(m, t))
        first = root is None
        out = _run(tree, corners, seeds, lower[sid], reach, tol, n_threads, report, scratch, first)
        if first:  # the sites each simplex ended with, for its cofaces
            count = out["n_sites"]
            root = out["root"], np.cumsum(count) - count, count
        queries += int(out["queries"].sum())
        splits += int(out["splits"].sum())
        max_sites = max(max_sites, int(out["n_sites"].max()))
        _keep_witness(witness, lower, sid, out["lower"], out["ylow"], first)
        np.maximum.at(lower, sid, out["lower"])
        # a task handed back is split unless its bounds are close enough after all
        back = out["back"]
        split = (out["upper"][back] > lower[sid[back]] + tol) & (depth < max_depth)
        done = np.ones(len(sid), dtype=bool)
        done[back[split]] = False
        np.maximum.at(upper, sid[done], out["upper"][done])
        if not split.any():
            break
        rows = back[split]
        splits += len(rows)
        corners, dense, parent = _bisect(
            corners[rows], out["back_edge"][split], out["back_sites"][split],
            out["back_side"][split],
        )  # fmt: skip
        seeds = SeedRows(dense)
        reach = out["upper"][rows][parent]
        sid = sid[rows][parent]
        depth += 1
    upper = np.maximum(upper, lower)
    return lower, upper, witness, root, queries, max_sites, splits, depth


def _keep_witness(witness, lower, sid, found, where, unique=False):
    """Per simplex ``sid``, the point of the piece that raised its lower bound the most
    above ``lower`` (its value before this round), into ``witness`` (``unique``: each
    simplex is one task of this round)."""
    up = np.flatnonzero(found > lower[sid])
    if not len(up):
        return
    if not unique:
        up = up[np.lexsort((-found[up], sid[up]))]  # per simplex, the largest first
        up = up[np.r_[True, sid[up][1:] != sid[up][:-1]]]
    witness[sid[up]] = where[up]


def _row_max(values, rows):
    """``values[rows].max(axis=1)``, column by column (the same numbers, without the
    (n, k + 1) gather and its slow short-axis reduction: 1.3M triangles, ~2.5x faster)."""
    out = values[rows[:, 0]]
    for j in range(1, rows.shape[1]):
        np.maximum(out, values[rows[:, j]], out=out)
    return out


def _tree_order(corner_sites):
    """The order the tasks run in (by the first of their corners' sites in tree order: tasks
    sharing a corner, then nearby ones, one after another, sharing the cache; 1M cheese,
    one thread: certified_bounds 20.9 s CPU vs 23.2 in the given order at 100k landmarks,
    5.9 vs 6.1 at 10k; the same bounds), and back."""
    first = corner_sites[:, 0].copy()
    for j in range(1, corner_sites.shape[1]):  # column by column: ~10x min(axis=1)
        np.minimum(first, corner_sites[:, j], out=first)
    run = np.argsort(first, kind="stable")
    back = np.empty_like(run)
    back[run] = np.arange(len(run))
    return run, back


def landmark_neighbours(tree, vertices, sites, n_threads=2):
    """The ``K_NEAREST`` points of X nearest each landmark (tree positions, -1 padded),
    searched from its site: the edges' first candidates (one query per landmark, counted
    with the edges' queries). Needs neither the simplices nor ``tol``."""
    vertices = np.ascontiguousarray(vertices, dtype=np.float64)
    sites = np.asarray(sites, dtype=np.int32)
    near, _ = nearest_k(tree, vertices, np.inf, hints=sites, n_threads=n_threads)
    return near


def certified_bounds(
    tree,
    vertices,
    sites,
    simplices,
    facets,
    tol,
    *,
    vertex_values=None,
    n_threads=2,
    max_depth=MAX_SPLIT_DEPTH,
    progress=None,
    landmark_near=None,
):
    """Certified lower and upper bounds on f(s) for every simplex of dimension >= 1.

    Parameters
    ----------
    tree : PointTree
        Index over X.
    vertices : ndarray of float64, shape (n_landmarks, dim)
        Landmark coordinates (in the tree's coordinates).
    sites : ndarray of int32, shape (n_landmarks,)
        Tree-order index of each landmark's nearest point of X.
    simplices : list of ndarray
        ``simplices[k]`` of shape (n_k, k + 1).
    facets : list of ndarray or None
        ``facets[k]`` of shape (n_k, k + 1): row indices into ``simplices[k - 1]``.
    tol : float
        Target ``upper - lower`` per simplex (0: exact up to rounding).
    vertex_values : ndarray of shape (n_landmarks,), optional
        d_X of each landmark (0 for points of X): lower bounds for the edges.
    n_threads : int
        Python threads sharing the launches (Warp CPU launches release the GIL).
    max_depth : int
        Splits of one simplex before its bounds are accepted with a wider gap.
    progress : callable or None
        Called as ``progress(dimension, n_done, n_total)`` as batches finish: ``n_done``
        more tasks of that dimension finished, of ``n_total`` so far (its simplices, plus
        the pieces of every refinement round started; it grows between rounds).
    landmark_near : ndarray, optional
        :func:`landmark_neighbours` of these landmarks, when computed beforehand (the
        command computes it while Qhull runs); else computed here.

    Returns
    -------
    lower, upper : list of ndarray
        Per dimension; dimension 0 is ``vertex_values`` (zeros by default).
    stats : CertifyStats
        With ``witness``: per dimension, where the kernel found ``d_X >= lower`` in each
        simplex (NaN where ``lower`` is its faces' bound; :func:`maximizers` fills those).
    """
    vertices = np.ascontiguousarray(vertices, dtype=np.float64)
    sites = np.asarray(sites, dtype=np.int32)
    values = np.zeros(len(vertices)) if vertex_values is None else np.asarray(vertex_values)
    lower, upper = [values.copy()], [values.copy()]
    stats = CertifyStats(witness=[np.full(vertices.shape, np.nan)])
    if landmark_near is not None and len(landmark_near) != len(vertices):
        raise ValueError(
            f"landmark_near must have one row per landmark ({len(vertices)}); "
            f"got {len(landmark_near)} rows."
        )
    faces = None  # the sites each simplex of the dimension below ended with (:func:`faces_of`)
    scratch = ThreadScratch(tree.device)
    for k in range(1, len(simplices)):
        s_k = simplices[k]
        if not len(s_k):
            lower.append(np.zeros(0))
            upper.append(np.zeros(0))
            stats.witness.append(np.zeros((0, vertices.shape[1])))
            faces = faces_of(np.zeros((0, 1), dtype=np.int32))
            prev_back = np.zeros(0, dtype=np.int64)
            continue
        corner_sites = sites[s_k]
        run, back = _tree_order(corner_sites)
        s_k = s_k[run]
        corner_sites = corner_sites[run]
        if k == 1:
            lower0 = _row_max(values, s_k)
            # candidates: the K_NEAREST (16) points of each corner (one query per landmark,
            # counted with the edges' queries; from its site, in the sites' order)
            if landmark_near is None:
                landmark_near = landmark_neighbours(tree, vertices, sites, n_threads)
            near = landmark_near
            # the rows in their sites' tree order, as the edges run: nearby reads
            prev_run, prev_back = _tree_order(sites[:, None])
            seeds = SeedRows(corner_sites, prev_back[s_k], faces_of(near[prev_run]))
            landmark_queries = len(vertices)
        else:
            face_rows = facets[k][run]
            lower0 = _row_max(lower[k - 1], face_rows)
            # the faces' rows in the order their dimension ran (tree order), as the tasks
            # run: a task's faces lie near the previous task's (1M cheese, 100,000
            # landmarks: gathering the seeds 1.59 -> 1.48 s of one core, 1.26 with the rows
            # ended at their first NO_POINT)
            seeds = SeedRows(corner_sites, prev_back[face_rows], faces)
            landmark_queries = 0
        report = None if progress is None else (lambda m, t, k=k: progress(k, m, t))
        corners = np.take(vertices, s_k, axis=0)  # take: ~1.3x fancy indexing
        lo, up, wit, (flat, start, count), queries, max_sites, splits, depth = _bound_dimension(
            tree, corners, seeds, lower0, tol, n_threads, max_depth, report, scratch
        )
        del corners
        faces, prev_back = (flat, start, count), back  # faces in run order; the rest not
        lo, up, wit = lo[back], up[back], wit[back]
        lower.append(lo)
        upper.append(up)
        stats.queries[k] = queries + landmark_queries
        stats.max_sites[k] = max_sites
        stats.splits[k] = splits
        stats.witness.append(wit)
        gap = float((up - lo).max())
        if depth >= max_depth and gap > tol:
            warnings.warn(
                f"certified refinement of dimension {k} stopped after {max_depth} splits "
                f"with a gap of {gap:.3g} > tol={tol:.3g}; the bounds still hold.",
                RuntimeWarning,
                stacklevel=3,
            )
    return lower, upper, stats


def propagate_bounds(lower, upper, facets):
    """Tighten bounds with face <= coface and return monotone filtration values.

    ``lower`` grows from faces to cofaces (f(s) >= f(t) >= lower(t)) and ``upper`` shrinks
    from cofaces to faces (f(t) <= f(s) <= upper(s)). Then the midpoints are monotone too and
    lie within the bounds: the returned filtration is within ``(upper - lower) / 2`` of f.
    """
    lower = [a.copy() for a in lower]
    upper = [a.copy() for a in upper]
    for k in range(2, len(lower)):
        if len(lower[k]):
            lower[k] = np.maximum(lower[k], lower[k - 1][facets[k]].max(axis=1))
    for k in range(len(upper) - 1, 1, -1):
        if len(upper[k]):
            for j in range(facets[k].shape[1]):
                np.minimum.at(upper[k - 1], facets[k][:, j], upper[k])
    filtration = [0.5 * (lo + up) for lo, up in zip(lower, upper)]
    for k in range(2, len(filtration)):
        if len(filtration[k]):
            filtration[k] = np.maximum(filtration[k], filtration[k - 1][facets[k]].max(axis=1))
    return lower, upper, filtration


def maximizers(vertices, lower, witness, simplices, facets):
    """Per simplex a point y of it with ``d_X(y) >= lower(s)`` after face <= coface.

    ``lower`` is the kernel's (before :func:`propagate_bounds`), ``witness`` its points (NaN
    where a simplex kept its faces' bound). Where a face's lower bound is larger or the
    kernel found none, the face's point stands in: it lies in the simplex too. Vertices are
    their own points (``d_X(l) = lower`` of a vertex). With ``lower >= f(s) - tol``, the
    point is a ``tol``-maximizer of d_X over s: where the flood reaches s last.
    """
    points = [np.asarray(vertices, dtype=np.float64).copy()]
    low = [np.asarray(lower[0], dtype=np.float64)]
    for k in range(1, len(simplices)):
        faces = simplices[1] if k == 1 else facets[k]
        face_low = low[k - 1][faces] if len(faces) else np.zeros((0, k + 1))
        best = face_low.argmax(axis=1) if len(faces) else np.zeros(0, dtype=np.int64)
        rows = np.arange(len(faces))
        own = witness[k].copy()
        from_face = np.isnan(own[:, 0]) | (face_low[rows, best] > lower[k])
        own[from_face] = points[k - 1][faces[rows, best]][from_face]
        points.append(own)
        low.append(np.maximum(lower[k], face_low.max(axis=1, initial=-np.inf)))
    return points
