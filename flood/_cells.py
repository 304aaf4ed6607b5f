"""Cells of space and pieces of simplices: the blocks of a dask run, planned on the client.

The blocks own **space**, not simplices. A k-d tree over a weighted random sample of X (the
tiling's, :mod:`flood._tiles`), split at weighted medians, cuts the region of X into cells
of about ``max_rows / HALO_GROWTH`` rows (at least ``MIN_CELLS``); each cell is one block
task. A top-dimensional simplex belongs to the cell holding its centroid and is kept
**whole** (with all its faces, which the kernel bounds together, each facet's sites seeding
its cofaces) when its corners lie in the cell's box widened by ``MARGIN`` of the cell's
width (or ``MIN_MARGIN`` of the median simplex's longest edge). A simplex that reaches
further is cut into **pieces** (bisection at the midpoint of the longest edge) until each
piece's corners lie in the widened box of the cell holding the piece's centroid; so is each
face that is a face of no whole simplex. conv(s) is the union of its pieces, so
``f(s) = max over its pieces p of f(p)``, and the largest of the pieces' certified bounds
bound f(s) within the same tolerance (:func:`flood._blocks.merge`).

A block's halo (:mod:`flood._blocks`: the points of X within the bound U of its simplices
and pieces) then lies within its cell widened by the margin and by U: neighbouring blocks
share a shell of that width, not of the width of a simplex. A block reads the tiles that
meet the halo of one of its **items** (whole simplices and pieces): the item's box widened
by U and its ball about the centroid of radius (farthest corner + U); around a void the
balls keep out the solid beyond the void that the boxes' corners reach. With 1,000 landmarks
a simplex spans about a tenth of the cloud, so simplex-owning blocks small enough for a
worker of 1 GiB at 10^8 points read their neighbours' regions several times over, and a
single flat simplex on the hull needed 10 % of X in one task. A cell whose block would read
more rows than a worker may hold is halved again, and the plan redone, while halving helps.
Where it no longer helps (around a large void, whose simplices' halos are as wide as the
void), the cell becomes **fine**: its simplices and pieces are cut until each one's halo
ball holds at most ``FINE_SHARE`` of what a block may read (counted on the sample): a small
piece deep in a void has a ball that reaches only a thin shell of the void's surface."""

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from flood._blocks import (
    HALO_RTOL,
    Pieces,
    _block,
    _face_rows,
    _halo_boxes,
    _tiles_meeting_items,
    enclosing_balls,
    top_dimension,
    upper_bounds,
)
from flood._tiles import Tiling, weighted_median_cut
from flood.kernels import build_tree, nearest

#: A cell's box is widened by this share of its width (its longest side) before simplices
#: are tested against it. Wider: fewer pieces, thicker shells read by two blocks.
MARGIN = 0.1
#: ... and by at least this share of the median top simplex's longest edge: cells smaller
#: than the simplices (many blocks for few landmarks) would cut every simplex into many
#: pieces, each a task of the kernel.
MIN_MARGIN = 0.25
#: Rows a block reads per row of its cell, expected when the cells are first cut (its halo
#: is the cell widened by the margin and the simplices' bounds); cells whose blocks read
#: more than allowed are halved again.
HALO_GROWTH = 2.0
#: Bisections of one simplex at most, and pieces per simplex of the complex in all: a piece
#: still crossing its cell's widened box after these is kept as it is (its halo is still
#: complete, only larger). A piece narrower than the margin always fits.
MAX_PIECE_LEVELS = 12
MAX_PIECES_PER_SIMPLEX = 32
#: Cells at least, where each keeps at least ``MIN_CELL_ROWS`` rows: tasks enough to keep 16
#: workers busy to the end (largest first), at a thicker shell read twice.
MIN_CELLS = 16
MIN_CELL_ROWS = 200_000
#: Rounds of "halve the cells whose blocks read too much, plan again"; a cell is not halved
#: again when its block reads more than this share of its parent's.
MAX_ROUNDS = 24
FUTILE = 0.95
#: In a cell whose block read too much (a **fine** cell), simplices and pieces are cut
#: until each one's halo ball holds at most this share of what a block may read (estimated
#: from the sample): around a large void, small pieces deep inside it have halo balls that
#: reach only a thin shell of its surface.
FINE_SHARE = 1 / 16
#: Sample points the halo balls are counted on, at most (a share of the cells' sample).
COUNT_SAMPLE = 50_000


@dataclass
class _Cells:
    """A k-d tree of space over a weighted sample of X; its leaves are the cells.

    Each node holds the sample points in it (``members``, rows of ``points``) and its box
    (clipped to the sample's region). A point goes right of node i where
    ``point[axis[i]] > value[i]``.
    """

    points: np.ndarray  # (n_sample, dim) sample points
    rows: np.ndarray  # (n_sample,) rows of X each stands for
    axis: list = field(default_factory=list)
    value: list = field(default_factory=list)
    left: list = field(default_factory=list)
    right: list = field(default_factory=list)
    members: list = field(default_factory=list)
    parent: list = field(default_factory=list)
    lo: list = field(default_factory=list)
    hi: list = field(default_factory=list)
    fine: list = field(default_factory=list)  # whether its items are cut to small halos
    _tree: object = None
    _per_point: float = 0.0

    def add(self, members, lo, hi, parent=-1):
        self.fine.append(self.fine[parent] if parent >= 0 else False)
        for column, item in zip(
            (self.parent, self.axis, self.value, self.left, self.right, self.members),
            (parent, -1, 0.0, -1, -1, members),
        ):
            column.append(item)
        self.lo.append(lo)
        self.hi.append(hi)
        return len(self.axis) - 1

    def rows_within(self, centres, radii):
        """Rows of X, estimated by the sample, within ``radii`` of ``centres``."""
        if self._tree is None:
            from scipy.spatial import cKDTree

            step = max(1, len(self.points) // COUNT_SAMPLE)
            self._tree = cKDTree(self.points[::step])
            self._per_point = self.rows.sum() / max(self._tree.n, 1)
        if not len(centres):
            return np.zeros(0)
        return self._tree.query_ball_point(centres, radii, return_length=True) * self._per_point

    def leaves(self):
        return [i for i, a in enumerate(self.axis) if a < 0]

    def split(self, i):
        """Halve leaf i at the weighted median of its sample along its widest side (the
        next widest where the sample is flat); False where it cannot be halved."""
        members = self.members[i]
        if len(members) < 2:
            return False
        for a in np.argsort(self.hi[i] - self.lo[i])[::-1]:
            order = members[np.argsort(self.points[members, a], kind="stable")]
            values = self.points[order, a]
            if values[0] == values[-1]:
                continue
            v = weighted_median_cut(values, self.rows[order])
            below = values <= v
            hi, lo = self.hi[i].copy(), self.lo[i].copy()
            hi[a], lo[a] = v, v
            self.axis[i], self.value[i] = int(a), float(v)
            self.left[i] = self.add(order[below], self.lo[i], hi, i)
            self.right[i] = self.add(order[~below], lo, self.hi[i], i)
            return True
        return False

    def assign(self, points):
        """Leaf (node number) holding each point."""
        n = len(self.axis)
        return Tiling(
            np.array(self.axis), np.array(self.value), np.array(self.left),
            np.array(self.right), np.arange(n),
        ).assign(points)  # fmt: skip


def _cells(sample, weights, target):
    """Cells of about ``target`` rows of X (by the sample's weights)."""
    cells = _Cells(sample, np.asarray(weights, dtype=np.float64))
    lo = sample.min(axis=0) if len(sample) else np.zeros(sample.shape[1])
    hi = sample.max(axis=0) if len(sample) else np.zeros(sample.shape[1])
    todo = [cells.add(np.arange(len(sample)), lo, hi)]
    while todo:
        i = todo.pop()
        if cells.rows[cells.members[i]].sum() > target and cells.split(i):
            todo += [cells.left[i], cells.right[i]]
    return cells


def _widened(cells, least):
    """Per node, its box widened by ``MARGIN`` of its width, or by ``least``."""
    lo, hi = np.array(cells.lo), np.array(cells.hi)
    margin = np.maximum(MARGIN * (hi - lo).max(axis=1, keepdims=True), least)
    return lo - margin, hi + margin


def _longest_edge(corners):
    """Corner pairs (a, b) of each simplex's longest edge, and its length."""
    pairs = list(combinations(range(corners.shape[1]), 2))
    lengths = np.stack(
        [((corners[:, a] - corners[:, b]) ** 2).sum(axis=1) for a, b in pairs], axis=1
    )
    best = np.argmax(lengths, axis=1)
    a, b = np.array(pairs)[best].T
    return a, b, np.sqrt(lengths[np.arange(len(corners)), best])


def cut_into_pieces(corners, parents, fits, max_pieces=None):
    """Pieces of the simplices ``corners`` (n, k + 1, dim): each cut at the midpoint of its
    longest edge, the halves in turn, until ``fits(pieces, parents)`` (a mask) holds for each piece
    or ``MAX_PIECE_LEVELS`` cuts, or until there would be more than ``max_pieces``; the
    union of a simplex's pieces is the simplex.

    Returns
    -------
    corners : ndarray of shape (n_pieces, k + 1, dim)
    parents : ndarray of shape (n_pieces,)
        The row of ``parents`` each piece comes from.

    Examples
    --------
    >>> c, p = cut_into_pieces(np.array([[[0.0], [4.0]]]), np.array([7]),
    ...                        lambda q, p: np.ptp(q[:, :, 0], axis=1) <= 1)
    >>> sorted(c[:, :, 0].min(axis=1).tolist()), p.tolist()
    ([0.0, 1.0, 2.0, 3.0], [7, 7, 7, 7])
    """
    out_c, out_p, n_out = [], [], 0
    for level in range(MAX_PIECE_LEVELS + 1):
        ok = fits(corners, parents)
        if level == MAX_PIECE_LEVELS or (
            max_pieces is not None and n_out + len(corners) + (~ok).sum() > max_pieces
        ):
            ok[:] = True
        n_out += int(ok.sum())
        out_c.append(corners[ok])
        out_p.append(parents[ok])
        corners, parents = corners[~ok], parents[~ok]
        if not len(corners):
            break
        a, b, _ = _longest_edge(corners)
        rows = np.arange(len(corners))
        mid = 0.5 * (corners[rows, a] + corners[rows, b])
        left, right = corners.copy(), corners.copy()
        left[rows, b] = mid
        right[rows, a] = mid
        corners = np.concatenate([left, right])
        parents = np.concatenate([parents, parents])
    return np.concatenate(out_c), np.concatenate(out_p)


def _fits(cells, wide_lo, wide_hi, halo_rows=None, limit=np.inf):
    """Mask maker: the simplices whose corners lie in the widened box of the cell holding
    their centroid, and, in a fine cell, whose halo holds at most ``limit`` rows of X
    (``halo_rows(corners, parents)``, estimated)."""

    def fits(corners, parents=None):
        node = cells.assign(corners.mean(axis=1))
        ok = np.all(corners.min(axis=1) >= wide_lo[node], axis=1) & np.all(
            corners.max(axis=1) <= wide_hi[node], axis=1
        )
        if halo_rows is not None:
            ask = np.flatnonzero(ok & np.array(cells.fine)[node])
            if len(ask):
                ok[ask] = halo_rows(corners[ask], parents[ask]) <= limit
        return ok

    return fits


def plan_cells(
    landmarks,
    values,
    simplices,
    facets,
    shift,
    tile_lo,
    tile_hi,
    tile_rows,
    sample,
    weights,
    bounds,
    block_size,
    max_rows,
    hard=True,
    pieces=True,
):
    """The blocks of the complex over cells of space, largest first.

    Parameters
    ----------
    landmarks : ndarray of shape (n_landmarks, dim)
        Centred landmark coordinates (input coordinates minus ``shift``).
    values : ndarray of shape (n_landmarks,)
        d_X at the landmarks.
    simplices, facets : list of ndarray
    shift : ndarray of shape (dim,)
    tile_lo, tile_hi : ndarray of shape (n_tiles, dim)
        Bounding box of each tile (input coordinates; ``+inf``/``-inf`` for empty tiles).
    tile_rows : ndarray of shape (n_tiles,)
    sample, weights : ndarray of shape (n_sample, dim) and (n_sample,)
        Centred points of X and the rows each stands for: the cells are cut by them.
    bounds : SimplexBounds
        Upper bounds U >= f(s) per simplex: the tight ones once there is more than one cell.
    block_size : int
        Top simplices per block, about: the cells are first cut to hold about this many
        top simplices' share of X (and ``max_rows / HALO_GROWTH`` rows at most).
    max_rows : int
        Rows a block may read: with ``hard`` (a worker's memory limit), a cell whose block
        reads more is halved until it does not or is one sample point (such a block is
        refused before it runs: :mod:`flood._memory`); else only a target for the cells.
    hard : bool
    pieces : bool, default=True
        Whether simplices may be cut (not for ``method="grid"``, whose values are grid
        maxima of whole simplices): without, a simplex is whole in the cell of its centroid.

    Returns
    -------
    blocks : list of Block
    """
    top = top_dimension(simplices)
    corners = landmarks[simplices[top]]
    n = weights.sum()
    target = min(
        max_rows / HALO_GROWTH,
        n * block_size / max(len(corners), 1),
        max(n / MIN_CELLS, MIN_CELL_ROWS),
    )
    cells = _cells(sample, weights, max(1.0, target))
    least = MIN_MARGIN * float(np.median(_longest_edge(corners)[2])) if top else 0.0
    reads = {}  # rows read by the block of each cell planned so far
    for _ in range(MAX_ROUNDS):
        known = _Known(bounds, tight=len(cells.leaves()) > 1)
        blocks, too_big = _plan(
            cells, landmarks, values, simplices, facets, shift, corners, top, tile_lo, tile_hi,
            tile_rows, known, least, max_rows, hard, pieces,
        )  # fmt: skip
        reads.update({b.cell: b.reads for b in blocks})
        # halve again only where halving helped: a cell read as much as its parent is cut
        # by no tile boundary (rows in no spatial order, read as chunks), or lies around a
        # large void or a big simplex; the latter becomes fine (its items are cut until
        # their halos are small), unless its block reads about all of X anyway
        everything = FUTILE * tile_rows.sum()
        changed = False
        for i in too_big:
            if reads[i] < FUTILE * reads.get(cells.parent[i], np.inf) and cells.split(i):
                changed = True
            elif not cells.fine[i] and reads[i] < everything:
                cells.fine[i] = changed = True
        if not changed:
            break
    return sorted(blocks, key=lambda b: -b.reads)


def _plan(
    cells, landmarks, values, simplices, facets, shift, corners, top, tile_lo, tile_hi,
    tile_rows, bounds, least, max_rows, hard, pieces,
):  # fmt: skip
    """One plan over the current cells: its blocks, and the cells to halve."""
    wide_lo, wide_hi = _widened(cells, least)
    if not pieces:
        wide_lo, wide_hi = np.full_like(wide_lo, -np.inf), np.full_like(wide_hi, np.inf)

    def fits_of(k):
        def halo_rows(c, parents):
            u = bounds.of_pieces(k, parents, c)
            return cells.rows_within(c.mean(axis=1), _ball_radii(c, u, 0.0))

        return _fits(cells, wide_lo, wide_hi, halo_rows, FINE_SHARE * max_rows)

    whole = fits_of(top)(corners, np.arange(len(corners)))
    top_rows = np.flatnonzero(whole)
    covered = _face_rows(top_rows, simplices, facets, top)
    # items: (dimension, parent rows, corners) of every piece; whole tops apart
    items = []
    for k in range(1, top + 1):
        mask = np.ones(len(simplices[k]), dtype=bool)
        mask[covered[k]] = False
        rows = np.flatnonzero(mask)
        if len(rows):
            most = MAX_PIECES_PER_SIMPLEX * len(simplices[k])
            c, p = cut_into_pieces(landmarks[simplices[k][rows]], rows, fits_of(k), most)
            items.append((k, p, c, bounds.of_pieces(k, p, c)))
    node_top = cells.assign(corners[top_rows].mean(axis=1))
    node_item = [cells.assign(c.mean(axis=1)) for _, _, c, _ in items]
    blocks, too_big = [], []
    for leaf in cells.leaves():
        group = top_rows[node_top == leaf]
        parts = {}
        for (k, p, c, u), node in zip(items, node_item):
            at = node == leaf
            if at.any():
                parts[k] = _pieces(p[at], c[at], u[at], shift)
        n_items = len(group) + sum(len(q.parents) for q in parts.values())
        if not n_items:
            continue
        centres = [landmarks[simplices[top][group]].mean(axis=1)]
        lo = [corners[group].min(axis=1) - bounds[top][group, None] + shift]
        hi = [corners[group].max(axis=1) + bounds[top][group, None] + shift]
        radii = [_ball_radii(corners[group], bounds[top][group], shift)]
        for q in parts.values():
            centres.append(q.corners.mean(axis=1))
            lo.append(q.lo)
            hi.append(q.hi)
            radii.append(q.radius)
        centres, lo, hi = np.concatenate(centres), np.concatenate(lo), np.concatenate(hi)
        radii = np.concatenate(radii)
        boxes = _halo_boxes(centres, lo, hi, np.arange(len(centres)))
        halo = (centres + shift, radii, lo, hi)
        meets = _tiles_meeting_items(boxes, halo, tile_lo, tile_hi)
        block = _block(
            group, landmarks, values, simplices, facets, top, boxes, np.flatnonzero(meets)
        )
        block.top_centres = centres[: len(group)]
        block.top_lo, block.top_hi = lo[: len(group)], hi[: len(group)]
        block.pieces = parts
        block.items = halo
        block.reads = int(tile_rows[meets].sum())
        block.cell = leaf
        blocks.append(block)
        if block.reads > max_rows and hard:
            too_big.append(leaf)
    return blocks, too_big


class SimplexBounds:
    """Per dimension, an upper bound U >= f(s) of every simplex, computed when first asked:
    ``crude()``, ``R + max_v d(v)`` (R: the enclosing radius; d >= d_X at the landmarks),
    and ``tight()``, also the sampled bound f_C(s) of :func:`flood._blocks.upper_bounds`
    (a kernel run over C; about as long as a 300k-point filtration, so a plan of one cell,
    whose halo is all of X anyway, does without)."""

    def __init__(self, landmarks, values, simplices, samples, device="cpu"):
        self.args = (landmarks, np.asarray(values, dtype=np.float64), simplices)
        self.samples, self.device = samples, device
        self._crude = self._tight = self._tree = None

    def _compute(self, samples):
        landmarks, values, simplices = self.args
        out = [values]
        for k in range(1, len(simplices)):
            corners = landmarks[simplices[k]]
            if not len(corners):
                out.append(np.zeros(0))
                continue
            radii = enclosing_balls(corners)[1]
            out.append(upper_bounds(corners, radii, values[simplices[k]], samples, self.device))
        return out

    def distance(self, points):
        """d_C at ``points`` (>= d_X)."""
        if self._tree is None:
            self._tree = build_tree(self.samples, device=self.device)
        return nearest(self._tree, points)[1]

    def crude(self):
        if self._crude is None:
            self._crude = self._compute(self.samples[:0])
        return self._crude

    def tight(self):
        if self._tight is None:
            self._tight = self._compute(self.samples)
        return self._tight


class _Known:
    """The bounds a plan uses: per dimension (``known[k]``), and per piece."""

    def __init__(self, bounds, tight):
        self.bounds, self.tight = bounds, tight
        self.per_simplex = bounds.tight() if tight else bounds.crude()

    def __getitem__(self, k):
        return self.per_simplex[k]

    def of_pieces(self, k, parents, corners):
        """U of each piece: its simplex's, or ``L + max_v d_C(v)`` over its corners v (L: its
        longest edge, at least its enclosing radius), if smaller: a piece of a simplex
        across a void, far from the void's centre, needs less of X than the whole."""
        u = self.per_simplex[k][parents]
        if not self.tight or not len(corners):
            return u
        n, kp1, dim = corners.shape
        d = self.bounds.distance(corners.reshape(-1, dim)).reshape(n, kp1).max(axis=1)
        return np.minimum(u, _longest_edge(corners)[2] + d)


def _ball_radii(corners, bound, shift):
    """Halo ball radius about each simplex's centroid: its farthest corner plus its bound
    U, widened by ``HALO_RTOL`` of the input coordinates' scale (every y in conv(s) lies
    within the farthest corner's distance of the centroid, and the nearest point of X to y
    within U of y)."""
    if not len(corners):
        return np.zeros(0)
    far = np.linalg.norm(corners - corners.mean(axis=1, keepdims=True), axis=2).max(axis=1)
    scale = np.abs(corners).max(axis=(1, 2)) + np.abs(shift).max() + far + bound
    return (far + bound) * (1 + HALO_RTOL) + HALO_RTOL * scale


def _pieces(parents, corners, bound, shift):
    """:class:`flood._blocks.Pieces` with their halo boxes (input coordinates)."""
    lo = corners.min(axis=1) - bound[:, None] + shift
    hi = corners.max(axis=1) + bound[:, None] + shift
    margin = HALO_RTOL * np.maximum(np.abs(lo), np.abs(hi)).max(axis=1, keepdims=True)
    return Pieces(
        parents=parents, corners=corners, lo=lo - margin, hi=hi + margin,
        radius=_ball_radii(corners, bound, shift),
    )  # fmt: skip
