"""flood_complex on a dask array chunked by rows: one cloud larger than a process.

The stages (DESIGN.md section 7), passes over the chunks alternating with work on the client:

1. survey, one task per chunk: check the chunk (:func:`flood.datasets.check_chunk`: NaN/inf
   is refused naming the chunk's rows, counted from the chunks before it),
   its bounding box, row count, coordinate sum and R factor (the mean and the flatness of X
   follow), its farthest point sampling candidates (``min(CANDIDATES * n_landmarks,
   rows)``) and a uniform random sample (:func:`flood._tiles.chunk_sample`);
2. landmarks, on the client: one FPS over all candidates (seeded by ``random_state``), or
   the given coordinates; and a k-d tiling of space from the samples
   (:func:`flood._tiles.build_tiling`);
3. tiles, one task per chunk (:func:`flood._tiles.partition_chunk`): the exact covering
   radius of X by L (max over the chunks of d_L, from a tree over L), for given
   coordinates d_X at them (min over the chunks) and their nearest rows, and the chunk's
   points written sorted by tile to a work directory, with each tile's rows and box;
4. Delaunay, on the client;
5. filtration, one task per block of simplices (:mod:`flood._blocks`): each reads the
   tiles meeting its halo (:class:`flood._tiles.TileReader`), keeps the points inside, and
   runs :func:`flood._certify.certified_bounds` on them; the client merges the bounds and
   tightens them by face <= coface (:func:`flood._stages.certified_filtration`).

The stages that do not depend on where X lives (options, landmark picking, Delaunay, the
tolerance, the filtration from the bounds) are :mod:`flood._stages`, shared with the
one-process path; this module imports nothing from :mod:`flood._complex`.

The client holds the landmarks, the candidates, the samples, the complex and the bounds,
never X. With a ``dask.distributed`` Client active every task runs on its workers (a task is
retried elsewhere when its worker dies: tasks are pure, and a tile file is written whole or
not at all); without one the chunks are computed in this process with dask's threaded
scheduler, a few at a time, and the blocks one by one. The work directory is removed when
the run ends, whatever ends it.

Sources: any dask array whose chunk tasks read their own rows (``flood.datasets.
read_point_cloud(path, chunks=...)``, ``dask.array.from_zarr``) keeps every task small. An
array made by ``dask.array.from_array`` carries its source in the graph: an in-memory array
is shipped to the workers chunk by chunk, and a NumPy memmap is pickled whole (on a Client,
each worker then receives all of X; in this process it is read lazily, as a file).
"""

import sys
import time
import uuid
from dataclasses import dataclass, replace

import numpy as np

from flood._blocks import (
    DEFAULT_BLOCK_ROWS,
    DEFAULT_BLOCK_SIZE,
    block_task,
    merge,
    top_dimension,
)
from flood._cells import SimplexBounds, plan_cells
from flood._certify import maximizers
from flood._landmarks import farthest_point_sampling
from flood._memory import (
    block_rows_cap,
    check_block_memory,
    check_chunk_memory,
    worker_memory_limit,
)
from flood._progress import compile_kernels
from flood._result import FloodResult
from flood._stages import (
    certified_filtration,
    check_options,
    default_tol,
    grid_filtration,
    pick_landmarks,
    triangulate_landmarks,
)
from flood._tiles import (
    ChunkTiles,
    Layout,
    TileReader,
    build_tiling,
    choose_layout,
    chunk_sample,
    estimated_tiles,
    merge_tiles,
    partition_chunk,
    sample_quota,
    tile_points,
    work_directory,
)
from flood._validation import (
    MAX_DIM,
    check_device,
    check_landmarks,
    check_n_points,
    distinct_rows,
)
from flood.datasets import check_chunk
from flood.kernels import build_tree, nearest

#: FPS candidates per chunk, per landmark: the final FPS picks among more points, and the
#: candidates, a sparse subset of X held by the client, bound f(s) from above before X is
#: read (:func:`flood._blocks.upper_bounds`): denser, they make thinner halos.
CANDIDATES = 4


@dataclass
class ChunkSurvey:
    """What the first pass learns about one chunk."""

    rows: int
    lo: np.ndarray  # bounding box (+inf/-inf when empty)
    hi: np.ndarray
    total: np.ndarray  # coordinate sum
    r: np.ndarray  # R factor of the chunk centred at its own mean
    candidates: np.ndarray  # FPS candidates, rows of the chunk
    coords: np.ndarray  # their coordinates
    sample: np.ndarray = None  # a uniform random sample of the chunk, for the tiling
    weights: np.ndarray = None  # rows each sample point stands for
    bad: bool = False  # refused by flood.datasets.check_chunk
    seconds: float = 0.0  # the task's own time (the chunk's read included)
    cpu: float = 0.0  # and its thread's CPU seconds


def _refuse_array(points):
    """The rules a dask array must meet before any chunk is read."""
    shape = tuple(points.shape)
    if points.dtype.kind not in "biuf":
        raise TypeError(f"points has dtype {points.dtype}; expected real numbers.")
    if len(shape) != 2:
        raise ValueError(f"points has shape {shape}; expected (n_points, dim).")
    if not 1 <= shape[1] <= MAX_DIM:
        raise ValueError(
            f"points has shape {shape}; expected (n_points, dim) with 1 <= dim <= {MAX_DIM}."
        )
    if shape[0] == 0:
        raise ValueError(f"points has shape {shape}; expected (n_points, dim) with n_points >= 1.")
    if len(points.chunks[1]) > 1:
        points = points.rechunk({1: -1})  # chunked by rows only
    return points


def _active_client():
    """The ``dask.distributed`` Client in use, or None (nothing imported to find out)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        return distributed.default_client()
    except ValueError:  # no Client
        return None


def _compute(tasks, client, n_threads):
    """Results of dask delayed ``tasks``: on the Client's workers, else in this process."""
    import dask

    if client is not None:
        return client.gather(client.compute(tasks))
    return dask.compute(*tasks, scheduler="threads", num_workers=n_threads)


def _survey_chunk(block, dim, n_candidates, quota, seed):
    """Pass 1 on one chunk (runs where the chunk is)."""
    t0, cpu0 = time.perf_counter(), time.thread_time()
    empty = np.zeros((0, dim))
    try:
        block = check_chunk(block, 0, "points", dim=dim)  # its rows are named on the client
    except (TypeError, ValueError):
        return ChunkSurvey(0, empty, empty, empty, empty, empty, empty, bad=True)
    rows = len(block)
    if rows == 0:
        inf = np.full(dim, np.inf)
        return ChunkSurvey(
            0, inf, -inf, np.zeros(dim), empty, np.zeros(0, int), empty, empty, np.zeros(0)
        )
    mean = block.mean(axis=0)
    r = np.linalg.qr(block - mean, mode="r")
    m = min(n_candidates, rows)
    rng = np.random.default_rng(seed)
    idx = farthest_point_sampling(block, m, random_state=rng) if m else np.zeros(0, int)
    sample, weights = chunk_sample(block, quota, rng)
    return ChunkSurvey(
        rows,
        block.min(axis=0),
        block.max(axis=0),
        block.sum(axis=0),
        r,
        idx,
        block[idx],
        sample,
        weights,
        seconds=time.perf_counter() - t0,
        cpu=time.thread_time() - cpu0,
    )


def _refuse_chunk(part, start, dim):
    """Raise the error of a chunk the survey found bad, now that its first row is known
    (:func:`flood.datasets.check_chunk` names its rows); the one chunk is read here again."""
    check_chunk(np.asarray(part.compute()), int(start), "points", dim=dim)
    raise ValueError(
        f"points: the chunk at row {start:,} failed flood.datasets.check_chunk when first "
        "read and passed it when read again: its source changed during the computation."
    )


@dataclass
class Survey:
    """Pass 1 over all chunks, merged on the client."""

    n: int
    starts: np.ndarray  # first row of each chunk
    lo: np.ndarray  # (n_chunks, dim) bounding boxes
    hi: np.ndarray
    mean: np.ndarray
    spread: np.ndarray  # small matrix with the singular values of X - mean
    candidates: np.ndarray  # global rows
    coords: np.ndarray
    sample: np.ndarray  # uniform random sample of X (all chunks), for the tiling
    weights: np.ndarray  # rows of X each sample point stands for


def _merge_survey(parts, chunks, dim):
    """One Survey from the chunks' (raises for the first bad chunk, naming its rows)."""
    counts = np.array([p.rows for p in parts], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    for p, chunk, start in zip(parts, chunks, starts):
        if p.bad:
            _refuse_chunk(chunk, start, dim)
    n = int(counts.sum())
    mean = sum(p.total for p in parts) / max(n, 1)
    full = [p for p in parts if p.rows]
    # X - mean has the singular values of the chunks' R factors (each about its own mean)
    # stacked with one row per chunk for the shift of its mean
    spread = np.concatenate(
        [np.zeros((0, dim))]
        + [p.r for p in full]
        + [np.sqrt(p.rows) * (p.total / p.rows - mean)[None] for p in full]
    )
    return Survey(
        n=n,
        starts=starts,
        lo=np.stack([p.lo for p in parts]),
        hi=np.stack([p.hi for p in parts]),
        mean=mean,
        spread=spread,
        candidates=np.concatenate([p.candidates + s for p, s in zip(parts, starts)]),
        coords=np.concatenate([p.coords for p in parts]),
        sample=np.concatenate([p.sample for p in parts]),
        weights=np.concatenate([p.weights for p in parts]),
    )


def _seeds(random_state, n):
    """``n`` independent seeds (one per chunk, one for the client's FPS) from one state."""
    if isinstance(random_state, np.random.Generator):
        random_state = int(random_state.integers(2**63))
    return np.random.SeedSequence(random_state).spawn(n)


def _survey(parts, dim, n_candidates, quota, seeds, client, n_threads):
    import dask

    task = dask.delayed(_survey_chunk, pure=True)
    tasks = [task(p, dim, n_candidates, quota, s) for p, s in zip(parts, seeds)]
    out = _compute(tasks, client, n_threads)
    return _merge_survey(out, parts, dim), np.array([[o.seconds, o.cpu] for o in out])


def _partition_task(block, landmarks, start, tiling, directory, index, given, device):
    """Pass 2 on one chunk (:func:`flood._tiles.partition_chunk`), where the chunk is."""
    check_device(device)
    return partition_chunk(block, landmarks, start, tiling, directory, index, given, device)


def _partition(parts, L, survey, tiling, directory, given, device, client, n_threads):
    """Covering radius, d_X at L and the nearest rows (the last two None unless given), and
    the tiles written to ``directory``."""
    import dask

    lm, til = dask.delayed(L), dask.delayed(tiling)
    task = dask.delayed(_partition_task, pure=True)
    tasks = [
        task(p, lm, int(s), til, directory, i, given, device)
        for i, (p, s) in enumerate(zip(parts, survey.starts))
    ]
    out = _compute(tasks, client, n_threads)
    seconds = np.array([[o.seconds, o.cpu] for o in out])
    if tiling is None:  # the chunks are the tiles
        rows = np.diff([*survey.starts, survey.n])
        reader = ChunkTiles(parts, survey.lo, survey.hi)
        tiles = Layout(survey.lo, survey.hi, rows, reader, written=False, seconds=seconds)
    else:
        disk = merge_tiles(out, directory)
        reader = TileReader(disk)
        tiles = Layout(disk.lo, disk.hi, disk.sizes, reader, written=True, seconds=seconds)
    cover = max(o.cover for o in out)
    if not given:
        return cover, np.zeros(len(L)), None, tiles
    dist = np.stack([o.distance for o in out])
    best = np.argmin(dist, axis=0)
    cols = np.arange(len(L))
    return cover, dist[best, cols], np.stack([o.nearest_rows for o in out])[best, cols], tiles


def _landmarks(landmarks, survey, seed):
    """L in input coordinates and their rows (None for given coordinates)."""
    if isinstance(landmarks, int):
        idx = pick_landmarks(survey.coords, landmarks, seed)
        return survey.coords[idx], survey.candidates[idx]
    return landmarks[distinct_rows(landmarks, "landmarks")], None


def _run_blocks(tiles, blocks, settings, client, progress):
    """BlockResults as the block tasks finish (on the Client's workers, else here)."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(blocks), desc="filtration, blocks", unit="block")
    reader = tiles.reader
    blocks = [replace(b, items=None) for b in blocks]  # the plan's: the tasks keep boxes
    futures = []
    try:
        if client is None:
            for block in blocks:
                yield block_task(reader, block, *settings)
                if bar is not None:
                    bar.update(1)
            return
        import dask
        from distributed import as_completed

        token = uuid.uuid4().hex
        tile_reader = dask.delayed(reader, name=f"flood-tiles-{token}", traverse=False)
        task = dask.delayed(block_task, pure=True)
        tasks = []
        for i, b in enumerate(blocks):  # in the blocks' order (largest first), by priority
            with dask.annotate(priority=len(blocks) - i):
                tasks.append(
                    task(tile_reader, b, *settings, dask_key_name=f"flood-block-{token}-{i}")
                )
        futures = client.compute(tasks, optimize_graph=False)  # keeps the annotations
        for future in as_completed(futures):
            yield future.result()
            future.release()
            if bar is not None:
                bar.update(1)
    finally:
        if futures:  # an error or Ctrl-C: the blocks left stop reading the tiles
            client.cancel(futures)
        if bar is not None:
            bar.close()


def _filtration(tiles, survey, Lc, values, simplices, facets, options, plan, client, progress):
    """Bounds of every simplex from the blocks, tightened by face <= coface; the blocks are
    cut to fit the workers' memory limit, and a run refused before any block task runs if
    a single simplex cannot (:mod:`flood._memory`)."""
    limit = worker_memory_limit(client)
    tol, method, points_per_edge, device, n_threads, block_size = options
    witness = None
    if top_dimension(simplices) == 0:  # vertices only
        lower = upper = [values] + [np.zeros(0) for _ in simplices[1:]]
        queries, work = {}, {"blocks": 0}
    else:
        blocks = _plan(tiles, survey, Lc, values, simplices, facets, plan, limit)
        check_block_memory(limit, max(b.reads for b in blocks), Lc.shape[1])
        settings = (survey.mean, tol, method, points_per_edge, device, n_threads)
        results = _run_blocks(tiles, blocks, settings, client, progress)
        lower, upper, queries, work, witness = merge(results, simplices, values, method)
    if method == "grid":  # the blocks' "bounds" are the interior grid maxima
        out = grid_filtration(lower[0], lower, simplices, facets, points_per_edge)
    else:
        out = certified_filtration(lower, upper, facets, queries, simplices)
        if witness is not None:  # the blocks' witnesses: each simplex's maximizer, as in memory
            found = maximizers(Lc, lower, witness, simplices, facets)
            out["maximizers"] = [y + survey.mean for y in found]
    return dict(out, work=work)


def _plan(tiles, survey, Lc, values, simplices, facets, plan, limit):
    """The blocks over a :class:`flood._tiles.Layout` (tiles, chunks, or an estimate);
    ``plan``: (block_size, upper bounds per dimension, whether simplices may be cut)."""
    block_size, bounds, pieces = plan
    cap = block_rows_cap(limit, Lc.shape[1])
    return plan_cells(
        Lc,
        values,
        simplices,
        facets,
        survey.mean,
        tiles.lo,
        tiles.hi,
        tiles.sizes,
        survey.sample - survey.mean,
        survey.weights,
        bounds,
        block_size,
        max_rows=cap or DEFAULT_BLOCK_ROWS,
        hard=cap is not None,
        pieces=pieces,
    )


def _bound_samples(survey):
    """Points of X (centred) for the sampled bound f_C(s) >= f(s): the landmark candidates
    and the tiling's uniform sample. The denser C, the thinner the halos: on a 1M-point
    cheese with 1,000 landmarks the sum of the top simplices' halo boxes fell from 77 X
    (4,000 candidates) to 23 X (and 200,000 sample points), for 0.9 s of kernel."""
    parts = [survey.coords] if survey.sample is None else [survey.coords, survey.sample]
    # a sample point and a candidate may coincide
    return np.unique(np.concatenate(parts), axis=0) - survey.mean


def _bounds(survey, Lc, simplices, device):
    """Upper bounds U >= f(s) per dimension, computed when a plan needs them
    (:class:`flood._cells.SimplexBounds`), over the candidates and the tiling's sample
    (C, a subset of X): d_C at the landmarks bounds d_X there."""
    samples = _bound_samples(survey)
    values = nearest(build_tree(samples, device=device), Lc)[1]
    return SimplexBounds(Lc, values, simplices, samples, device)


def _chunks_are_tiles(survey, tiling, L, given, Lc, simplices, facets, plan, device, client):
    """Whether to read the chunks as they are (their blocks read little more than the tiles'
    would, plus the tiles' writing: :func:`flood._tiles.choose_layout`), planned both ways
    before anything is written. d_X at given landmarks is bounded by the candidates'.

    The chosen plan's largest block is checked against the workers' memory limit here, so
    a run that cannot fit stops before the second pass reads and writes X (the blocks over
    the tiles actually written are checked again before they run).
    """
    if top_dimension(simplices) == 0:
        return False
    values = np.zeros(len(L))
    if given:
        values = nearest(build_tree(survey.coords, device=device), L)[1]
    limit = worker_memory_limit(client)
    chunks = Layout(survey.lo, survey.hi, np.diff([*survey.starts, survey.n]))
    tiles = estimated_tiles(tiling, survey.sample, survey.weights)
    plans = [_plan(t, survey, Lc, values, simplices, facets, plan, limit) for t in (chunks, tiles)]
    reads = [sum(b.reads for b in plan) for plan in plans]
    use_chunks = choose_layout(reads[0], reads[1], survey.n)
    chosen = plans[0] if use_chunks else plans[1]
    check_block_memory(limit, max(b.reads for b in chosen), Lc.shape[1])
    return use_chunks


def _bytes_moved(n, dim, tiles, work):
    """Totals of a run's work: bytes read (the survey and the partition read X, the blocks
    their tiles) and written (the tiles), tree points per point of X, and the tiles."""
    x_bytes = 8 * dim * n
    block_rows = int(work["rows_read"].sum()) if "rows_read" in work else 0
    return {
        "x_bytes": x_bytes,
        "bytes_read": 2 * x_bytes + 8 * dim * block_rows,
        "bytes_written": x_bytes if tiles.written else 0,
        "tree_points_per_point": (
            float(work["halo_points"].sum()) / max(n, 1) if "halo_points" in work else 0.0
        ),
        "tiles": len(tiles.sizes),
        "chunks_as_tiles": not tiles.written,
        "tile_points": tiles.sizes,
    }


def dask_flood_complex(
    points,
    landmarks,
    *,
    max_dimension,
    tol,
    method,
    points_per_edge,
    device,
    random_state,
    n_threads,
    progress,
    block_size,
    work_dir=None,
):
    """:func:`flood.flood_complex` for a ``dask.array.Array`` of shape (n_points, dim).

    Same parameters and result; ``block_size`` (default :data:`DEFAULT_BLOCK_SIZE`) is the
    number of top-dimensional simplices per block task; ``work_dir`` the folder in which
    the tiles are written (a fresh subfolder, removed at the end; default: the system's
    temporary folder). See the module docstring.
    """
    timings = {}
    t0 = time.perf_counter()
    points = _refuse_array(points)
    n_known, dim = points.shape
    n_known = None if np.isnan(n_known) else int(n_known)
    if n_known is not None:
        check_n_points(n_known, dim)
    landmarks = check_landmarks(landmarks, n_known or sys.maxsize, dim)
    max_dimension, tol = check_options(dim, max_dimension, tol, method, points_per_edge, n_threads)
    block_size = _check_block_size(block_size)
    device = check_device(device)
    if progress and compile_kernels(method, device):  # first run: its own stage
        timings["compile"] = time.perf_counter() - t0
        t0 = time.perf_counter()
    client = _active_client()
    rows = points.chunks[0]
    check_chunk_memory(
        worker_memory_limit(client), None if np.isnan(max(rows)) else int(max(rows)), dim
    )
    parts = list(points.to_delayed().ravel())
    seeds = _seeds(random_state, len(parts) + 1)
    n_candidates = CANDIDATES * (landmarks if isinstance(landmarks, int) else len(landmarks))
    quota = sample_quota(n_known, len(parts))
    survey, survey_seconds = _survey(parts, dim, n_candidates, quota, seeds[:-1], client, n_threads)
    check_n_points(survey.n, dim)
    if isinstance(landmarks, int):
        landmarks = check_landmarks(landmarks, survey.n, dim)
    L, lm_idx = _landmarks(landmarks, survey, seeds[-1])
    tiling = build_tiling(survey.sample, survey.weights, tile_points(survey.n, len(L)))
    timings["landmarks"] = time.perf_counter() - t0

    t2 = time.perf_counter()
    Lc = L - survey.mean
    simplices, facets = triangulate_landmarks(Lc, survey.spread, max_dimension)
    timings["delaunay"] = time.perf_counter() - t2

    with work_directory(work_dir) as directory:
        t1 = time.perf_counter()
        given = lm_idx is None
        known = _bounds(survey, Lc, simplices, device) if top_dimension(simplices) else None
        plan = (block_size, known, method != "grid")
        if _chunks_are_tiles(survey, tiling, L, given, Lc, simplices, facets, plan, device, client):
            tiling = None
        cover, values, nearest_rows, tiles = _partition(
            parts, L, survey, tiling, directory, given, device, client, n_threads
        )
        if given and np.all(values == 0):
            lm_idx = nearest_rows
        timings["tiles"] = time.perf_counter() - t1

        t3 = time.perf_counter()
        if method != "grid" and tol is None:
            tol = default_tol(cover, Lc, simplices)
        options = (tol, method, points_per_edge, device, n_threads, block_size)
        bounds = _filtration(
            tiles, survey, Lc, values, simplices, facets, options, plan, client, progress
        )
        timings["filtration"] = time.perf_counter() - t3
    bounds["work"].update(_bytes_moved(survey.n, dim, tiles, bounds["work"]))
    bounds["work"]["chunk_seconds"] = np.c_[survey_seconds[:, 0], tiles.seconds[:, 0]]
    bounds["work"]["chunk_cpu_seconds"] = np.c_[survey_seconds[:, 1], tiles.seconds[:, 1]]
    return FloodResult(
        landmarks=L,
        landmark_indices=None if lm_idx is None else np.asarray(lm_idx, dtype=np.int64),
        covering_radius=float(cover),
        simplices=simplices,
        tol=tol if method != "grid" else float("nan"),
        method=method,
        timings=timings,
        **bounds,
    )


def _check_block_size(block_size):
    if block_size is None:
        return DEFAULT_BLOCK_SIZE
    if (
        isinstance(block_size, bool)
        or not isinstance(block_size, (int, np.integer))
        or block_size < 1
    ):
        raise ValueError(
            "The 'block_size' parameter must be an int in the range [1, inf) or None. "
            f"Got {block_size!r} instead."
        )
    return int(block_size)
