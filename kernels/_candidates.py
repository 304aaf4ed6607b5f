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

    seeds: wp.array2d(dtype=wp.int32)  # (task, n_seeds): distinct; NO_POINT once cut or dropped
    extra: wp.array2d(dtype=wp.int32)  # (task, EXTRA_CANDIDATES): points queries found, a ring


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
    the others become NO_POINT. Returns the size (0: no seed at all). With ``reach`` infinite
    no seed is measured (each is within reach, and the first one makes P)."""
    nv = int(0)
    closest = int(-1)
    closest_d = wp.float64(wp.inf)
    measure = reach < wp.float64(wp.inf)
    for j in range(seeds.shape[1]):
        s = int(seeds[t, j])
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
    return nv


@wp.func
def best_candidate(
    xs: wp.array2d(dtype=wp.float64),
    seeds: wp.array2d(dtype=wp.int32),
    n_seeds: int,
    extra: wp.array2d(dtype=wp.int32),
    n_extra: int,
    t: int,
    y: vec6,
    r2: wp.float64,
):
    """The candidate (one of the first ``n_seeds`` seeds not cut yet, or a point a query
    found but did not add) nearest to y among those closer than ``sqrt(r2)``: (point, its
    column: seeds' columns first, then ``extra``'s), or (-1, -1). Candidates are points of
    X: adding one keeps phi_S an upper bound, and costs no query."""
    best = int(-1)
    col = int(-1)
    bd = r2
    for j in range(n_seeds):
        s = int(seeds[t, j])
        if s >= 0:
            d2 = point_dist2(xs, s, y)
            if d2 < bd:
                bd = d2
                best = s
                col = j
    for j in range(wp.min(n_extra, extra.shape[1])):  # the ring fills from column 0
        s = int(extra[t, j])
        if s >= 0:
            d2 = point_dist2(xs, s, y)
            if d2 < bd:
                bd = d2
                best = s
                col = seeds.shape[1] + j
    return best, col


@wp.func
def keep_candidates(
    xs: wp.array2d(dtype=wp.float64),
    seeds: wp.array2d(dtype=wp.int32),
    t: int,
    c: vec6,
    rad: wp.float64,
    upper: wp.float64,
):
    """Move the seed candidates that can still beat S somewhere in C (closer than ``upper``
    >= max phi_S to the task's ball) to the front of the row; returns how many (the
    candidates from then on are the first that many columns)."""
    n = int(0)
    for j in range(seeds.shape[1]):
        s = int(seeds[t, j])
        if s >= 0:
            if wp.sqrt(point_dist2(xs, s, c)) - rad < upper:
                seeds[t, n] = wp.int32(s)
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
