"""Each Warp launcher against its slow NumPy reference, on every device present."""

import numpy as np
import pytest

from flood.kernels import (
    build_tree,
    grid_interior_max,
    grid_interior_max_reference,
    interior_weights,
    max_nearest_distance,
    nearest,
    nearest_k,
    nearest_k_reference,
    nearest_reference,
    restricted_voronoi_max,
    restricted_voronoi_max_reference,
)


@pytest.mark.parametrize(
    "n, dim", [(1, 3), (7, 2), (9, 3), (500, 1), (1000, 3), (800, 6), (2000, 2)]
)
def test_nearest_matches_brute_force(device, n, dim):
    rng = np.random.default_rng(n + dim)
    X = rng.normal(size=(n, dim))
    Q = rng.normal(size=(300, dim)) * 2
    tree = build_tree(X, device=device)
    idx, dist = nearest(tree, Q)
    ref_idx, ref_dist = nearest_reference(X, Q)
    np.testing.assert_allclose(dist, ref_dist, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(X[tree.order[idx]] - Q, axis=1), ref_dist, atol=1e-12)
    # any hint only speeds the search up, never changes the answer
    hints = rng.integers(0, n, len(Q)).astype(np.int32)
    _, dist_h = nearest(tree, Q, hints)
    np.testing.assert_allclose(dist_h, ref_dist, atol=1e-12)


def test_nearest_with_duplicates_and_clusters(device):
    rng = np.random.default_rng(3)
    X = np.repeat(rng.normal(size=(20, 3)), 50, axis=0)  # every point 50 times
    X[:100] += 1e-9 * rng.normal(size=(100, 3))
    Q = rng.normal(size=(200, 3))
    _, dist = nearest(build_tree(X, device=device), Q)
    np.testing.assert_allclose(dist, nearest_reference(X, Q)[1], atol=1e-12)


def test_nearest_k_matches_brute_force(device):
    rng = np.random.default_rng(4)
    for dim in (2, 3, 6):
        X = rng.normal(size=(700, dim))
        Q = rng.normal(size=(150, dim)) * 1.5
        radius = rng.uniform(0.2, 2.0, len(Q))
        radius[:20] = np.inf  # plain k nearest
        tree = build_tree(X, device=device)
        idx, dist = nearest_k(tree, Q, radius)
        ref_idx, ref_dist = nearest_k_reference(X, Q, radius)
        np.testing.assert_allclose(dist, ref_dist, atol=1e-12)
        got = np.where(idx >= 0, tree.order[np.maximum(idx, 0)], -1)
        assert np.array_equal(got >= 0, ref_idx >= 0)
        d_got = np.linalg.norm(X[np.maximum(got, 0)] - Q[:, None], axis=2)
        np.testing.assert_allclose(np.where(got >= 0, d_got, np.inf), ref_dist, atol=1e-12)
        assert not np.isinf(dist[:20]).any()  # unbounded radius: every slot filled


def test_nearest_k_first_only_is_exact_first_and_valid_after(device):
    """A nearest search that also reports the other points it visited: column 0 is the
    exact nearest within the radius; the rest are distinct points within the radius,
    ascending (what the S-loop keeps as candidates)."""
    rng = np.random.default_rng(5)
    for dim in (2, 3, 6):
        X = rng.normal(size=(3000, dim))
        Q = rng.normal(size=(300, dim)) * 1.5
        radius = rng.uniform(0.1, 1.5, len(Q))
        tree = build_tree(X, device=device)
        idx, dist = nearest_k(tree, Q, radius, first_only=True)
        ref_idx, ref_dist = nearest_k_reference(X, Q, radius)
        np.testing.assert_allclose(dist[:, 0], ref_dist[:, 0], atol=1e-12)
        got = np.where(idx >= 0, tree.order[np.maximum(idx, 0)], -1)
        d_got = np.linalg.norm(X[np.maximum(got, 0)] - Q[:, None], axis=2)
        found = got >= 0
        np.testing.assert_allclose(d_got[found], dist[found], atol=1e-12)
        assert (dist[found] < np.broadcast_to(radius[:, None], dist.shape)[found]).all()
        d = np.where(found, dist, np.inf)
        assert (d[:, 1:] >= d[:, :-1]).all()
        assert all(len(set(r[r >= 0])) == (r >= 0).sum() for r in got)
        # a full k-nearest search visits more: never fewer points reported
        full, _ = nearest_k(tree, Q, radius)
        assert ((full >= 0).sum(axis=1) >= found.sum(axis=1)).all()
        several = (full >= 0).sum(axis=1) > 1
        assert (found.sum(axis=1)[several] > 1).mean() > 0.5  # it reports visited points


@pytest.mark.parametrize("n, dim", [(1, 2), (9, 3), (5000, 3), (3000, 2), (2000, 6)])
def test_max_nearest_distance_matches_brute_force(device, n, dim):
    rng = np.random.default_rng(n + dim)
    X = np.concatenate([rng.normal(size=(n, dim)), rng.normal(5, 0.1, size=(3, dim))])
    L = X[rng.choice(len(X), min(len(X), 40), replace=False)]
    got = max_nearest_distance(build_tree(L, device=device), build_tree(X, device=device))
    ref = nearest_reference(L, X)[1].max()
    assert got == pytest.approx(ref, rel=0, abs=1e-12)


def _random_tasks(rng, n_points, dim, k, n_tasks, n_sites):
    X = rng.normal(size=(n_points, dim))
    corners = rng.normal(size=(n_tasks, k + 1, dim))
    sites = np.array([rng.choice(len(X), n_sites, replace=False) for _ in range(n_tasks)])
    return X, corners, sites


@pytest.mark.parametrize(
    "dim, k, n_sites", [(2, 1, 5), (2, 2, 8), (3, 1, 6), (3, 2, 8), (3, 3, 9), (4, 4, 7), (6, 3, 7)]
)
def test_restricted_voronoi_max_matches_brute_force(device, dim, k, n_sites):
    rng = np.random.default_rng(10 * dim + k)
    X, corners, sites = _random_tasks(rng, 60, dim, k, 25, n_sites)
    upper, ystar = restricted_voronoi_max(X, corners, sites, device=device)
    ref = restricted_voronoi_max_reference(X, corners, sites)
    # never below the exact maximum (the certified margin rounds up), and close above it
    assert np.all(upper >= ref)
    np.testing.assert_allclose(upper, ref, rtol=0, atol=1e-9)
    # the maximizer attains it
    phi = np.linalg.norm(ystar[:, None] - X[sites], axis=2).min(axis=1)
    np.testing.assert_allclose(phi, upper, atol=1e-9)


@pytest.mark.parametrize("dim, k", [(2, 1), (2, 2), (3, 2), (3, 3)])
def test_restricted_voronoi_max_degenerate_sites(device, dim, k):
    """Integer grids make cospherical sites, Voronoi vertices on faces and corners; a row of
    collinear sites and sites on the simplex's faces on top."""
    rng = np.random.default_rng(dim + k)
    grid = np.stack(np.meshgrid(*[np.arange(3.0)] * dim, indexing="ij"), -1).reshape(-1, dim)
    cand = np.array([grid[rng.choice(len(grid), k + 1, replace=False)] for _ in range(200)])
    rank = np.array([np.linalg.matrix_rank(c[1:] - c[0]) for c in cand])
    corners = cand[rank == k][:30]
    X = np.concatenate([grid, np.linspace(0, 1, 5)[:, None] * np.ones(dim)])
    sites = np.array([rng.choice(len(X), 9, replace=False) for _ in range(len(corners))])
    sites[:, :3] = len(grid) + np.arange(3)  # collinear sites in every task
    upper, _ = restricted_voronoi_max(X, corners, sites, device=device)
    ref = restricted_voronoi_max_reference(X, corners, sites)
    assert np.all(upper >= ref)
    np.testing.assert_allclose(upper, ref, rtol=0, atol=1e-9)


def test_restricted_voronoi_max_many_sites_is_an_upper_bound_on_dense_samples(device):
    """50 sites: the maximum dominates phi_S on a barycentric grid and random points, and
    the grid misses it by at most its spacing (phi_S is 1-Lipschitz)."""
    from itertools import product

    rng = np.random.default_rng(7)
    X = rng.uniform(size=(300, 3))
    corners = rng.uniform(size=(8, 4, 3))
    sites = np.array([rng.choice(300, 50, replace=False) for _ in range(8)])
    upper, _ = restricted_voronoi_max(X, corners, sites, device=device)
    n = 24
    grid = np.array([c for c in product(range(n + 1), repeat=3) if sum(c) <= n], dtype=float)
    grid = np.c_[n - grid.sum(axis=1), grid] / n
    for c in range(len(corners)):
        lam = np.concatenate([grid, rng.dirichlet(np.ones(4), size=5000)])
        phi = np.linalg.norm((lam @ corners[c])[:, None] - X[sites[c]][None], axis=2).min(axis=1)
        spacing = np.linalg.norm(corners[c][:, None] - corners[c][None], axis=2).max() / n
        assert phi.max() <= upper[c]
        assert upper[c] <= phi.max() + spacing + 1e-9


@pytest.mark.parametrize("k", [1, 2, 3])
def test_grid_interior_max_matches_reference(device, k):
    rng = np.random.default_rng(k)
    X = rng.normal(size=(300, 3))
    V = X[:20]
    tree = build_tree(X, device=device)
    inverse = np.empty(len(X), dtype=np.int32)
    inverse[tree.order] = np.arange(len(X))
    S = np.array([rng.choice(20, k + 1, replace=False) for _ in range(12)])
    got = grid_interior_max(tree, V, inverse[:20], S, 8)
    np.testing.assert_allclose(got, grid_interior_max_reference(X, V, S, 8), atol=1e-12)


def test_interior_weights_are_flooders_interior_grid():
    for n, k in [(5, 1), (6, 2), (7, 3)]:
        w = interior_weights(n, k)
        assert np.all(w > 0)
        np.testing.assert_allclose(w.sum(axis=1), 1.0)
        assert len(np.unique(np.round(w * (n - 1)).astype(int), axis=0)) == len(w)
        from math import comb

        assert len(w) == comb(n - 2, k)


def test_cuda_code_compiles_without_gpu(tmp_path):
    """The kernels also build for a Hopper GPU (sm_90), with or without one present."""
    import warp as wp

    import flood.kernels._grid as grid
    import flood.kernels._nearest as nearest
    import flood.kernels._seeds as seeds
    import flood.kernels._tree as tree
    import flood.kernels._voronoi as voronoi

    for module in (tree, nearest, voronoi, grid, seeds):
        files = wp.compile_aot_module(module, arch=90, module_dir=tmp_path / module.__name__)
        assert files and all(p.exists() for p in files)


@pytest.mark.parametrize("dim, k", [(2, 2), (3, 2), (3, 3)])
def test_certify_tasks_lower_bound_witness(device, dim, k):
    """``ylow`` is a point of the simplex where d_X is the lower bound (NaN only where the
    task kept ``lower0``); at tol 0 it is the maximizer: d_X there is the upper bound."""
    from flood.kernels import certify_tasks

    rng = np.random.default_rng(dim + k)
    X = rng.normal(size=(400, dim))
    corners = rng.normal(size=(30, k + 1, dim))
    tree = build_tree(X, device=device)
    sites, _ = nearest(tree, corners.reshape(-1, dim))
    lower0 = np.zeros(30)
    lower0[:3] = 100.0  # a face bound no point reaches: no witness
    out = certify_tasks(tree, corners, sites.reshape(30, -1), lower0, np.full(30, np.inf), 0.0)
    found = ~np.isnan(out["ylow"][:, 0])
    assert not found[:3].any() and found[3:].all()
    y = out["ylow"][found]
    d = np.sqrt(((y[:, None] - X[None]) ** 2).sum(axis=2)).min(axis=1)
    np.testing.assert_allclose(d, out["lower"][found], rtol=0, atol=1e-9)
    np.testing.assert_allclose(d, out["upper"][found], rtol=0, atol=1e-8)
    # barycentric coordinates of y in its simplex are >= 0 (up to rounding)
    W = corners[found]
    A = (W[:, 1:] - W[:, :1]).transpose(0, 2, 1)
    for a, w, yy in zip(A, W, y):
        b = np.linalg.lstsq(a, yy - w[0], rcond=None)[0]
        assert b.min() >= -1e-9 and b.sum() <= 1 + 1e-9
        np.testing.assert_allclose(w[0] + a @ b, yy, atol=1e-9)


def test_launch_size(monkeypatch):
    """CPU launches keep their size; a GPU launch holds CUDA_TASKS_PER_SM tasks per
    multiprocessor, as far as a quarter of the free memory holds their scratch, which
    ``scratch_bytes`` counts exactly."""
    import types

    from flood.kernels import _scratch as scratch

    assert scratch.launch_size("cpu") == scratch.CPU_LAUNCH_SIZE
    for vertices in (256, 1024):
        sc = scratch.TaskScratch(1, "cpu", vertices)
        arrays = [getattr(sc.poly, f) for f in ("pv", "pm", "ps", "negs", "vs", "pairs", "slots")]
        arrays += [getattr(sc.stack, f) for f in ("pv", "pm", "slots", "meta", "nv")]
        arrays += [sc.extra, sc.seeds]
        assert sum(a.capacity for a in arrays) == scratch.scratch_bytes(vertices)
    gpu = types.SimpleNamespace(is_cuda=True, sm_count=132, free_memory=140 * 2**30)
    monkeypatch.setattr(scratch.wp, "get_device", lambda device: gpu)
    by_memory = int(0.25 * gpu.free_memory) // scratch.scratch_bytes()
    assert scratch.launch_size("cuda:0") == min(132 * scratch.CUDA_TASKS_PER_SM, by_memory)
    gpu.free_memory = 2**40
    assert scratch.launch_size("cuda:0") == 132 * scratch.CUDA_TASKS_PER_SM
