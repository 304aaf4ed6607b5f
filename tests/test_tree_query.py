"""The tree queries that start from a hint's leaf (bottom up) against a NumPy brute force:
the same nearest distances as the search from the root, for any hint (near, far, on a
duplicate), with ties, duplicates and queries far from the data."""

import numpy as np
import pytest
import warp as wp

from flood.kernels import build_tree, nearest_k, nearest_k_reference, nearest_reference
from flood.kernels._tree import vec6
from flood.kernels._tree_query import point_dist2, tree_nearest_from

#: |computed - NumPy| distance: both are float64 sums of a few squares of O(1) coordinates.
ATOL = 1e-12


@wp.kernel
def nearest_from_kernel(
    points: wp.array2d(dtype=wp.float64),
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    queries: wp.array2d(dtype=wp.float64),
    hints: wp.array(dtype=wp.int32),
    index: wp.array(dtype=wp.int32),
    distance2: wp.array(dtype=wp.float64),
):
    qi = wp.tid()
    q = vec6()
    for j in range(queries.shape[1]):
        q[j] = queries[qi, j]
    best = tree_nearest_from(points, lo, hi, first_leaf, q, int(hints[qi]))
    index[qi] = wp.int32(best)
    distance2[qi] = point_dist2(points, best, q)


def nearest_from(tree, queries, hints):
    """:func:`tree_nearest_from` per query: (tree-order index, distance)."""
    device = tree.device
    m = len(queries)
    index = wp.empty(m, dtype=wp.int32, device=device)
    d2 = wp.empty(m, dtype=wp.float64, device=device)
    inputs = [tree.points, tree.lo, tree.hi, tree.first_leaf]
    q = wp.array(np.ascontiguousarray(queries, dtype=np.float64), dtype=wp.float64, device=device)
    h = wp.array(np.asarray(hints, dtype=np.int32), dtype=wp.int32, device=device)
    wp.launch(
        nearest_from_kernel, dim=m, inputs=[*inputs, q, h], outputs=[index, d2], device=device
    )
    return index.numpy(), np.sqrt(d2.numpy())


def clouds(rng, dim):
    """Clouds that stress the stop rule: Gaussian, a coarse integer grid (ties on the split
    planes; many equal distances), and clustered duplicates."""
    grid = rng.integers(0, 4, size=(600, dim)).astype(np.float64)
    dups = np.repeat(rng.normal(size=(30, dim)), 20, axis=0)
    dups[:50] += 1e-9 * rng.normal(size=(50, dim))
    return [rng.normal(size=(1500, dim)), grid, dups]


def queries_and_hints(rng, X, n):
    """Queries near the data, on it, and far from it; hints near (the query's nearest point),
    random, on a duplicate of the answer, and the farthest point."""
    dim = X.shape[1]
    Q = np.concatenate(
        [
            X[rng.integers(0, len(X), n)] + 0.05 * rng.normal(size=(n, dim)),
            X[rng.integers(0, len(X), n)],  # on points of X (zero distances, ties)
            rng.normal(size=(n, dim)) * 2.0,
            rng.normal(size=(n, dim)) * 50.0,  # far from the data
        ]
    )
    near = nearest_reference(X, Q)[0]
    far = np.linalg.norm(X[None] - Q[:, None], axis=2).argmax(axis=1)
    random = rng.integers(0, len(X), len(Q))
    return Q, {"near": near, "far": far, "random": random}


@pytest.mark.parametrize("dim", [2, 3, 6])
def test_nearest_from_a_hint_matches_brute_force(device, dim):
    rng = np.random.default_rng(40 + dim)
    for X in clouds(rng, dim):
        tree = build_tree(X, device=device)
        inverse = np.argsort(tree.order)
        Q, hints = queries_and_hints(rng, X, 60)
        _, ref = nearest_reference(X, Q)
        for name, hint in hints.items():
            idx, dist = nearest_from(tree, Q, inverse[hint])
            np.testing.assert_allclose(dist, ref, rtol=0, atol=ATOL, err_msg=name)
            got = np.linalg.norm(X[tree.order[idx]] - Q, axis=1)
            np.testing.assert_allclose(got, ref, rtol=0, atol=ATOL, err_msg=name)
        # ties keep the hint: from a hint that is a nearest point, the answer is the hint
        idx, _ = nearest_from(tree, Q, inverse[hints["near"]])
        assert np.array_equal(idx, inverse[hints["near"]])


@pytest.mark.parametrize("dim", [2, 3, 6])
def test_nearest_k_from_hints_matches_brute_force(device, dim):
    """Full k-nearest within a radius: the same distances as the brute force, in the
    queries' order (the launcher runs them in the hints' order)."""
    rng = np.random.default_rng(50 + dim)
    for X in clouds(rng, dim):
        tree = build_tree(X, device=device)
        inverse = np.argsort(tree.order)
        Q, hints = queries_and_hints(rng, X, 40)
        radius = rng.uniform(0.2, 3.0, len(Q))
        radius[::7] = np.inf
        _, ref_dist = nearest_k_reference(X, Q, radius)
        for name, hint in hints.items():
            idx, dist = nearest_k(tree, Q, radius, hints=inverse[hint])
            np.testing.assert_allclose(dist, ref_dist, rtol=0, atol=ATOL, err_msg=name)
            got = np.where(idx >= 0, tree.order[np.maximum(idx, 0)], -1)
            d_got = np.linalg.norm(X[np.maximum(got, 0)] - Q[:, None], axis=2)
            np.testing.assert_allclose(
                np.where(got >= 0, d_got, np.inf), ref_dist, rtol=0, atol=ATOL, err_msg=name
            )
            assert all(len(set(r[r >= 0])) == (r >= 0).sum() for r in got)
            # threads share runs of the queries: the same rows
            idx2, dist2 = nearest_k(tree, Q, radius, hints=inverse[hint], n_threads=2)
            assert np.array_equal(idx2, idx) and np.array_equal(dist2, dist)


def test_nearest_k_first_only_from_hints_is_exact_first(device):
    """A nearest search from a hint: column 0 is the exact nearest within the radius; the
    rest are distinct points within the radius, ascending."""
    rng = np.random.default_rng(6)
    for dim in (2, 3, 6):
        for X in clouds(rng, dim):
            tree = build_tree(X, device=device)
            inverse = np.argsort(tree.order)
            Q, hints = queries_and_hints(rng, X, 40)
            radius = rng.uniform(0.1, 2.0, len(Q))
            _, ref_dist = nearest_k_reference(X, Q, radius)
            for name, hint in hints.items():
                idx, dist = nearest_k(tree, Q, radius, first_only=True, hints=inverse[hint])
                np.testing.assert_allclose(dist[:, 0], ref_dist[:, 0], atol=ATOL, err_msg=name)
                found = idx >= 0
                got = tree.order[np.maximum(idx, 0)]
                d_got = np.linalg.norm(X[got] - Q[:, None], axis=2)
                np.testing.assert_allclose(d_got[found], dist[found], atol=ATOL, err_msg=name)
                assert (dist[found] < np.broadcast_to(radius[:, None], dist.shape)[found]).all()
                d = np.where(found, dist, np.inf)
                assert (d[:, 1:] >= d[:, :-1]).all()
                assert all(len(set(r[f])) == f.sum() for r, f in zip(got, found))
