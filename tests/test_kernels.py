"""Each Warp launcher against its slow NumPy reference, on every device present."""

import numpy as np
import pytest

from flood.kernels import (
    bisect_cells,
    build_tree,
    cell_bounds,
    cell_bounds_reference,
    grid_interior_max,
    grid_interior_max_reference,
    interior_weights,
    nearest,
    nearest_reference,
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


@pytest.mark.parametrize("n_extra", [0, 2])
@pytest.mark.parametrize("dim, k", [(2, 1), (2, 2), (3, 1), (3, 2), (3, 3), (4, 4), (6, 3)])
def test_cell_bounds_matches_reference(device, dim, k, n_extra):
    rng = np.random.default_rng(10 * dim + k)
    X = rng.normal(size=(60, dim))
    pool = rng.normal(size=(40, dim))
    site = rng.integers(0, 60, 40).astype(np.int32)
    site[:5] = site[5]  # cells with repeated sites too
    cells = np.array([rng.choice(40, k + 1, replace=False) for _ in range(40)], dtype=np.int32)
    extra = rng.integers(-1, 60, (40, n_extra)).astype(np.int32)  # -1: no site
    upper, ystar, ysite = cell_bounds(pool, site, X, cells, extra, device=device)
    ref_upper, _ = cell_bounds_reference(pool, site, X, cells, extra)
    np.testing.assert_allclose(upper, ref_upper, atol=1e-10)
    # the reported site attains the bound at the reported point
    np.testing.assert_allclose(np.linalg.norm(ystar - X[ysite], axis=1), upper, atol=1e-10)


def test_extra_sites_only_tighten_the_bound(device):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(80, 3))
    pool = rng.normal(size=(20, 3))
    site = np.array([np.argmin(np.linalg.norm(X - p, axis=1)) for p in pool], dtype=np.int32)
    cells = np.array([rng.choice(20, 4, replace=False) for _ in range(30)], dtype=np.int32)
    extra = rng.integers(0, 80, (30, 3)).astype(np.int32)
    plain, _, _ = cell_bounds(pool, site, X, cells, device=device)
    more, _, _ = cell_bounds(pool, site, X, cells, extra, device=device)
    assert np.all(more <= plain + 1e-12)
    assert np.any(more < plain - 1e-6)


def test_cell_bound_is_an_upper_bound_on_dense_samples(device):
    """max over the cell of phi_S dominates phi_S (hence d_X) at dense random points."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 3))
    pool = rng.normal(size=(12, 3))
    site = np.array([np.argmin(np.linalg.norm(X - p, axis=1)) for p in pool], dtype=np.int32)
    cells = np.array([rng.choice(12, 4, replace=False) for _ in range(10)], dtype=np.int32)
    upper, _, _ = cell_bounds(pool, site, X, cells, device=device)
    for c, cell in enumerate(cells):
        lam = rng.dirichlet(np.ones(4), size=4000)
        y = lam @ pool[cell]
        phi = np.linalg.norm(y[:, None] - X[site[cell]][None], axis=2).min(axis=1)
        assert phi.max() <= upper[c] + 1e-12


def test_bisect_cells_halves_the_longest_edge(device):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(30, 3))
    pool = rng.normal(size=(10, 3))
    site = rng.integers(0, 30, 10).astype(np.int32)
    cells = np.array([[0, 1, 2, 3], [4, 5, 6, 7]], dtype=np.int32)
    mid, hint, a, b = bisect_cells(pool, site, X, cells, first_new=10, device=device)
    for c, cell in enumerate(cells):
        w = pool[cell]
        d = np.linalg.norm(w[:, None] - w[None], axis=2)
        i, j = np.unravel_index(np.argmax(d), d.shape)
        np.testing.assert_allclose(mid[c], 0.5 * (w[i] + w[j]))
        assert sorted(a[c].tolist() + b[c].tolist()).count(10 + c) == 2
        assert set(a[c]) | set(b[c]) == set(cell) | {10 + c}
        assert hint[c] == site[cell][np.argmin(np.linalg.norm(X[site[cell]] - mid[c], axis=1))]


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

    import flood.kernels._cover as cover
    import flood.kernels._grid as grid
    import flood.kernels._tree as tree

    for module in (tree, cover, grid):
        files = wp.compile_aot_module(module, arch=90, module_dir=tmp_path / module.__name__)
        assert files and all(p.exists() for p in files)
