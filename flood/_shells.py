"""The shell of a void: the wall of the region of space its class encloses.

For a bar of H_{d-1} of a triangulation of a region of R^d (voids of a 3-D cloud), Alexander
duality gives a representative that one can look at: at a time t between the birth and
the death, the (d-1)-simplices present cut the d-simplices not yet present into regions;
the death simplex's region is bounded (else the class would not die) and its boundary is a
cycle of the complex at t in the bar's class (the region shrinks as t grows, until only the
death simplex is left).

Which t. At the birth the region is the void plus whatever the flood has not reached yet
around it: where the landmarks are coarse, material simplices whose value is above the
birth join it and the wall grows spikes into the material (100k-point swiss cheese, 8 voids
of radius 0.3-0.6, 600 landmarks, seed 0: walls of 54-166 triangles whose corners reach
2.6-7.4 radii from the centre, where the void is a few tetrahedra). So the region is taken
at the earliest t whose every d-simplex meets the hole, as a union of empty balls: the
centre's (the death simplex's maximizer, radius d_X there) and those of the region's
simplices whose maximizer is at least HOLE_DEPTH radii deep, chained from the centre's (a
ball centred in one already taken; another void in the region is not taken). Regions
nest, so the earliest such t is found by bisection over the values of the birth region's
faces; the wall is then a cycle of the complex at t (between the birth and the death), not
at the birth. Same cloud: 12-38 triangles, corners within 2.1-3.2 radii (median 1.4-2.4);
300k points, 4,000 landmarks: 36-104 triangles, corners within 1.55-2.22 radii (median
1.08-1.64). Without maximizers (dask input) only the centre's ball is used; without a
centre (grid), the region at the birth.
"""

import numpy as np

#: A simplex whose maximizer is at least this share of the hole's radius from X lies in
#: the hole (its empty ball is too big for the gaps of the sampled material around).
HOLE_DEPTH = 0.5
#: Empty balls that stand for the hole, at most (the centre's and the deepest others).
MAX_BALLS = 32


def region_cycle(top_facets, ranks, birth_rank, death_row, avoid=(), hole=None, twins=None):
    """For a bar of H_{d-1} of a triangulation of a region of R^d: the rows (in dimension
    d - 1) of the boundary of the region that the bar's class encloses.

    With ``hole``, the region at the earliest time whose every d-simplex meets the hole's
    ball (see the module). Without, the region at the birth: when that region also holds
    the death simplex of a younger bar in ``avoid`` (another void whose wall closed after
    this birth), that bar's own region at its birth is left out: the boundary is then this
    bar's cycle plus the younger one's, a representative in the complex at the later
    birth. Returns None when the region reaches the hull (no such representative).

    Parameters
    ----------
    top_facets : ndarray of int64 of shape (n_d, d + 1)
        Facet rows of each d-simplex.
    ranks : ndarray of shape (n_{d-1},)
        Position of each (d-1)-simplex in the filtration order.
    birth_rank : int
        Position of the birth simplex.
    death_row : int
        Row of the death simplex among the d-simplices.
    avoid : sequence of (int, int)
        (birth rank, death row) of other bars of the same dimension.
    hole : tuple, optional
        ``(vertices, points, centre, radius, witnesses, depths)``: the d-simplices'
        vertex rows (n_d, d + 1), the points they index (n_points, d), the hole's centre
        (d,) and radius, and (or None) every d-simplex's maximizer (n_d, d) and d_X there.
    twins : (ndarray, ndarray), optional
        :func:`face_owners` of ``top_facets`` (computed when not given).
    """
    if twins is None:
        twins = face_owners(top_facets, len(ranks))
    region = _region(top_facets, ranks, birth_rank, death_row, twins)
    if region is None:
        return None
    if hole is not None and np.isfinite(hole[2]).all() and np.isfinite(hole[3]):
        region = _hole_region(top_facets, ranks, birth_rank, death_row, region, hole)
    else:
        for other_birth, other_death in avoid:
            if other_death != death_row and other_birth > birth_rank and region[other_death]:
                inner = _region(top_facets, ranks, other_birth, other_death, twins)
                if inner is not None and not inner[death_row]:
                    region &= ~inner
    odd = np.bincount(top_facets[region].ravel(), minlength=len(ranks)) % 2 == 1
    return np.flatnonzero(odd)


def _hole_region(top_facets, ranks, birth_rank, death_row, region, hole):
    """The region at the earliest threshold whose every simplex meets the hole (bisection
    over the ranks of the birth region's faces; regions nest)."""
    inside = np.flatnonzero(region)
    meets = np.zeros(len(region), dtype=bool)
    meets[inside] = _meets_hole(inside, *hole)
    if meets[inside].all():
        return region
    # later regions lie in this one: search there only, with the faces numbered anew
    faces, sub = np.unique(top_facets[inside], return_inverse=True)
    sub = sub.reshape(len(inside), -1)
    sub_ranks = ranks[faces]
    twins = face_owners(sub, len(faces))
    local_death = int(np.searchsorted(inside, death_row))
    steps = np.unique(sub_ranks)
    steps = steps[steps > birth_rank]
    if not len(steps):  # the death simplex alone, off its own centre (rounding): keep it
        return region

    def good(step):
        local = _region(sub, sub_ranks, step, local_death, twins)
        return local if local is not None and meets[inside[local]].all() else None

    # steps[-1] leaves only the death simplex, which holds the centre; the birth fails
    lo, hi = -1, len(steps) - 1
    best = good(steps[hi])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        local = good(steps[mid])
        if local is None:
            lo = mid
        else:
            hi, best = mid, local
    out = np.zeros(len(region), dtype=bool)
    out[inside[best] if best is not None else death_row] = True
    return out


def _meets_hole(rows, vertices, points, centre, radius, witnesses=None, depths=None):
    """Which d-simplices ``rows`` meet the hole: one of its empty balls, the centre's
    (radius ``radius``) and those of the simplices among ``rows`` whose maximizer lies
    deeper than HOLE_DEPTH * radius (``witnesses``, ``depths``: every d-simplex's
    maximizer and d_X there) and in a ball already taken (a chain from the centre's, so
    another void in the region is not taken), at most MAX_BALLS, deepest first."""
    centres, radii = [np.asarray(centre, dtype=np.float64)], [float(radius)]
    if witnesses is not None:
        deep = rows[depths[rows] >= HOLE_DEPTH * radius]
        deep = list(deep[np.argsort(-depths[deep], kind="stable")])
        grown = True
        while grown and len(radii) < MAX_BALLS:  # a chain of balls from the centre's
            grown = False
            for r in deep:
                gap = np.linalg.norm(np.array(centres) - witnesses[r], axis=1)
                # centred in a ball taken (the same hole), not deep in one (nothing new)
                if np.any(gap < np.array(radii)) and np.all(gap > 0.5 * np.array(radii)):
                    centres.append(witnesses[r])
                    radii.append(float(depths[r]))
                    deep.remove(r)
                    grown = True
                    break
    corners = points[vertices[rows]]
    meets = np.zeros(len(rows), dtype=bool)
    for c, rho in zip(centres, radii):
        d = np.linalg.norm(corners - c, axis=2)
        size = np.linalg.norm(corners - corners[:, :1], axis=2).max(axis=1)
        meets |= d.min(axis=1) <= rho  # a corner inside
        open_ = np.flatnonzero(~meets & (d.min(axis=1) - size <= rho))
        if len(open_):
            meets[open_] = simplex_distance(corners[open_], c) <= rho * (1 + 1e-9)
    return meets


def simplex_distance(corners, point):
    """Euclidean distance from ``point`` to each simplex (corners of shape (n, k + 1, d)):
    the least over the faces whose affine hull's nearest point has barycentric
    coordinates >= 0 (vertices always qualify)."""
    from itertools import combinations

    n, m, _ = corners.shape
    best = np.full(n, np.inf)
    for size in range(1, m + 1):
        for face in combinations(range(m), size):
            base = corners[:, face[0]]
            if size == 1:
                near, ok = base, np.ones(n, dtype=bool)
            else:
                edges = corners[:, face[1:]] - base[:, None]  # (n, size-1, d)
                gram = edges @ edges.transpose(0, 2, 1)
                rhs = (edges @ (point - base)[:, :, None])[:, :, 0]
                mu = (np.linalg.pinv(gram) @ rhs[:, :, None])[:, :, 0]
                ok = (mu >= -1e-12).all(axis=1) & (mu.sum(axis=1) <= 1 + 1e-12)
                near = base + (mu[:, :, None] * edges).sum(axis=1)
            dist = np.linalg.norm(near - point, axis=1)
            best = np.where(ok, np.minimum(best, dist), best)
    return best


def _region(top_facets, ranks, threshold, death_row, twins=None):
    """Mask of the d-simplices that reach ``death_row`` through (d-1)-simplices of rank
    above ``threshold`` (grown from it, a front at a time); None when they reach the hull.
    ``twins``: :func:`face_owners` of ``top_facets``."""
    first, second = face_owners(top_facets, len(ranks)) if twins is None else twins
    inside = np.zeros(len(top_facets), dtype=bool)
    inside[death_row] = True
    front = np.array([death_row])
    while len(front):
        faces = top_facets[front].ravel()
        faces = faces[ranks[faces] > threshold]  # not yet present: the region flows through
        if (second[faces] < 0).any():
            return None  # a face of one d-simplex only: on the hull, to the outside
        reached = np.concatenate([first[faces], second[faces]])
        front = np.unique(reached[~inside[reached]])
        inside[front] = True
    return inside


def face_owners(top_facets, n_faces):
    """The two d-simplices of each (d-1)-simplex (row of ``top_facets``; -1: none, the
    second is -1 on the hull)."""
    faces = top_facets.ravel()
    owners = np.repeat(np.arange(len(top_facets)), top_facets.shape[1])
    order = np.argsort(faces, kind="stable")
    faces, owners = faces[order], owners[order]
    lead = np.r_[True, faces[1:] != faces[:-1]]
    first = np.full(n_faces, -1, dtype=np.int64)
    second = np.full(n_faces, -1, dtype=np.int64)
    first[faces[lead]] = owners[lead]
    second[faces[~lead]] = owners[~lead]
    return first, second
