"""The split of a piece (kernels/_pieces.py): one classification and one edge search give
both halves of the lifted polytope P; each half's vertices against a brute-force NumPy
enumeration of the vertices of P cut by the plane (every k + 1 of its constraints, solved
and kept where all hold), the far half's largest F against the reference's, and the next
split plane (the bisector of the piece's diameter) against a NumPy one."""

# ruff: noqa: UP018  (Warp kernels declare dynamic loop variables as int(0), as in kernels/)

from itertools import combinations

import numpy as np
import pytest
import warp as wp

from flood.kernels._cut import add_site
from flood.kernels._pieces import (
    MAX_DEPTH,
    META_COLS,
    PieceStack,
    commit_split,
    pop_piece,
    probe_split,
    push_far_half,
    split_plane,
)
from flood.kernels._polytope import (
    COL_F,
    FLOOR_GAP,
    FREE,
    N_BITS,
    N_COLS,
    N_WORDS,
    SPLIT_PLANE,
    U_DIM,
    Polytope,
    Simplices,
    init_prism,
    task_ball,
)
from flood.kernels._tree import vec6
from flood.kernels._voronoi import TaskScratch

wp.set_module_options({"enable_backward": False})

MAX_VERTICES = 256  # the scratch's vertex rows (the polytopes here have a few dozen)
FEASIBLE = 1e-9  # a reference point violates no constraint by more than this (unit scale)
SAME = 1e-9  # a kernel vertex and a reference vertex this close are the same point
# what a task reports (columns of ``info``)
NEAR, FAR, NPAIR, POPPED = 0, 1, 2, 3


@wp.kernel
def split_kernel(
    sx: Simplices,
    xs: wp.array2d(dtype=wp.float64),
    sites: wp.array2d(dtype=wp.int32),
    planes: wp.array2d(dtype=wp.float64),
    poly: Polytope,
    stack: PieceStack,
    info: wp.array2d(dtype=wp.int32),
    far_f: wp.array(dtype=wp.float64),
    next_plane: wp.array2d(dtype=wp.float64),
):
    """P of task ``wp.tid()`` from its sites (every cut made), then the split by its plane
    ``planes[t, U_DIM] + planes[t, :U_DIM] . u >= 0`` (near half in P, far half on level 0
    of the stack), and the plane that would split the near half next."""
    t = wp.tid()
    for j in range(N_BITS):
        poly.slots[t, j] = wp.int32(FREE)
    c, rad, e2 = task_ball(sx.corners, t)
    zmin = wp.float64(-2.0) * e2 - wp.float64(FLOOR_GAP)
    nv = init_prism(sx, xs, t, int(sites[t, 0]), zmin, poly)
    for i in range(1, sites.shape[1]):
        nv, code, top = add_site(sx, xs, poly, t, int(sites[t, i]), nv, wp.float64(-wp.inf))
    a = vec6()
    for j in range(U_DIM):
        a[j] = planes[t, j]
    b = planes[t, U_DIM]
    npair, nneg, nband, slot, top, f = probe_split(sx, poly, t, a, b, nv)
    info[t, NPAIR] = wp.int32(npair)
    far_f[t] = f
    if npair >= 0:
        push_far_half(poly, stack, t, nv, nneg, nband, npair, slot, 0, wp.float64(0.0))
        near, top = commit_split(poly, t, nv, nneg, nband, npair, slot, top)
        info[t, NEAR] = wp.int32(near)
        info[t, FAR] = stack.nv[t, 0]
        ok, a2, b2 = split_plane(sx, poly, t, near)
        for j in range(U_DIM):
            next_plane[t, j] = a2[j]
        next_plane[t, U_DIM] = wp.where(ok, b2, wp.float64(wp.nan))


@wp.kernel
def pop_kernel(sx: Simplices, poly: Polytope, stack: PieceStack, info: wp.array2d(dtype=wp.int32)):
    t = wp.tid()
    nv, top = pop_piece(poly, stack, t, 0, sx.corners.shape[1])
    info[t, POPPED] = wp.int32(nv)


def run_split(corners, xs, sites, planes):
    """(info, far_f, the near half, the far half as popped (each as :func:`halves` gives
    them), the plane that would split the near half next (a, b; NaN b: none)), per task."""
    corners = np.ascontiguousarray(corners, dtype=np.float64)
    n, kp1, dim = corners.shape
    edges = np.zeros((n, dim, U_DIM))
    edges[:, :, : kp1 - 1] = (corners[:, 1:] - corners[:, :1]).transpose(0, 2, 1)
    sx = Simplices()
    sx.corners = wp.array(corners, dtype=wp.float64, device="cpu")
    sx.edges = wp.array(edges, dtype=wp.float64, device="cpu")
    poly = TaskScratch(n, "cpu", MAX_VERTICES).poly
    stack = PieceStack()
    stack.pv = wp.zeros((n, MAX_DEPTH, MAX_VERTICES, N_COLS), dtype=wp.float64, device="cpu")
    stack.pm = wp.zeros((n, MAX_DEPTH, MAX_VERTICES, N_WORDS), dtype=wp.uint64, device="cpu")
    stack.slots = wp.zeros((n, MAX_DEPTH, N_BITS), dtype=wp.int32, device="cpu")
    stack.meta = wp.zeros((n, MAX_DEPTH, META_COLS), dtype=wp.float64, device="cpu")
    stack.nv = wp.zeros((n, MAX_DEPTH), dtype=wp.int32, device="cpu")
    info = wp.zeros((n, 4), dtype=wp.int32, device="cpu")
    far_f = wp.zeros(n, dtype=wp.float64, device="cpu")
    next_plane = wp.zeros((n, U_DIM + 1), dtype=wp.float64, device="cpu")
    inputs = [
        sx,
        wp.array(np.ascontiguousarray(xs, dtype=np.float64), dtype=wp.float64, device="cpu"),
        wp.array(np.ascontiguousarray(sites, dtype=np.int32), dtype=wp.int32, device="cpu"),
        wp.array(np.ascontiguousarray(planes, dtype=np.float64), dtype=wp.float64, device="cpu"),
        poly,
        stack,
        info,
        far_f,
        next_plane,
    ]
    wp.launch(split_kernel, dim=n, inputs=inputs, device="cpu")
    near = halves(poly, info.numpy()[:, NEAR])
    wp.launch(pop_kernel, dim=n, inputs=[sx, poly, stack, info], device="cpu")
    info = info.numpy()
    return info, far_f.numpy(), near, halves(poly, info[:, POPPED]), next_plane.numpy()


def halves(poly, sizes):
    """Per task, (P's vertices (n_vertices, N_COLS), their masks, the slots)."""
    pv, pm, slots = poly.pv.numpy(), poly.pm.numpy()[:, :, 0], poly.slots.numpy()
    return [(pv[t, :m].copy(), pm[t, :m].copy(), slots[t].copy()) for t, m in enumerate(sizes)]


def half_reference(w, xs, plane, side):
    """Vertices (u, z) of {(u, z): u in the standard simplex, z_min <= z <= a_s . u + b_s for
    each site s, side * (b + a . u) >= 0} (w: the simplex's corners), by brute force, their
    F, and the constraints (rows) with rhs and scale: u_c >= 0 (c < k), sum u <= 1, the
    floor, the sites in order, the plane."""
    k = len(w) - 1
    e = (w[1:] - w[0]).T
    z_min = -2.0 * ((w - w[0]) ** 2).sum(1).max() - FLOOR_GAP
    rows = [np.r_[np.eye(k)[c], 0.0, 0.0] for c in range(k)]  # (coefficients of u, z; rhs)
    rows.append(np.r_[-np.ones(k), 0.0, -1.0])  # 1 - sum u >= 0
    rows.append(np.r_[np.zeros(k), 1.0, z_min])  # z >= z_min
    for x in xs:  # a . u + b - z >= 0
        d = w[0] - x
        rows.append(np.r_[2.0 * e.T @ d, -1.0, -(d @ d)])
    rows.append(side * np.r_[plane[:k], 0.0, -plane[U_DIM]])
    rows = np.array(rows)
    scale = np.abs(rows).max(1)
    found = []
    for sub in combinations(range(len(rows)), k + 1):
        m = rows[list(sub)]
        if abs(np.linalg.det(m[:, :-1])) < 1e-12:
            continue
        p = np.linalg.solve(m[:, :-1], m[:, -1])
        if (rows[:, :-1] @ p - rows[:, -1] >= -FEASIBLE * scale).all():
            if not any(np.abs(p - q).max() < SAME for q in found):
                found.append(p)
    found = np.array(found)
    f = ((found[:, :k] @ e.T) ** 2).sum(1) + found[:, k]
    return found, f, rows, scale


def mask_rows(mask, slots, sites, k):
    """The reference's rows of the constraints a kernel vertex's mask holds (bit 0: sum u
    <= 1, bit j in 1 .. k: u_(j-1) >= 0, bit k + 1: the floor, a slot: its site or the
    plane)."""
    out = set()
    for j in range(64):
        if int(mask) >> j & 1:
            if j == 0:
                out.add(k)
            elif j <= k:
                out.add(j - 1)
            elif j == k + 1:
                out.add(k + 1)
            elif slots[j] == SPLIT_PLANE:
                out.add(k + 2 + len(sites))
            else:
                out.add(k + 2 + list(sites).index(slots[j]))
    return out


def active_rows(p, rows, scale):
    """The rows that hold with equality (within FEASIBLE) at the point p = (u, z)."""
    r = rows[:, :-1] @ p - rows[:, -1]
    return set(np.flatnonzero(np.abs(r) <= FEASIBLE * scale).tolist())


def split_plane_reference(w, pv, pm):
    """(a, b) of the plane that bisects the diameter of the piece (the vertices with the
    floor bit; the first pair in row order of the largest distance), the half at the pair's
    first vertex ``b + a . u >= 0``."""
    k = len(w) - 1
    e = (w[1:] - w[0]).T
    floor = [v for v in range(len(pv)) if int(pm[v]) >> (k + 1) & 1]
    y = {v: w[0] + e @ pv[v, :k] for v in floor}
    pairs = [(v, x) for i, v in enumerate(floor) for x in floor[i + 1 :]]
    va, vb = max(pairs, key=lambda p: (((y[p[0]] - y[p[1]]) ** 2).sum(), -pairs.index(p)))
    d = y[va] - y[vb]
    a = np.zeros(U_DIM + 1)
    a[:k] = e.T @ d
    a[U_DIM] = (w[0] - 0.5 * (y[va] + y[vb])) @ d
    return a


def same_points(kernel, reference, k):
    """Whether every point of each set lies within SAME of a point of the other."""
    got = np.c_[kernel[:, :k], kernel[:, U_DIM]]
    d = np.abs(got[:, None, :] - reference[None, :, :]).max(-1)
    return bool((d.min(1) < SAME).all() and (d.min(0) < SAME).all())


@pytest.mark.parametrize("k, through_corner", [(2, False), (3, False), (2, True), (3, True)])
def test_both_halves_of_a_split_are_the_polytope_cut_by_the_plane(k, through_corner):
    """Random sites around random simplices; the plane through the centroid, or through
    corner 0 (then the corner's vertices lie on the plane: in the band, in both halves)."""
    rng = np.random.default_rng(10 * k + through_corner)
    n, n_sites = 24, 5 + k
    corners = rng.uniform(0.0, 1.0, size=(n, k + 1, 3))
    xs = rng.uniform(-0.2, 1.2, size=(n * n_sites, 3))
    sites = np.arange(n * n_sites).reshape(n, n_sites)
    planes = np.zeros((n, U_DIM + 1))
    planes[:, :k] = rng.normal(size=(n, k))
    if through_corner:  # b = 0; corners 1 and 2 on either side
        planes[:, :2] = np.abs(planes[:, :2]) * [1.0, -1.0]
    else:
        planes[:, U_DIM] = -planes[:, :k].sum(1) / (k + 1)  # through u = (1/(k+1), ...)
    info, far_f, near, far, next_plane = run_split(corners, xs, sites, planes)
    assert (info[:, NPAIR] > 0).all()  # every plane crosses its polytope
    for t in range(n):
        for side, (pv, pm, slots) in ((1.0, near[t]), (-1.0, far[t])):
            ref, ref_f, rows, scale = half_reference(corners[t], xs[sites[t]], planes[t], side)
            assert same_points(pv, ref, k), (t, side)
            np.testing.assert_allclose(pv[:, COL_F].max(), ref_f.max(), atol=1e-9)
            for v in range(len(pv)):  # each vertex holds exactly the constraints active at it
                p = np.r_[pv[v, :k], pv[v, U_DIM]]
                assert mask_rows(pm[v], slots, sites[t], k) == active_rows(p, rows, scale)
        np.testing.assert_allclose(far_f[t], far[t][0][:, COL_F].max(), rtol=0, atol=0)
        np.testing.assert_allclose(next_plane[t], split_plane_reference(corners[t], *near[t][:2]))
