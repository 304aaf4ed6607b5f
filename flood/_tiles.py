"""Spatial tiles of a dask-array cloud: one pass writes X tile by tile, blocks read tiles.

A block of simplices needs only the points of X in its halo (:mod:`flood._blocks`). Rows of
a file are in no useful order (a shuffled export gives every row chunk the whole cloud's
box), so the rows are first moved into **tiles**, the cells of a k-d tree of space
(:class:`Tiling`) built on the client from a random sample of every chunk, each tile holding
about ``tile_points`` points. One pass over the chunks (:func:`partition_chunk`, fused with
the exact covering radius) gives each point its tile and writes each chunk's points sorted by
tile to one ``.npy`` file in a work directory, with the row range and the bounding box of
each tile in it; a block then reads, from each chunk file, only the rows of the tiles its
halo boxes meet (:class:`TileReader`), and knows how many before it reads them.

Bytes moved: the survey reads X once, this pass reads it once and writes it once, and the
blocks read their halos' tiles (about the halos' own sizes: tiles are smaller than a halo).
The work directory is a fresh folder (:func:`work_directory`) removed when the run ends,
whether it succeeds, fails or is interrupted; on a cluster of several machines it must be on
a file system that every worker sees (``work_dir``).
"""

import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from flood.kernels import build_tree, nearest
from flood.kernels._tree import kd_leaves

#: Points per chunk sampled (as a share of the cloud, spread over the chunks by their rows)
#: to build the tiling on the client: ~100 per tile at the largest tile count.
TILE_SAMPLE = 200_000
#: Fewest sample points kept from a non-empty chunk (its region is represented).
MIN_CHUNK_SAMPLE = 64
#: Tiles per landmark: a tile holds about an eighth of a landmark's Voronoi cell, so a halo
#: (a block's region widened by about one cell) reads little beyond itself. Measured on a
#: 3M-point shuffled swiss cheese, 1,000 landmarks, 1M-row blocks: bytes moved 5.45 X at 8
#: per landmark (4,096 tiles), 6.03 X at 2, in the same read time.
TILES_PER_LANDMARK = 8.0
#: At most this many tiles: the client and each block task hold an (n_chunks, n_tiles)
#: table of counts, and a block's read loops over (chunk, tile) pairs in Python.
MAX_TILES = 8192
#: Fewest points a tile is made for (a tile is read with one slice per chunk file).
MIN_TILE_POINTS = 1_000


@dataclass
class Tiling:
    """A k-d tree of space whose leaves are the tiles.

    Node ``i`` splits on coordinate ``axis[i]`` at ``value[i]`` (points ``> value`` go to
    ``right[i]``, the others to ``left[i]``); a leaf has ``axis[i] = -1`` and its tile number
    in ``tile[i]``. Node 0 is the root.
    """

    axis: np.ndarray
    value: np.ndarray
    left: np.ndarray
    right: np.ndarray
    tile: np.ndarray

    @property
    def n_tiles(self):
        return int((self.axis < 0).sum())

    def assign(self, points):
        """Tile number of each point, shape (n_points,) int64 (one Warp CPU launch,
        :func:`flood.kernels._tree.kd_leaves`).

        Examples
        --------
        >>> t = build_tiling(np.array([[0.0], [1.0], [2.0], [3.0]]), np.ones(4), 2)
        >>> t.n_tiles, t.assign(np.array([[-5.0], [0.5], [2.5], [9.0]])).tolist()
        (2, [0, 0, 1, 1])
        """
        return self.tile[kd_leaves(points, self.axis, self.value, self.left, self.right)]


def build_tiling(sample, weights, tile_points):
    """A k-d tiling of the sampled region with about ``tile_points`` points per tile.

    A cell is split at the weighted median of its sample along its widest axis while its
    weight (the points of X it stands for) exceeds ``tile_points``; a cell whose sample is
    one point (or has no extent) stays whole.

    Parameters
    ----------
    sample : ndarray of shape (n_sample, dim)
    weights : ndarray of shape (n_sample,)
        Points of X each sample point stands for.
    tile_points : float

    Returns
    -------
    tiling : Tiling
    """
    axis, value, left, right = [], [], [], []

    def node(rows):
        i = len(axis)
        axis.append(-1), value.append(0.0), left.append(-1), right.append(-1)
        pts = sample[rows]
        span = np.ptp(pts, axis=0) if len(rows) else np.zeros(sample.shape[1])
        if weights[rows].sum() <= tile_points or len(rows) < 2 or span.max() <= 0:
            return i  # a leaf: a tile
        a = int(np.argmax(span))
        order = rows[np.argsort(pts[:, a], kind="stable")]
        v = weighted_median_cut(sample[order, a], weights[order])
        axis[i], value[i] = a, float(v)
        below = sample[order, a] <= v
        left[i] = node(order[below])
        right[i] = node(order[~below])
        return i

    node(np.arange(len(sample)))
    axis = np.array(axis, dtype=np.int64)
    leaves = np.flatnonzero(axis < 0)
    numbers = np.full(len(axis), -1, dtype=np.int64)
    numbers[leaves] = np.arange(len(leaves))
    return Tiling(
        axis=axis,
        value=np.array(value, dtype=np.float64),
        left=np.array(left, dtype=np.int64),
        right=np.array(right, dtype=np.int64),
        tile=numbers,
    )


def weighted_median_cut(values, weights):
    """A value v splitting sorted ``values`` (not all equal) at their weighted median:
    ``values <= v`` and ``values > v`` are both non-empty, ties kept on one side.

    Examples
    --------
    >>> float(weighted_median_cut(np.array([0.0, 1.0, 2.0, 3.0]), np.ones(4)))
    1.0
    >>> float(weighted_median_cut(np.array([0.0, 5.0, 5.0, 5.0]), np.ones(4)))
    0.0
    """
    cum = np.cumsum(weights)
    cut = min(max(int(np.searchsorted(cum, cum[-1] / 2)), 0), len(values) - 2)
    v = values[cut]
    if v >= values[-1]:  # ties up to the top: split below them
        v = values[np.searchsorted(values, v) - 1]
    return v


def tile_points(n_points, n_landmarks):
    """Points per tile for a cloud of ``n_points`` and ``n_landmarks`` landmarks."""
    n_tiles = min(MAX_TILES, max(1, round(TILES_PER_LANDMARK * n_landmarks)))
    return max(MIN_TILE_POINTS, n_points / n_tiles)


def sample_quota(n_points, n_chunks):
    """How much of each chunk :func:`chunk_sample` keeps: a share of its rows when the size
    of X is known, else a number of rows per chunk."""
    if n_points is not None:
        return min(1.0, TILE_SAMPLE / max(n_points, 1))
    return max(MIN_CHUNK_SAMPLE, TILE_SAMPLE // max(n_chunks, 1))


def chunk_sample(block, quota, rng):
    """A uniform random sample of a chunk's rows (for the tiling) and the rows each sample
    point stands for; ``quota`` from :func:`sample_quota`."""
    rows = len(block)
    if not rows:
        return block[:0], np.zeros(0)
    m = int(np.ceil(quota * rows)) if isinstance(quota, float) else quota
    m = min(rows, max(MIN_CHUNK_SAMPLE, m))
    idx = np.sort(rng.choice(rows, m, replace=False)) if m < rows else np.arange(rows)
    return block[idx], np.full(m, rows / m)


@dataclass
class TilePart:
    """What :func:`partition_chunk` returns for one chunk."""

    cover: float  # max over the chunk of d_L
    distance: np.ndarray  # given landmarks: d over the chunk at each landmark (else None)
    nearest_rows: np.ndarray  # given landmarks: the rows realizing it (else None)
    counts: np.ndarray  # (n_tiles,) points of each tile in this chunk
    lo: np.ndarray  # (n_tiles, dim) bounding box of each tile's points (+inf/-inf if none)
    hi: np.ndarray
    seconds: float  # wall
    cpu: float = 0.0  # this thread's CPU seconds


def chunk_path(directory, index):
    return os.path.join(directory, f"chunk-{index:06d}.npy")


def partition_chunk(block, landmarks, start, tiling, directory, index, given, device):
    """The fused pass on one chunk: covering radius, tiles, and the chunk written by tile.

    Runs where the chunk is. d_L of every point comes from a tree over L only (exact: the
    kernel's nearest-point query); for ``given`` landmark coordinates, d over the chunk at
    each landmark and its nearest row need a tree over the chunk. With ``tiling`` None
    (the chunks are compact enough to serve as tiles: :func:`choose_layout`) nothing is
    written. The chunk's points, sorted
    by tile (stable: rows of a tile keep their order), go to one ``.npy`` file, written
    under a temporary name and renamed, so a task run twice (a worker lost) leaves one
    whole file.
    """
    t0, cpu0 = time.perf_counter(), time.thread_time()
    block = np.asarray(block, dtype=np.float64)
    dim = block.shape[1]
    distance = rows = None
    if not len(block):
        cover = 0.0
        if given:
            distance = np.full(len(landmarks), np.inf)
            rows = np.zeros(len(landmarks), np.int64)
    else:
        cover = float(nearest(build_tree(landmarks, device=device), block)[1].max())
        if given:
            tree = build_tree(block, device=device)
            found, distance = nearest(tree, landmarks)
            rows = tree.order[found] + start
            del tree
    if tiling is None:  # the chunks serve as tiles: nothing to write
        return TilePart(
            cover,
            distance,
            rows,
            None,
            None,
            None,
            time.perf_counter() - t0,
            time.thread_time() - cpu0,
        )
    n_tiles = tiling.n_tiles
    tile = tiling.assign(block)
    order = np.argsort(tile, kind="stable")
    counts = np.bincount(tile, minlength=n_tiles)
    block = block[order]
    path = chunk_path(directory, index)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        np.save(f, block)
    os.replace(tmp, path)
    lo = np.full((n_tiles, dim), np.inf)
    hi = np.full((n_tiles, dim), -np.inf)
    full = np.flatnonzero(counts)
    if len(full):
        first = np.concatenate([[0], np.cumsum(counts)])[full]
        lo[full] = np.minimum.reduceat(block, first, axis=0)
        hi[full] = np.maximum.reduceat(block, first, axis=0)
    return TilePart(
        cover, distance, rows, counts, lo, hi, time.perf_counter() - t0, time.thread_time() - cpu0
    )


@dataclass
class Tiles:
    """The tiles on disk, merged on the client from the chunks' :class:`TilePart`."""

    directory: str
    counts: np.ndarray  # (n_chunks, n_tiles)
    lo: np.ndarray  # (n_tiles, dim)
    hi: np.ndarray

    @property
    def sizes(self):
        """Points per tile."""
        return self.counts.sum(axis=0)


def merge_tiles(parts, directory):
    counts = np.stack([p.counts for p in parts])
    lo = np.min([p.lo for p in parts], axis=0)
    hi = np.max([p.hi for p in parts], axis=0)
    return Tiles(directory, counts, lo, hi)


class TileReader:
    """Reads tiles: from each chunk file that holds some of them, their rows (memory-mapped,
    one slice per file and tile; each file opened once per call). Picklable: a block task on
    a worker holds one."""

    def __init__(self, tiles):
        self.directory = tiles.directory
        self.lo, self.hi = tiles.lo, tiles.hi
        # where each tile's rows start in each chunk file, and end: the one table a block
        # task is sent (int32 where the chunks allow: a 10^8-point run's is 3.3 MB, not 13)
        offsets = np.concatenate(
            [np.zeros((len(tiles.counts), 1), np.int64), np.cumsum(tiles.counts, axis=1)], axis=1
        )
        small = offsets[:, -1].max(initial=0) < np.iinfo(np.int32).max
        self.offsets = offsets.astype(np.int32) if small else offsets

    @property
    def counts(self):
        """Rows of each tile in each chunk file, shape (n_chunks, n_tiles)."""
        return np.diff(self.offsets, axis=1)

    def read(self, t):
        """The points of tile ``t``, shape (n, dim)."""
        pieces = [p for _, p in self.pieces([t])]
        return np.concatenate(pieces) if pieces else np.zeros((0, self.lo.shape[1]))

    def pieces(self, tiles):
        """``(tile, points)`` for the tiles ``tiles``: each non-empty slice of each chunk file,
        chunk by chunk (a caller keeps only what it needs of each)."""
        tiles = np.asarray(tiles, dtype=np.int64)
        counts = self.offsets[:, tiles + 1] - self.offsets[:, tiles]
        for c in np.flatnonzero(counts.any(axis=1)):
            data = np.load(chunk_path(self.directory, int(c)), mmap_mode="r")
            for t in tiles[counts[c] > 0]:
                yield int(t), np.array(data[self.offsets[c, t] : self.offsets[c, t + 1]])
            del data


class ChunkTiles:
    """The chunks of a dask array as the tiles (input already in tile order: a survey of
    LAS/LAZ tiles, a spatially sorted file): ``pieces`` computes each chunk alone (no dask
    scheduler: a task holding this reads its chunks one at a time)."""

    def __init__(self, parts, lo, hi):
        self.parts, self.lo, self.hi = tuple(parts), lo, hi

    def pieces(self, tiles):
        for t in tiles:
            yield int(t), np.asarray(self.parts[t].compute(scheduler="sync"), dtype=np.float64)


@dataclass
class Layout:
    """Where X lies, for planning blocks: per tile (or chunk) its box and its points; and,
    once the second pass has run, how blocks read it (a :class:`TileReader` over the tiles
    written, or :class:`ChunkTiles`) and that pass's seconds per chunk (wall, CPU)."""

    lo: np.ndarray
    hi: np.ndarray
    sizes: np.ndarray
    reader: object = None
    written: bool = False
    seconds: np.ndarray = None


def estimated_tiles(tiling, sample, weights):
    """The tiles :func:`partition_chunk` would write, estimated from the sample: points per
    tile (the sample's weights) and the sample's box in each."""
    tile = tiling.assign(sample)
    n, dim = tiling.n_tiles, sample.shape[1]
    lo, hi = np.full((n, dim), np.inf), np.full((n, dim), -np.inf)
    np.minimum.at(lo, tile, sample)
    np.maximum.at(hi, tile, sample)
    return Layout(lo, hi, np.bincount(tile, weights, minlength=n))


def choose_layout(chunk_reads, tile_reads, n_points):
    """Whether the chunks serve as tiles: their blocks read (``chunk_reads`` rows) no more
    than the tiles' would (``tile_reads``) plus the rows writing the tiles costs."""
    return chunk_reads <= tile_reads + n_points


@contextlib.contextmanager
def work_directory(parent=None):
    """A fresh folder for the tiles inside ``parent`` (default: the system's temporary
    folder), removed when the block ends, by an exception or Ctrl-C too."""
    if parent is not None:
        parent = os.fspath(parent)
        if not os.path.isdir(parent):
            raise ValueError(
                f"The 'work_dir' parameter must name an existing directory. Got {parent!r}."
            )
    directory = tempfile.mkdtemp(prefix="flood-tiles-", dir=parent)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
