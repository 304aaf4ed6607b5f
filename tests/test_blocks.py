"""The a-priori bounds on f(s) that size a dask block's halo (flood._blocks.upper_bounds):
valid against a dense evaluation, and tight on big flat simplices."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from flood._blocks import enclosing_balls, upper_bounds


def _dense_f(corners, X, n=60000, seed=0):
    """f(s) from below by a dense random sample of conv(s) (a lower estimate of the max)."""
    rng = np.random.default_rng(seed)
    lam = rng.dirichlet(np.ones(corners.shape[1]), size=(len(corners), n // len(corners)))
    lam = np.concatenate(
        [lam, np.broadcast_to(np.eye(corners.shape[1]), (len(corners),) + (corners.shape[1],) * 2)],
        axis=1,
    )
    y = np.einsum("nwj,njd->nwd", lam, corners)
    d = cKDTree(X).query(y.reshape(-1, X.shape[1]))[0]
    return d.reshape(len(corners), -1).max(axis=1)


def test_bounds_hold_and_stay_tight_on_big_flat_simplices():
    rng = np.random.default_rng(3)
    X = rng.random((40000, 3)) * [5, 5, 1]  # a slab
    X[:8000, 2] = 0.0  # a dense floor: flat tetrahedra on it have f(s) near 0
    samples = X[rng.choice(len(X), 4000, replace=False)]
    small = X[rng.choice(len(X), (40, 4))]
    small = small[:, :1] + 0.1 * (small - small[:, :1])  # small simplices of the slab
    floor = X[:8000][rng.choice(8000, (6, 4))]  # big flat ones across the floor
    corners = np.concatenate([small, floor])
    _, radii = enclosing_balls(corners)
    assert np.median(radii) * 4 < radii[-6:].min()  # the flat ones are the big ones
    values = cKDTree(X).query(corners.reshape(-1, 3))[0].reshape(len(corners), 4)
    bound = upper_bounds(corners, radii, values, samples)
    assert (bound >= _dense_f(corners, X) - 1e-12).all()
    d_c = cKDTree(samples).query(X[:8000])[0].max()  # the samples' own cover of the floor
    # f_C of a flat simplex on the floor is about the samples' cover of it (within the
    # floor's spacing, ~0.06, and the bound's gap); a grid bound was ~R / 3 looser
    assert (bound[-6:] <= d_c + 0.06 + 0.05 * np.median(radii)).all()
    assert (bound[-6:] < radii[-6:] / 3).all()  # below a 6-interval grid's slack alone


def test_bounds_fall_back_to_the_vertex_bound_without_samples():
    rng = np.random.default_rng(4)
    corners = rng.random((10, 4, 3))
    _, radii = enclosing_balls(corners)
    values = rng.random((10, 4)) * 0.01
    bound = upper_bounds(corners, radii, values, np.zeros((0, 3)))
    np.testing.assert_allclose(bound, radii + values.max(axis=1))


def test_pieces_tile_their_simplex():
    """Pieces (flood._cells.cut_into_pieces) lie in their simplex and fill it: their
    volumes add up to its volume, so max over pieces of f is f."""
    from flood._cells import cut_into_pieces

    rng = np.random.default_rng(5)
    corners = rng.random((30, 4, 3)) * [3.0, 1.0, 0.2]  # long, flat tetrahedra

    def volume(c):
        return np.abs(np.linalg.det(c[:, 1:] - c[:, :1])) / 6

    def longest(c):
        return np.max(
            [np.linalg.norm(c[:, a] - c[:, b], axis=1) for a in range(4) for b in range(a)], axis=0
        )

    pieces, parents = cut_into_pieces(corners, np.arange(30), lambda c, p: longest(c) <= 0.5)
    assert len(pieces) > 4 * len(corners) and np.all(longest(pieces) <= 0.5)
    np.testing.assert_allclose(np.bincount(parents, volume(pieces)), volume(corners), rtol=1e-12)
    # barycentric coordinates of every piece corner in its parent: all >= 0
    t = corners[parents]
    lam = np.linalg.solve(
        (t[:, 1:] - t[:, :1]).transpose(0, 2, 1)[:, None], (pieces - t[:, :1])[..., None]
    )[..., 0]
    assert lam.min() >= -1e-12 and (1 - lam.sum(axis=2)).min() >= -1e-12
    few, _ = cut_into_pieces(corners, np.arange(30), lambda c, p: longest(c) <= 0.5, max_pieces=60)
    assert len(few) <= 60 + 30


def test_bounds_over_pieces_are_the_bounds_of_the_simplex():
    """The certified bounds of a simplex's pieces, their largest, bound f(s) as the
    simplex's own do (both within tol of f(s), checked against a dense sampling)."""
    from flood._cells import cut_into_pieces
    from flood._certify import _bound_dimension
    from flood.kernels import build_tree, nearest

    rng = np.random.default_rng(6)
    X = rng.random((20000, 3))
    X = X[np.linalg.norm(X - 0.5, axis=1) > 0.2]  # a void in the middle
    corners = X[rng.choice(len(X), (12, 4))]
    tol = 1e-3
    tree = build_tree(X)
    pieces, parents = cut_into_pieces(
        corners, np.arange(12), lambda c, p: np.ptp(c, axis=1).max(axis=1) <= 0.3
    )
    out = []
    for c in (corners, pieces):
        seeds = nearest(tree, c.reshape(-1, 3))[0].reshape(len(c), 4).astype(np.int32)
        lo, up = _bound_dimension(tree, c, seeds, np.zeros(len(c)), tol, 1, 40, None)[:2]
        out.append((lo, up))
    (lo, up), (plo, pup) = out
    lo_p, up_p = np.full(12, -np.inf), np.full(12, -np.inf)
    np.maximum.at(lo_p, parents, plo)
    np.maximum.at(up_p, parents, pup)
    dense = _dense_f(corners, X)
    assert np.all(up_p - lo_p <= tol + 1e-12) and len(pieces) > 2 * len(corners)
    assert np.all(lo_p <= up + 1e-12) and np.all(lo <= up_p + 1e-12)  # the same value
    assert np.all(dense <= up_p + 1e-12) and np.all(lo_p <= dense + tol + 0.02)


def test_block_task_runs_on_a_launcher_thread_per_caller(monkeypatch):
    """block_task runs run_block on the calling thread's own launcher thread (one per caller:
    two callers at once never queue behind one thread), passes its result on with that
    thread's CPU seconds, and raises its errors on the calling thread."""
    import threading

    import flood._blocks as B

    seen, both_in = [], threading.Barrier(2, timeout=30)

    class Result:
        def __init__(self):
            self.seconds = {}

    def fake(reader, block, *args, **kwargs):
        seen.append((threading.current_thread().name, threading.get_ident(), reader, args))
        if block == "bad":
            raise ValueError("block: bad")
        if block == "wait":
            both_in.wait()  # both callers' tasks run at the same time, or this times out
        sum(range(20_000))
        return Result()

    monkeypatch.setattr(B, "run_block", fake)
    out = B.block_task("reader", "ok", 1, 2, n_threads=1)
    assert out.seconds["cpu"] >= 0 and seen[-1][0].startswith("flood-block")
    assert seen[-1][1] != threading.get_ident() and seen[-1][2:] == ("reader", (1, 2))
    with pytest.raises(ValueError, match="block: bad"):
        B.block_task("reader", "bad")
    threads = [threading.Thread(target=B.block_task, args=("r", "wait")) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    waited = [s for s in seen if s[2] == "r"]
    assert len(waited) == 2 and waited[0][1] != waited[1][1]
    assert not both_in.broken
