"""The candidates of a task (kernels/_candidates.py): the seeds kept for the scans, their
contiguous copy, the nearest-candidate scan and the removal of a tried one, step by step
against a NumPy reference that keeps a plain set of candidates."""

import numpy as np
import pytest
import warp as wp

from flood.kernels._candidates import (
    EXTRA_CANDIDATES,
    NO_POINT,
    Candidates,
    best_candidate,
    drop_candidate,
    keep_candidates,
    ring_add,
)
from flood.kernels._tree import MAX_DIM, vec6

N_TASKS = 12
N_SEEDS = 40  # seed columns per task (some NO_POINT)
N_STEPS = 30  # scans per task: most pick a candidate, some find none within r2
N_POINTS = 2000
NEAR = 150  # the points near a task its candidates come from


@wp.kernel
def _pick_kernel(
    xs: wp.array2d(dtype=wp.float64),
    cands: Candidates,
    ball: wp.array(dtype=vec6),  # centre; column MAX_DIM - 1 holds the radius (dim < 6)
    upper: wp.array(dtype=wp.float64),
    n_ring: wp.array(dtype=wp.int32),
    ys: wp.array2d(dtype=vec6),
    r2s: wp.array2d(dtype=wp.float64),
    r2_seeds: wp.array2d(dtype=wp.float64),
    kept: wp.array(dtype=wp.int32),
    picked: wp.array2d(dtype=wp.int32),
):
    t = wp.tid()
    c = ball[t]
    rad = c[MAX_DIM - 1]
    c[MAX_DIM - 1] = wp.float64(0.0)
    n = keep_candidates(xs, cands, t, c, rad, upper[t], cands.seeds.shape[1])
    kept[t] = wp.int32(n)
    m = int(n_ring[t])
    for i in range(ys.shape[1]):
        y, r2, r2s_seed = ys[t, i], r2s[t, i], r2_seeds[t, i]
        s, col = best_candidate(xs, cands, n, m, t, y, r2, r2s_seed)
        picked[t, i] = wp.int32(s)
        if s >= 0:
            n, m = drop_candidate(cands, n, m, t, col)
    n_ring[t] = wp.int32(m)


def _reference(X, seeds, extra, n_ring, centre, rad, upper, ys, r2s, r2_seeds):
    """Per task: the seeds within ``upper`` of the ball, then per step the nearest of the
    candidates left (kept seeds and the first ``n_ring`` ring entries) closer than
    sqrt(r2), a seed also closer than sqrt(r2_seeds), removed."""
    kept, picked = [], []
    for t in range(len(seeds)):
        row = [int(s) for s in seeds[t] if s >= 0]
        row = [s for s in row if np.linalg.norm(X[s] - centre[t]) - rad[t] < upper[t]]
        kept.append(len(row))
        ring = [int(s) for s in extra[t, : n_ring[t]]]
        left = set(row) | set(ring)
        steps = []
        for y, r2, r2s_seed in zip(ys[t], r2s[t], r2_seeds[t]):
            best, bd = -1, r2
            for s in sorted(left):
                d2 = float(((X[s] - y) ** 2).sum())
                if d2 < bd and (s in ring or d2 < r2s_seed):
                    best, bd = s, d2
            steps.append(best)
            left.discard(best)
        picked.append(steps)
    return np.array(kept), np.array(picked)


@pytest.mark.parametrize("dim", [2, 3, 5])
def test_scans_pick_what_a_plain_set_picks(device, dim):
    rng = np.random.default_rng(7 + dim)
    X = rng.random((N_POINTS, dim))
    centre = 0.25 + 0.5 * rng.random((N_TASKS, dim))
    rad = 0.05 * rng.random(N_TASKS)
    # distinct points near each task (a point in two columns would be two candidates)
    near = np.argsort(((X[None] - centre[:, None]) ** 2).sum(axis=2), axis=1)[:, :NEAR]
    both = np.stack([rng.permutation(row)[: N_SEEDS + EXTRA_CANDIDATES] for row in near])
    seeds, extra = both[:, :N_SEEDS].astype(np.int32), both[:, N_SEEDS:].astype(np.int32)
    seeds[rng.random(seeds.shape) < 0.2] = NO_POINT  # cut or dropped before the first scan
    n_ring = rng.integers(0, EXTRA_CANDIDATES + 1, N_TASKS).astype(np.int32)  # some full
    n_ring[:2] = (0, EXTRA_CANDIDATES)
    # past n_ring: stale entries (tried earlier, or another task's), never read
    extra[np.arange(EXTRA_CANDIDATES)[None] >= n_ring[:, None]] = 0
    gap = np.linalg.norm(X[np.maximum(seeds, 0)] - centre[:, None], axis=2) - rad[:, None]
    upper = np.quantile(gap, 0.7, axis=1)  # drops the seeds farthest from the ball
    ys = centre[:, None, :] + 0.1 * (rng.random((N_TASKS, N_STEPS, dim)) - 0.5)
    # closer than the nearest of the task's points to y by a random factor: some scans
    # find a candidate, some none
    d2 = ((X[both][:, None] - ys[:, :, None]) ** 2).sum(axis=3).min(axis=2)
    r2s = d2 * rng.uniform(0.5, 4.0, d2.shape)
    # a seed must also reach below sqrt(r2_seeds) (grow_sites: below lower + tol), which is
    # sometimes tighter than r2, sometimes not
    r2_seeds = r2s * rng.uniform(0.2, 1.5, r2s.shape)
    want_kept, want = _reference(X, seeds, extra, n_ring, centre, rad, upper, ys, r2s, r2_seeds)
    assert 0 < want_kept.min() and want_kept.max() < N_SEEDS  # the filter drops some
    assert (want >= 0).mean() > 0.2 and (want < 0).mean() > 0.2  # picks, and scans with none

    def vecs(a):
        out = np.zeros(a.shape[:-1] + (MAX_DIM,))
        out[..., :dim] = a
        return out

    ball = vecs(centre)
    ball[:, MAX_DIM - 1] = rad
    cands = Candidates()
    cands.seeds = wp.array(seeds, dtype=wp.int32, device=device)
    cands.extra = wp.array(extra, dtype=wp.int32, device=device)
    cands.xyz = wp.empty((N_TASKS, N_SEEDS, dim), dtype=wp.float64, device=device)
    cands.xyz.fill_(np.nan)  # a scan that read a column it never wrote would pick nothing
    kept = wp.empty(N_TASKS, dtype=wp.int32, device=device)
    picked = wp.empty((N_TASKS, N_STEPS), dtype=wp.int32, device=device)
    ring_left = wp.array(n_ring, dtype=wp.int32, device=device)  # the kernel leaves its count
    wp.launch(
        _pick_kernel,
        dim=N_TASKS,
        inputs=[
            wp.array(X, dtype=wp.float64, device=device),
            cands,
            wp.array(ball, dtype=vec6, device=device),
            wp.array(upper, dtype=wp.float64, device=device),
            ring_left,
            wp.array(vecs(ys), dtype=vec6, device=device),
            wp.array(r2s, dtype=wp.float64, device=device),
            wp.array(r2_seeds, dtype=wp.float64, device=device),
            kept,
            picked,
        ],
        device=device,
    )
    np.testing.assert_array_equal(kept.numpy(), want_kept)
    np.testing.assert_array_equal(picked.numpy(), want)
    # the seeds left are in front, each once, and none was picked
    left = cands.seeds.numpy()
    for t in range(N_TASKS):
        n_left = want_kept[t] - np.isin(want[t][want[t] >= 0], seeds[t]).sum()
        front = left[t, :n_left]
        assert (front >= 0).all() and len(set(front)) == n_left
        assert not np.isin(front, want[t]).any()
    # so are the ring entries left: the untried ones, in front
    ring_rows, ring_n = cands.extra.numpy(), ring_left.numpy()
    for t in range(N_TASKS):
        untried = set(extra[t, : n_ring[t]]) - set(want[t])
        assert ring_n[t] == len(untried) and set(ring_rows[t, : ring_n[t]]) == untried


@wp.kernel
def _ring_kernel(
    points: wp.array2d(dtype=wp.int32),
    counts: wp.array(dtype=wp.int32),
    cands: Candidates,
    n_ring: wp.array(dtype=wp.int32),
):
    t = wp.tid()
    m = int(0)  # noqa: UP018 (a Warp variable the loop may change)
    for i in range(counts[t]):
        m = ring_add(cands, t, int(points[t, i]), m, i)
    n_ring[t] = wp.int32(m)


def test_ring_fills_then_overwrites_its_columns_in_turn(device):
    """The ring takes points behind its entries until full, then over its columns in turn
    (with no entry taken out between, the oldest first), whatever number came in."""
    size = EXTRA_CANDIDATES
    counts = np.array([0, 1, size - 1, size, size + 5, 3 * size + 2], dtype=np.int32)
    points = np.full((len(counts), counts.max()), -7, dtype=np.int32)
    for t, c in enumerate(counts):
        points[t, :c] = 1000 * t + np.arange(c)
    cands = Candidates()
    cands.extra = wp.full((len(counts), size), NO_POINT, dtype=wp.int32, device=device)
    n_ring = wp.empty(len(counts), dtype=wp.int32, device=device)
    inputs = [wp.array(points, dtype=wp.int32, device=device), wp.array(counts, device=device)]
    wp.launch(_ring_kernel, dim=len(counts), inputs=[*inputs, cands, n_ring], device=device)
    rows = cands.extra.numpy()
    for t, c in enumerate(counts):
        want = [NO_POINT] * size
        for i in range(c):
            want[i % size] = 1000 * t + i
        assert n_ring.numpy()[t] == min(c, size)
        np.testing.assert_array_equal(rows[t], want)
