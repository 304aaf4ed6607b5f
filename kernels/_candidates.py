"""Seeds and candidates of a task: the first polytope from the seeds, and the known points of
X (seeds not cut yet, points an earlier query found but did not add) that can join S
without a query where they beat S at the maximizer.
"""

import numpy as np
import warp as wp

from flood.kernels._cut import add_site
from flood.kernels._polytope import Polytope, Simplices, init_prism
from flood.kernels._tree import vec6
from flood.kernels._tree_query import point_dist2

wp.set_module_options({"enable_backward": False})

EXTRA_CANDIDATES = 32  # points found by queries but not added, kept as candidates (a ring)
NO_POINT = -1  # an empty entry of the seeds or candidates


@wp.struct
class Candidates:
    """Per-task points of X that may join S without a query (row t: task t)."""

    # (task, n_seeds): distinct; NO_POINT once cut or dropped (from the first scan on, the
    # candidates left are the first ``n_cand`` columns: see :func:`keep_candidates`)
    seeds: wp.array2d(dtype=wp.int32)
    # (task, EXTRA_CANDIDATES): points queries found and not tried yet, in the first n_ring
    # columns (:func:`ring_add`, :func:`drop_candidate`)
    extra: wp.array2d(dtype=wp.int32)
    xyz: wp.array3d(dtype=wp.float64)  # (task, seed column, dim): the kept seeds' coordinates


@wp.func
def seed_polytope(
    sx: Simplices,
    xs: wp.array2d(dtype=wp.float64),
    seeds: wp.array2d(dtype=wp.int32),
    reach: wp.float64,
    n_eager: int,
    t: int,
    c: vec6,
    rad: wp.float64,
    zmin: wp.float64,
    thr2: wp.float64,
    poly: Polytope,
):
    """P for the task's first ``n_eager`` seeds that can be nearest somewhere in C (within
    ``reach`` of its ball: centroid ``c``, radius ``rad``); seeds that overflow are dropped.
    The later seeds within reach stay in ``seeds`` as candidates (:func:`best_candidate`),
    the others become NO_POINT. Returns (the size, 0 for no seed at all; the columns in use:
    past the first ``n_eager``, the row ends at its first NO_POINT and the rest is never
    read). With ``reach`` infinite no seed is measured (each is within reach, and the first
    one makes P)."""
    nv = int(0)
    closest = int(-1)
    closest_d = wp.float64(wp.inf)
    measure = reach < wp.float64(wp.inf)
    end = seeds.shape[1]
    for j in range(seeds.shape[1]):
        s = int(seeds[t, j])
        if s < 0 and j >= n_eager:  # the distinct seeds are contiguous: the row ends here
            end = j
            break
        if s >= 0:
            far = False
            if measure:  # a random read of X per seed: only where a seed can be dropped
                dc = wp.sqrt(point_dist2(xs, s, c))
                if dc < closest_d:
                    closest_d = dc
                    closest = s
                far = dc - rad > reach
            if far:
                seeds[t, j] = wp.int32(NO_POINT)
            elif j < n_eager or nv == 0:
                seeds[t, j] = wp.int32(NO_POINT)
                if nv == 0:
                    nv = init_prism(sx, xs, t, s, zmin, poly)
                else:
                    nv, code, top = add_site(sx, xs, poly, t, s, nv, thr2)
    if nv == 0 and closest >= 0:
        nv = init_prism(sx, xs, t, closest, zmin, poly)
    return nv, end


@wp.func
def row_dist2(xyz: wp.array2d(dtype=wp.float64), j: int, q: vec6):
    """:func:`point_dist2` of the seed in column j of one task's copy of its seeds'
    coordinates (``xyz = cands.xyz[t]``; the same terms in the same order: the same value)."""
    if xyz.shape[1] == 3:
        d0 = xyz[j, 0] - q[0]
        d1 = xyz[j, 1] - q[1]
        d2 = xyz[j, 2] - q[2]
        return d0 * d0 + d1 * d1 + d2 * d2
    s = wp.float64(0.0)
    for l in range(xyz.shape[1]):
        e = xyz[j, l] - q[l]
        s += e * e
    return s


@wp.func(inline=False)  # out of line: its loops keep their values in registers
def best_candidate(
    xs: wp.array2d(dtype=wp.float64),
    cands: Candidates,
    n_seeds: int,
    n_ring: int,
    t: int,
    y: vec6,
    r2: wp.float64,
    r2_seeds: wp.float64,
):
    """The candidate (one of the first ``n_seeds`` seeds, each not cut yet, or one of the
    first ``n_ring`` entries of the ring: points a query found but did not add, not tried
    yet) nearest to y among those closer than ``sqrt(r2)`` (a seed:
    also closer than ``sqrt(r2_seeds)``): (point, its column: seeds' columns first, then
    ``extra``'s), or (-1, -1). Candidates are points of X: adding one keeps phi_S an upper
    bound, and costs no query. The seeds' coordinates are read from the task's contiguous
    copy (``xyz``), not from rows of X all over it; branch-free selects (the first of equals
    wins, as in a plain scan)."""
    seeds = cands.seeds
    extra = cands.extra
    best = int(-1)
    col = int(-1)
    bd = wp.min(r2, r2_seeds)
    xyz = cands.xyz[t]  # the task's rows as views: the loops index them by j alone
    j = int(0)
    while j < n_seeds:  # all valid (:func:`drop_candidate` keeps them in front)
        d2 = row_dist2(xyz, j, y)
        nearer = d2 < bd
        bd = wp.where(nearer, d2, bd)
        col = wp.where(nearer, j, col)
        j += 1
    if col >= 0:
        best = int(seeds[t, col])
    else:
        bd = r2
    n_seed_cols = seeds.shape[1]
    ring = extra[t]
    j = int(0)
    while j < n_ring:  # all valid (:func:`drop_candidate` keeps them in front)
        s = int(ring[j])
        d2 = point_dist2(xs, s, y)
        nearer = d2 < bd
        bd = wp.where(nearer, d2, bd)
        best = wp.where(nearer, s, best)
        col = wp.where(nearer, n_seed_cols + j, col)
        j += 1
    return best, col


@wp.func
def drop_candidate(cands: Candidates, n_seeds: int, n_ring: int, t: int, col: int):
    """Take the candidate in column ``col`` (as :func:`best_candidate` numbers them) out:
    it takes the last of the first ``n_seeds`` seeds or ``n_ring`` ring entries (the ones in
    front stay valid, and scans shrink). Returns the new (``n_seeds``, ``n_ring``)."""
    seeds = cands.seeds
    xyz = cands.xyz
    if col < seeds.shape[1]:
        last = n_seeds - 1
        seeds[t, col] = seeds[t, last]
        for l in range(xyz.shape[2]):
            xyz[t, col, l] = xyz[t, last, l]
        seeds[t, last] = wp.int32(NO_POINT)
        return last, n_ring
    last = n_ring - 1
    cands.extra[t, col - seeds.shape[1]] = cands.extra[t, last]
    cands.extra[t, last] = wp.int32(NO_POINT)
    return n_seeds, last


@wp.func
def ring_add(cands: Candidates, t: int, p: int, n_ring: int, n_added: int):
    """Put point p (found by a query, not added to S) into the task's ring of candidates:
    behind the ``n_ring`` entries, or, with the ring full, over entry ``n_added`` modulo its
    size (``n_added``: the points ever put in; round robin over the columns, which after
    tried entries were taken out are not in the order they came in). Returns the new
    ``n_ring``."""
    size = cands.extra.shape[1]
    if n_ring < size:
        cands.extra[t, n_ring] = wp.int32(p)
        return n_ring + 1
    cands.extra[t, n_added % size] = wp.int32(p)
    return n_ring


@wp.func
def keep_candidates(
    xs: wp.array2d(dtype=wp.float64),
    cands: Candidates,
    t: int,
    c: vec6,
    rad: wp.float64,
    upper: wp.float64,
    end: int,
):
    """Move the seed candidates (of the first ``end`` columns, as :func:`seed_polytope`
    returned it) that can still beat S somewhere in C (closer than ``upper`` >= max phi_S to
    the task's ball) to the front of the row, their coordinates to the task's copy
    (``xyz``); returns how many (the candidates from then on are the first that many
    columns)."""
    seeds = cands.seeds
    n = int(0)
    for j in range(end):
        s = int(seeds[t, j])
        if s >= 0:
            if wp.sqrt(point_dist2(xs, s, c)) - rad < upper:
                seeds[t, n] = wp.int32(s)
                for l in range(xs.shape[1]):
                    cands.xyz[t, n, l] = xs[s, l]
                n += 1
    return n  # the columns from n on are never read again (:func:`best_candidate`)


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
