"""Certified filtration values: branch and bound over simplex cells (policy; arithmetic in kernels).

For a simplex s, ``lower`` is the largest d_X found at points of s (any point of s gives
d_X(y) <= f(s)), ``upper`` the largest ``max over the cell of phi_S`` over the cells that
cover s (phi_S >= d_X everywhere). A cell is retired when its maximum is proven exact (d_X at
the maximizer of phi_S equals phi_S there) or when its bound is within ``tol`` of the
simplex's lower bound; otherwise it is bisected along its longest edge. Every retired cell
satisfies ``upper_cell <= lower + tol`` at retirement, and lower only grows, so on exit
``upper - lower <= tol`` for every simplex (unless ``max_rounds`` stops the refinement first:
the bounds then still hold, with a wider gap, and a warning says so).
"""

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import warp as wp

from flood.kernels import bisect_cells, cell_bounds, nearest


@dataclass
class CertifyStats:
    """Work counters of one certified computation, per simplex dimension."""

    evaluations: dict = field(default_factory=dict)
    rounds: dict = field(default_factory=dict)
    max_cells: dict = field(default_factory=dict)


def _refine(tree, vertices, sites, simplices, lower0, tol, margin, max_rounds, stats_out, n_extra):
    """Bounds for one batch of k-simplices. Returns (lower, upper)."""
    device = tree.device
    xs = tree.points
    n = len(simplices)
    lower = lower0.copy()
    upper = np.zeros(n)
    pool_x = np.ascontiguousarray(vertices, dtype=np.float64)
    pool_site = np.ascontiguousarray(sites, dtype=np.int32)
    cells = np.ascontiguousarray(simplices, dtype=np.int32)
    sid = np.arange(n)
    extra = np.full((n, n_extra), -1, dtype=np.int32)
    evaluations, rounds, max_cells = 0, 0, 0
    while len(cells):
        rounds += 1
        max_cells = max(max_cells, len(cells))
        wp_pool_x = wp.array(pool_x, dtype=wp.float64, device=device)
        wp_pool_site = wp.array(pool_site, dtype=wp.int32, device=device)
        u, ystar, ysite = cell_bounds(
            wp_pool_x, wp_pool_site, xs, cells, extra=extra, device=device
        )
        site, dist = nearest(tree, ystar, ysite)
        evaluations += len(cells)
        np.maximum.at(lower, sid, dist)
        exact = dist >= u - margin
        u = u + margin
        done = exact | (u <= lower[sid] + tol)
        if rounds >= max_rounds:
            done[:] = True
        np.maximum.at(upper, sid[done], u[done])
        if done.all():
            break
        keep = ~done
        cells, sid = cells[keep], sid[keep]
        if n_extra:
            # children remember the nearest point found at their parent's maximizer
            extra = np.concatenate([site[keep][:, None], extra[keep][:, : n_extra - 1]], 1)
        mid, hint, child_a, child_b = bisect_cells(
            wp_pool_x, wp_pool_site, xs, cells, len(pool_x), device=device
        )
        mid_site, mid_dist = nearest(tree, mid, hint)
        evaluations += len(mid)
        np.maximum.at(lower, sid, mid_dist)
        pool_x = np.concatenate([pool_x, mid])
        pool_site = np.concatenate([pool_site, mid_site])
        cells = np.concatenate([child_a, child_b])
        sid = np.concatenate([sid, sid])
        extra = np.ascontiguousarray(np.concatenate([extra, extra]))
    stats_out.append((evaluations, rounds, max_cells))
    return lower, np.maximum(upper, lower)


def certified_bounds(
    tree,
    vertices,
    sites,
    simplices,
    facets,
    tol,
    *,
    n_threads=2,
    batch_size=200_000,
    max_rounds=60,
    n_extra=1,
    progress=None,
):
    """Certified lower and upper bounds on f(s) for every simplex of dimension >= 1.

    Parameters
    ----------
    tree : PointTree
        Index over X.
    vertices : ndarray of float64, shape (n_landmarks, dim)
        Landmark coordinates (points of X, in the tree's coordinates).
    sites : ndarray of int32, shape (n_landmarks,)
        Tree-order index of each landmark in X.
    simplices : list of ndarray
        ``simplices[k]`` of shape (n_k, k + 1).
    facets : list of ndarray or None
        ``facets[k]`` of shape (n_k, k + 1): row indices into ``simplices[k - 1]``.
    tol : float
        Target ``upper - lower`` per simplex.
    n_threads : int
        Python threads sharing the batches (Warp CPU launches release the GIL).
    batch_size : int
        Simplices per batch (bounds the memory of the cell arrays).
    max_rounds : int
        Bisection depth limit per batch.
    n_extra : int
        Nearest points found at ancestors' maximizers that each cell keeps as extra sites
        (0 to 3): more sites tighten the bounds and cost more arithmetic per cell.
    progress : callable or None
        Called with (dimension, n_simplices_done) after each batch.

    Returns
    -------
    lower, upper : list of ndarray
        Per dimension; dimension 0 is all zeros (landmarks are points of X).
    stats : CertifyStats
    """
    xs_np_scale = float(np.ptp(vertices, axis=0).max()) if len(vertices) > 1 else 1.0
    margin = 1e-11 * max(xs_np_scale, np.finfo(float).tiny)
    lower = [np.zeros(len(simplices[0]))]
    upper = [np.zeros(len(simplices[0]))]
    stats = CertifyStats()
    for k in range(1, len(simplices)):
        s_k = simplices[k]
        lower0 = np.zeros(len(s_k))
        if k >= 2 and len(s_k):
            lower0 = lower[k - 1][facets[k]].max(axis=1)
        bounds = [(i, min(i + batch_size, len(s_k))) for i in range(0, len(s_k), batch_size)]
        if n_threads > 1 and len(s_k) >= 64:
            per = -(-len(s_k) // n_threads)
            per = min(per, batch_size)
            bounds = [(i, min(i + per, len(s_k))) for i in range(0, len(s_k), per)]
        lo_k, up_k = np.zeros(len(s_k)), np.zeros(len(s_k))
        collected = []

        def work(b, k=k, lo_k=lo_k, up_k=up_k, s_k=s_k, lower0=lower0, collected=collected):
            a, e = b
            lo_k[a:e], up_k[a:e] = _refine(
                tree,
                vertices,
                sites,
                s_k[a:e],
                lower0[a:e],
                tol,
                margin,
                max_rounds,
                collected,
                n_extra,
            )
            if progress is not None:
                progress(k, e - a)

        if n_threads > 1 and len(bounds) > 1:
            with ThreadPoolExecutor(n_threads) as pool:
                list(pool.map(work, bounds))
        else:
            for b in bounds:
                work(b)
        lower.append(lo_k)
        upper.append(up_k)
        stats.evaluations[k] = int(sum(c[0] for c in collected))
        stats.rounds[k] = int(max((c[1] for c in collected), default=0))
        stats.max_cells[k] = int(sum(c[2] for c in collected))
        if stats.rounds[k] >= max_rounds and len(s_k):
            gap = float((up_k - lo_k).max())
            if gap > tol:
                warnings.warn(
                    f"certified refinement of dimension {k} stopped after {max_rounds} rounds "
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
