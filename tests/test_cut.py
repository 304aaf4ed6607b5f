"""The edge search of a cut (kernels/_edges.py): the search specialized to four constraints
(k = 3) against the generic one, pair for pair, for every removed vertex of every cut of an
S-loop run with brute-force queries, on random and on degenerate (lattice) sites; the
classification of a cut (kernels/_cut.py) against a NumPy loop; and the prism's vertex sets
that init_prism writes directly against the ones its masks give, for k = 1 .. 6."""

# ruff: noqa: UP018  (Warp kernels declare dynamic loop variables as int(0), as in kernels/)

import numpy as np
import pytest
import warp as wp

from flood.kernels._cut import CUT_MADE, add_site, classify
from flood.kernels._edges import edges_of_simple, edges_of_simple4
from flood.kernels._polytope import (
    COL_F,
    COL_Z,
    FLOOR_GAP,
    FREE,
    FREE_ROW,
    N_BITS,
    N_COLS,
    U_DIM,
    Polytope,
    Simplices,
    init_prism,
    maximizer,
    rebuild_vsets,
    reset_free,
    site_plane,
    task_ball,
    top_vertex,
)
from flood.kernels._tree import vec6
from flood.kernels._voronoi import TaskScratch

wp.set_module_options({"enable_backward": False})

# what a task counts (columns of ``counts``)
COMPARED, PAIRS, MISMATCH, MADE = 0, 1, 2, 3


@wp.func
def nearest_beating(xs: wp.array2d(dtype=wp.float64), y: vec6, r2: wp.float64, dim: int):
    """The point of xs nearest to y within sqrt(r2) (brute force), or -1."""
    best = int(-1)
    best_d = r2
    for i in range(xs.shape[0]):
        d = wp.float64(0.0)
        for l in range(dim):
            e = xs[i, l] - y[l]
            d += e * e
        if d < best_d:
            best_d = d
            best = i
    return best


@wp.func
def bump(counts: wp.array2d(dtype=wp.int32), t: int, col: int, n: int):
    counts[t, col] = counts[t, col] + wp.int32(n)


@wp.func
def compare_searches(
    poly: Polytope,
    other: wp.array2d(dtype=wp.int32),
    t: int,
    nv: int,
    nneg: int,
    counts: wp.array2d(dtype=wp.int32),
):
    """Both searches from each removed vertex with four constraints (after a classify):
    the generic one into ``poly.pairs``, the specialized one into ``other``."""
    nw = (nv + 63) // 64
    room = poly.pairs.shape[1]
    for i in range(nneg):
        q = int(poly.negs[t, i])
        if wp.bit_count(poly.pm[t, q, 0]) == 4:
            na = edges_of_simple(poly.pm[t], poly.ps[t], poly.vs[t], poly.pairs[t], q, nw, 0, room)
            nb = edges_of_simple4(poly.pm[t], poly.ps[t], poly.vs[t], other[t], q, nw, 0, room)
            bad = int(0)
            if na != nb:
                bad = 1
            for j in range(wp.min(na, nb)):
                if poly.pairs[t, j] != other[t, j]:
                    bad += 1
            bump(counts, t, COMPARED, 1)
            bump(counts, t, PAIRS, na)
            bump(counts, t, MISMATCH, bad)


@wp.kernel
def searches_kernel(
    sx: Simplices,
    xs: wp.array2d(dtype=wp.float64),
    rounds: int,
    poly: Polytope,
    other: wp.array2d(dtype=wp.int32),
    counts: wp.array2d(dtype=wp.int32),
):
    """An S-loop on task ``wp.tid()`` with brute-force queries over xs: each round adds the
    point nearest to the maximizer y* that beats S there; before each cut, both edge
    searches run from its removed vertices."""
    t = wp.tid()
    dim = sx.corners.shape[2]
    for j in range(N_BITS):
        poly.slots[t, j] = wp.int32(FREE)
    c, rad, e2 = task_ball(sx.corners, t)
    zmin = wp.float64(-2.0) * e2 - wp.float64(FLOOR_GAP)
    nv = init_prism(sx, xs, t, nearest_beating(xs, c, wp.float64(wp.inf), dim), zmin, poly)
    top = top_vertex(poly.pv, t, nv)
    k = sx.corners.shape[1] - 1
    for _round in range(rounds):
        fmax, y, p2 = maximizer(sx, xs, poly, t, top)
        s = nearest_beating(xs, y, p2 * wp.float64(1.0 - 1e-12), dim)
        if s < 0:
            break
        a, b = site_plane(sx.corners, sx.edges, xs, t, s)
        no_threshold = wp.float64(-wp.inf)
        nneg, nhigh, nband, kept, kept_f = classify(
            poly.pv, poly.ps, poly.negs, t, nv, k, a, b, wp.float64(1.0), no_threshold
        )
        compare_searches(poly, other, t, nv, nneg, counts)
        nv2, code, top2 = add_site(sx, xs, poly, t, s, nv, no_threshold)
        if code == CUT_MADE:
            bump(counts, t, MADE, 1)
            nv = nv2
            top = top2


def run_searches(corners, xs, rounds=60, max_vertices=256):
    """Counts per task (COMPARED, PAIRS, MISMATCH, MADE) of :func:`searches_kernel`."""
    corners = np.ascontiguousarray(corners, dtype=np.float64)
    n, kp1, dim = corners.shape
    edges = np.zeros((n, dim, U_DIM))
    edges[:, :, : kp1 - 1] = (corners[:, 1:] - corners[:, :1]).transpose(0, 2, 1)
    sx = Simplices()
    sx.corners = wp.array(corners, dtype=wp.float64, device="cpu")
    sx.edges = wp.array(edges, dtype=wp.float64, device="cpu")
    poly = TaskScratch(n, "cpu", max_vertices).poly
    other = wp.zeros((n, max_vertices), dtype=wp.int32, device="cpu")
    counts = wp.zeros((n, 4), dtype=wp.int32, device="cpu")
    points = wp.array(np.ascontiguousarray(xs, dtype=np.float64), dtype=wp.float64, device="cpu")
    inputs = [sx, points, rounds, poly, other, counts]
    wp.launch(searches_kernel, dim=n, inputs=inputs, device="cpu")
    return counts.numpy()


def lattice_simplices(rng, grid, n, k):
    """n proper k-simplices (full-rank edge vectors) with corners on the grid."""
    out = []
    while len(out) < n:
        w = grid[rng.choice(len(grid), k + 1, replace=False)]
        if np.linalg.matrix_rank(w[1:] - w[0]) == k:
            out.append(w)
    return np.array(out)


@pytest.mark.parametrize("dim", [3, 4])
def test_edges_of_simple4_matches_the_generic_search_on_random_sites(dim):
    rng = np.random.default_rng(3)
    corners = rng.uniform(0.0, 1.0, size=(48, 4, dim))
    xs = rng.uniform(-0.2, 1.2, size=(4000, dim))
    counts = run_searches(corners, xs)
    assert counts[:, MISMATCH].sum() == 0
    # many removed vertices, most with edges to kept ones, on polytopes of many cuts
    assert counts[:, COMPARED].sum() > 20 * len(corners)
    assert counts[:, PAIRS].sum() > 0.5 * counts[:, COMPARED].sum()
    assert counts[:, MADE].sum() > 10 * len(corners)


def test_edges_of_simple4_matches_the_generic_search_on_lattice_sites():
    """Integer sites and corners: equidistant sites, degenerate faces (S_j of more than two
    vertices) and band vertices."""
    rng = np.random.default_rng(5)
    grid = np.stack(np.meshgrid(*[np.arange(9.0)] * 3, indexing="ij"), -1).reshape(-1, 3)
    counts = run_searches(lattice_simplices(rng, grid, 48, 3), grid)
    assert counts[:, MISMATCH].sum() == 0
    assert counts[:, COMPARED].sum() > 10 * 48


@wp.kernel
def classify_kernel(
    pv: wp.array3d(dtype=wp.float64),
    planes: wp.array2d(dtype=wp.float64),
    k: int,
    thr2: wp.float64,
    ps: wp.array2d(dtype=wp.float64),
    negs: wp.array2d(dtype=wp.int32),
    out: wp.array2d(dtype=wp.int32),
    out_f: wp.array(dtype=wp.float64),
):
    """classify on task t: plane ``b + a . u - zc z`` from ``planes[t] = (a, b, zc)``."""
    t = wp.tid()
    a = vec6()
    for c in range(U_DIM):
        a[c] = planes[t, c]
    nv = pv.shape[1]
    r = classify(pv, ps, negs, t, nv, k, a, planes[t, U_DIM], planes[t, U_DIM + 1], thr2)
    nneg, nhigh, nband, best, best_f = r
    out[t, 0] = wp.int32(nneg)
    out[t, 1] = wp.int32(nhigh)
    out[t, 2] = wp.int32(nband)
    out[t, 3] = wp.int32(best)
    out_f[t] = best_f


def classify_reference(pv, a, b, zc, k, thr2):
    """The classification as a plain loop: slacks, removed (ascending), band (ascending),
    how many removed have F > thr2, the first kept vertex of largest F and that F."""
    mag0 = abs(b) + np.abs(a).sum()
    ps, neg, band, nhigh, best, best_f = [], [], [], 0, -1, -np.inf
    for v, row in enumerate(pv):
        z = zc * row[COL_Z]
        s = b - z
        for c in range(3 if k <= 3 else U_DIM):
            s += a[c] * row[c]
        if abs(s) <= 1e-12 * (mag0 + abs(z)):
            s = 0.0
            band.append(v)
        if s < 0.0:
            neg.append(v)
            nhigh += row[COL_F] > thr2
        elif row[COL_F] > best_f:
            best, best_f = v, row[COL_F]
        ps.append(s)
    return np.array(ps), neg, band, nhigh, best, best_f


# offsets off a plane: 0 and 2^-44 .. 2^-30, around the band's half-width REL_TAU times the
# terms' size (1 .. ~60 here: 2^-40 .. 2^-34), so both of its terms decide some vertices
NUDGES = np.array([0.0] + [2.0**-e for e in range(30, 45)])


@pytest.mark.parametrize("k", [3, 5])
def test_classify_matches_a_plain_loop(k):
    """Dyadic coordinates (every slack exact, whatever the rounding mode or contraction):
    slacks of either sign, exact zeros and ``NUDGES`` in and out of the band, F from a few
    values (ties)."""
    rng = np.random.default_rng(11)
    n, nv, thr2 = 64, 150, 1.0
    pv = np.zeros((n, nv, N_COLS))
    pv[:, :, :k] = rng.integers(0, 9, size=(n, nv, k)) / 8.0
    pv[:, :, COL_Z] = rng.integers(-16, 17, size=(n, nv)) / 8.0
    pv[:, :, COL_F] = rng.integers(-2, 4, size=(n, nv)) / 2.0
    planes = np.zeros((n, U_DIM + 2))
    planes[:, :k] = rng.integers(-4, 5, size=(n, k))
    planes[:, 0] = rng.choice([-1.0, 1.0], size=n)  # |a_0| = 1: the terms' size is >= 1
    planes[:, U_DIM + 1] = rng.choice([0.0, 1.0], size=n)
    for t in range(n):  # put a third of the vertices on the plane, then nudge some off it
        a, zc = planes[t, :U_DIM], planes[t, U_DIM + 1]
        planes[t, U_DIM] = zc * pv[t, 0, COL_Z] - a @ pv[t, 0, :U_DIM]
        on = rng.random(nv) < 1.0 / 3.0
        rest = planes[t, U_DIM] + pv[t, on, 1:U_DIM] @ a[1:] - zc * pv[t, on, COL_Z]
        pv[t, on, 0] = -rest / a[0]
        nudge = rng.choice(NUDGES, size=nv) * rng.choice([-1.0, 1.0], size=nv)
        pv[t, on, 0] += nudge[on]
    dev = "cpu"
    ps = wp.zeros((n, nv), dtype=wp.float64, device=dev)
    negs = wp.zeros((n, nv), dtype=wp.int32, device=dev)
    out = wp.zeros((n, 4), dtype=wp.int32, device=dev)
    out_f = wp.zeros(n, dtype=wp.float64, device=dev)
    pv_w = wp.array(pv, dtype=wp.float64, device=dev)
    planes_w = wp.array(planes, dtype=wp.float64, device=dev)
    inputs = [pv_w, planes_w, k, thr2, ps, negs, out, out_f]
    wp.launch(classify_kernel, dim=n, inputs=inputs, device=dev)
    ps, negs, out, out_f = ps.numpy(), negs.numpy(), out.numpy(), out_f.numpy()
    seen_band = seen_neg = 0
    for t in range(n):
        a, b, zc = planes[t, :U_DIM], planes[t, U_DIM], planes[t, U_DIM + 1]
        ps0, neg, band, nhigh, best, best_f = classify_reference(pv[t], a, b, zc, k, thr2)
        nneg, nband = out[t, 0], out[t, 2]
        assert np.array_equal(ps[t], ps0)
        assert list(negs[t, :nneg]) == neg
        assert list(negs[t, ::-1][:nband]) == band
        assert (out[t, 1], out[t, 3], out_f[t]) == (nhigh, best, best_f)
        seen_band += nband
        seen_neg += nneg
    # every case occurs often: removed, kept, band vertices (~30 a task, 2x margin)
    assert seen_neg > 10 * n and seen_band > 0.1 * nv * n


@wp.kernel
def prism_sets_kernel(
    sx: Simplices,
    xs: wp.array2d(dtype=wp.float64),
    poly: Polytope,
    direct: wp.array2d(dtype=wp.uint64),
    rebuilt: wp.array2d(dtype=wp.uint64),
):
    """The vertex sets (rows 0 .. k + 1, word 0) and the free-slot mask init_prism writes
    for task t's prism, then the ones rebuild_vsets and reset_free find from the masks."""
    t = wp.tid()
    for j in range(N_BITS):
        poly.slots[t, j] = wp.int32(FREE)
    kp1 = sx.corners.shape[1]
    c, rad, e2 = task_ball(sx.corners, t)
    zmin = wp.float64(-2.0) * e2 - wp.float64(FLOOR_GAP)
    nv = init_prism(sx, xs, t, t % xs.shape[0], zmin, poly)
    for r in range(kp1 + 2):
        direct[t, r] = poly.vs[t, r, 0]
    direct[t, kp1 + 2] = poly.vs[t, FREE_ROW, 0]
    for r in range(kp1 + 2):  # garbage the direct sets first: the rebuild must write them
        poly.vs[t, r, 0] = ~wp.uint64(0)
    rebuild_vsets(poly.pm, poly.vs, poly.slots, t, nv, kp1)
    reset_free(poly.vs, poly.slots, t, kp1)
    for r in range(kp1 + 2):
        rebuilt[t, r] = poly.vs[t, r, 0]
    rebuilt[t, kp1 + 2] = poly.vs[t, FREE_ROW, 0]


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_init_prism_writes_the_vertex_sets_rebuild_vsets_finds(k):
    """init_prism writes the prism's vertex sets and free-slot mask directly (vertex 2j + h:
    every facet but j, the floor or the site); they must be the sets the masks give."""
    rng = np.random.default_rng(k)
    dim = max(k, 3) if k < 6 else 6
    n = 16
    corners = rng.uniform(0.0, 1.0, size=(n, k + 1, dim))
    edges = np.zeros((n, dim, U_DIM))
    edges[:, :, :k] = (corners[:, 1:] - corners[:, :1]).transpose(0, 2, 1)
    sx = Simplices()
    sx.corners = wp.array(corners, dtype=wp.float64, device="cpu")
    sx.edges = wp.array(edges, dtype=wp.float64, device="cpu")
    xs = wp.array(rng.uniform(-0.5, 1.5, size=(5, dim)), dtype=wp.float64, device="cpu")
    poly = TaskScratch(n, "cpu", 64).poly
    direct = wp.zeros((n, k + 4), dtype=wp.uint64, device="cpu")
    rebuilt = wp.zeros((n, k + 4), dtype=wp.uint64, device="cpu")
    wp.launch(prism_sets_kernel, dim=n, inputs=[sx, xs, poly, direct, rebuilt], device="cpu")
    d, r = direct.numpy(), rebuilt.numpy()
    assert np.array_equal(d, r)
    # the prism: 2(k + 1) vertices, each facet row misses the two of its corner, the floor
    # holds the even ones, the site the odd ones, slots above the site are free
    all_v = (1 << (2 * (k + 1))) - 1
    even = sum(1 << (2 * j) for j in range(k + 1))
    expected = [all_v & ~(3 << (2 * i)) for i in range(k + 1)] + [even, all_v & ~even]
    expected.append(((1 << 64) - 1) & ~((1 << (k + 3)) - 1))
    assert [int(x) for x in d[0]] == expected
