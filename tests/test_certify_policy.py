"""Policy around the certified kernel: the sites a task hands to its cofaces, and the shared
launch threads."""

import os
import signal
import threading
import time

import numpy as np
import pytest

from flood.kernels import build_tree, certify_tasks
from flood.kernels._pool import run_shared
from flood.kernels._voronoi import restricted_voronoi_max_reference

#: Seconds a whole threading test may wait, summed over all its waits: a regression that
#: leaves an item waiting fails the test after this, not after 30 s per item.
WAIT_BUDGET_S = 30.0


def _time_left(budget=WAIT_BUDGET_S):
    """A function giving the seconds left of one deadline shared by every wait of a test."""
    deadline = time.monotonic() + budget
    return lambda: max(0.0, deadline - time.monotonic())


@pytest.mark.parametrize("k", [1, 2, 3])
def test_tasks_report_the_sites_that_bound_them(k):
    # the sites a task hands to its cofaces are its S: on a task that ended without a split,
    # max over the simplex of phi_S (brute force over site subsets) is its upper bound
    rng = np.random.default_rng(k)
    X = rng.random((3000, 3))
    tree = build_tree(X)
    L = rng.random((40, 3))
    corners = np.stack([L[rng.choice(40, k + 1, replace=False)] for _ in range(60)])
    seeds = np.full((60, 1), -1, dtype=np.int32)
    out = certify_tasks(tree, corners, seeds, np.zeros(60), np.full(60, np.inf), 1e-3, n_add=2)
    points = tree.points.numpy()
    whole = (out["splits"] == 0) & (out["status"] == 0)
    m = 8 if k < 3 else 3  # the reference enumerates (k + 1)-subsets of S: the fewest sites
    assert whole.sum() >= m
    sites = np.where(out["sites"] >= 0, out["sites"], -1)
    assert ((sites >= 0).sum(axis=1) >= 2).all()  # every task ends with 2 sites or more
    rows = np.flatnonzero(whole)
    rows = rows[np.argsort((sites[rows] >= 0).sum(axis=1), kind="stable")[:m]]
    want = restricted_voronoi_max_reference(points, corners[rows], sites[rows])
    assert (out["upper"][rows] >= want).all()  # rounded up by the kernel's margin
    np.testing.assert_allclose(out["upper"][rows], want, rtol=1e-7)  # margin: ~1e-9 here
    assert (out["upper"] - out["lower"] <= 1e-3 + 1e-12).all()


def test_run_shared_keeps_order_and_uses_another_thread():
    seen = set()
    both = threading.Event()
    left = _time_left()

    def work(x):
        seen.add(threading.current_thread().name)
        if len(seen) == 2:
            both.set()
        both.wait(left())  # the first item is held until a second thread has taken one
        return x * x

    assert run_shared(work, range(40), 2) == [x * x for x in range(40)]
    assert threading.current_thread().name in seen and len(seen) == 2 and left() > 0
    assert run_shared(work, [3], 2) == [9]
    assert run_shared(work, [], 2) == []


def test_run_shared_raises_the_items_error_and_stops_taking_items():
    done = []

    def work(x):
        if x == 1:
            raise ValueError("item 1")
        threading.Event().wait(0.01)
        done.append(x)
        return x

    with pytest.raises(ValueError, match="item 1"):
        run_shared(work, range(50), 2)
    assert len(done) < 49  # the other thread stopped after the error


def test_run_shared_after_fork_makes_a_new_pool():
    run_shared(lambda x: x, range(4), 2)  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # child: the inherited pool has no threads; a stale one would hang here
        signal.alarm(60)
        ok = run_shared(lambda x: x + 1, range(8), 2) == list(range(1, 9))
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_run_shared_callers_do_not_wait_for_each_others_queued_helpers():
    release = threading.Event()
    started = threading.Event()
    left = _time_left()

    def slow(x):
        started.set()
        assert release.wait(left())
        return x

    a = threading.Thread(target=run_shared, args=(slow, [0, 1], 2))
    a.start()
    assert started.wait(left())  # A's items hold the caller and the pool's one worker
    b_result = []
    b = threading.Thread(target=lambda: b_result.append(run_shared(lambda x: -x, [1, 2, 3], 2)))
    b.start()
    b.join(min(10.0, left()))  # B's helper is queued behind A's: B does its items alone
    alive = b.is_alive()
    release.set()
    a.join(left())
    b.join(left())
    assert not alive and b_result == [[-1, -2, -3]]
    assert not a.is_alive() and not b.is_alive()


@pytest.mark.parametrize("lead", [0, 1, 3])
def test_distinct_seeds_keeps_the_lead_in_order_and_each_seed_once(lead):
    from flood.kernels._voronoi import _distinct_seeds

    rng = np.random.default_rng(lead)
    for width in range(0, 9):
        seeds = rng.integers(-2, 6, size=(30, width)).astype(np.int32)
        out = _distinct_seeds(seeds, lead)
        assert out.dtype == np.int32
        longest = 0
        for row, got in zip(seeds, out):
            head = list(dict.fromkeys(int(s) for s in row[:lead] if s >= 0))
            # the lead: first occurrences in order, a repeat (or a negative) as -1
            got_head = [int(s) for s in got[: min(lead, width)] if s >= 0]
            assert got_head == head
            rest = got[min(lead, width) :]
            valid = [int(s) for s in rest if s >= 0]
            assert valid == sorted(set(int(s) for s in row if s >= 0) - set(head), reverse=True)
            assert (rest[len(valid) :] == -1).all()
            longest = max(longest, len(valid))
        assert out.shape[1] == max(1, min(lead, width) + longest)  # trimmed to the longest row


@pytest.mark.parametrize("k", [2, 3])
def test_candidate_seeds_and_kept_points_give_the_exact_values(k):
    """Seeds left as candidates (only the first cut at once) and query results kept for
    later must give the same exact (tol=0) values as cutting every seed at once, and bound
    a dense sample of d_X from above."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(10 + k)
    X = rng.random((4000, 3))
    tree = build_tree(X)
    points = tree.points.numpy()
    n = 40
    corners = np.stack([rng.random((1, 3)) + 0.25 * rng.random((k + 1, 3)) for _ in range(n)])
    corners = np.clip(corners, 0.0, 1.0)
    # seeds: the 60 points of X nearest to each simplex's centroid, in tree order
    _, seeds = cKDTree(points).query(corners.mean(axis=1), k=60)
    seeds = seeds.astype(np.int32)
    args = (tree, corners, seeds, np.zeros(n), np.full(n, np.inf), 0.0)
    eager = certify_tasks(*args, n_add=1)
    lazy = certify_tasks(*args, n_add=1, n_keep=7, n_eager=1)
    assert (eager["status"] == 0).all() and (lazy["status"] == 0).all()
    scale = np.abs(corners).max()
    np.testing.assert_allclose(lazy["upper"], eager["upper"], rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(lazy["lower"], lazy["upper"], rtol=0, atol=1e-9 * scale)
    w = rng.dirichlet(np.ones(k + 1), size=(n, 3000))
    y = np.einsum("nsk,nkd->nsd", w, corners)
    dense = cKDTree(points).query(y.reshape(-1, 3))[0].reshape(n, -1).max(axis=1)
    assert (dense <= lazy["upper"] + 1e-12).all()
    assert (lazy["upper"] - dense < 0.05).all()  # the sample comes close to the maximum
    # seeds as candidates answer what cut seeds answer: no more queries (43-44 both here)
    assert lazy["queries"].sum() <= eager["queries"].sum() + n // 10
    # without seeds, the kept points of each query save queries (225 -> 148, 263 -> 159)
    alone = (tree, corners, seeds[:, :1], np.zeros(n), np.full(n, np.inf), 0.0)
    plain = certify_tasks(*alone, n_add=1)
    kept = certify_tasks(*alone, n_add=1, n_keep=7)
    np.testing.assert_allclose(kept["upper"], plain["upper"], rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(kept["upper"], eager["upper"], rtol=0, atol=1e-9 * scale)
    assert kept["queries"].sum() < 0.8 * plain["queries"].sum()


def _dirty(scratch, n_points, rng):
    """Fill every array of a TaskScratch with garbage: NaN coordinates, all mask bits set,
    and indices of real points (a task that read any of it before writing would differ)."""
    arrays = [scratch.poly.pv, scratch.poly.ps, scratch.stack.pv, scratch.stack.meta]
    for a in arrays:
        a.numpy()[...] = np.nan
    for a in (scratch.poly.pm, scratch.poly.vs, scratch.stack.pm):
        a.numpy()[...] = np.iinfo(np.uint64).max
    for a in (scratch.poly.negs, scratch.poly.pairs, scratch.poly.slots, scratch.stack.slots,
              scratch.stack.nv, scratch.extra):  # fmt: skip
        a.numpy()[...] = rng.integers(0, n_points, size=a.shape)


@pytest.mark.parametrize("one_row", [False, True])
@pytest.mark.parametrize("k", [2, 3])
def test_a_reused_scratch_gives_what_a_fresh_one_gives(k, one_row):
    """flood._certify reuses one TaskScratch per thread across launches: whatever earlier
    tasks left in it (here: garbage everywhere, stack of pieces included) must not change a
    task's output. With ``one_row`` (the CPU's default) every task of a launch works in the
    same row, so each also starts on what the task before it left there."""
    from flood.kernels import TaskScratch

    rng = np.random.default_rng(20 + k)
    X = rng.random((50_000, 3))
    tree = build_tree(X)
    n = 24
    size = {2: 0.6, 3: 0.5}[k]  # big enough for pieces (4 and 30 splits with this seed)
    corners = np.clip(rng.random((n, 1, 3)) + size * rng.random((n, k + 1, 3)), 0.0, 1.0)
    seeds = np.full((n, 1), -1, dtype=np.int32)
    args = (tree, corners, seeds, np.zeros(n), np.full(n, np.inf), 0.0)
    fresh = certify_tasks(*args, n_add=1, n_keep=7, batch_size=8)
    assert fresh["splits"].sum() > 0  # the stack of pieces was used
    scratch = TaskScratch(8, one_row=one_row)
    _dirty(scratch, len(X), rng)
    reused = certify_tasks(*args, n_add=1, n_keep=7, scratch=scratch)
    for key, value in fresh.items():
        np.testing.assert_array_equal(reused[key], value, err_msg=key)


def test_one_row_scratch_is_one_task_of_memory_on_the_cpu():
    """A CPU launch runs its tasks in turn, so ThreadScratch gives them one shared row:
    every working array has stride 0 along the tasks and holds one task's bytes, except the
    slots (read back per task) and the gathered seeds (filled per task by their own launch);
    certify_tasks' own scratch gives the same bounds as per-task rows."""
    from flood._certify_batches import ThreadScratch
    from flood.kernels import TaskScratch
    from flood.kernels._scratch import scratch_bytes

    sc = ThreadScratch("cpu").get(512, 256)
    assert sc.one_row and sc.capacity == 512
    shared = [sc.poly.pv, sc.poly.pm, sc.poly.ps, sc.poly.negs, sc.poly.vs, sc.poly.pairs]
    shared += [getattr(sc.stack, f) for f in ("pv", "pm", "slots", "meta", "nv")] + [sc.extra]
    assert all(a.shape[0] == 512 and a.strides[0] == 0 for a in shared)
    assert sc.coords(40, 3).strides[0] == 0 and sc.coords(40, 3).shape == (512, 40, 3)
    assert sc.poly.slots.strides[0] > 0 and sc.poly.slots.shape[0] == 512
    own = sum(r.capacity for r in sc._rows)  # one task's working arrays
    assert own < scratch_bytes(256) < 2 * own
    assert not TaskScratch(4).one_row  # the per-task layout stays the default
    rng = np.random.default_rng(31)
    X = rng.random((20_000, 3))
    tree = build_tree(X)
    n = 40
    corners = np.clip(rng.random((n, 1, 3)) + 0.5 * rng.random((n, 4, 3)), 0.0, 1.0)
    args = (tree, corners, np.full((n, 1), -1, dtype=np.int32), np.zeros(n), np.full(n, np.inf))
    shared_out = certify_tasks(*args, 0.0, n_add=1, n_keep=7, batch_size=16)
    rows = TaskScratch(16, "cpu", one_row=False)
    per_task = certify_tasks(*args, 0.0, n_add=1, n_keep=7, scratch=rows)
    assert per_task["splits"].sum() > 0
    for key, value in per_task.items():
        np.testing.assert_array_equal(shared_out[key], value, err_msg=key)


def test_thread_scratch_is_one_per_thread_and_grows_when_asked():
    from flood._certify_batches import ThreadScratch

    held = ThreadScratch("cpu")
    first = held.get(4, 256)
    assert held.get(2, 256) is first  # a smaller batch fits the same scratch
    bigger = held.get(8, 256)
    assert bigger is not first and bigger.capacity == 8
    other = held.get(2, 1024)
    assert other.max_vertices == 1024 and held.get(2, 1024) is other
    got = []
    thread = threading.Thread(target=lambda: got.append(held.get(2, 1024)))
    thread.start()
    thread.join(WAIT_BUDGET_S)
    assert len(got) == 1 and got[0] is not other and got[0].max_vertices == 1024


def test_seed_rows_hold_the_corners_sites_then_every_site_of_the_faces():
    from flood._certify_batches import SeedRows, faces_of
    from flood.kernels._seeds import gather_seeds_reference

    rng = np.random.default_rng(3)
    face_sites = rng.integers(-2, 50, size=(40, 9)).astype(np.int32)  # -1 free, -2 a plane
    face_sites[7] = -1  # a face without sites
    own = rng.integers(0, 50, size=(25, 3)).astype(np.int32)
    face_rows = rng.integers(0, 40, size=(25, 3))
    face_rows[5] = 7
    rows = SeedRows(own, face_rows, faces_of(face_sites))
    for a, e in [(0, 25), (3, 11), (5, 6)]:
        got = gather_seeds_reference(rows(a, e))  # what the kernel gathers
        assert got.dtype == np.int32 and (got >= -1).all()
        for i in range(a, e):  # the own sites in order, then the faces' others, each once
            head = [s if s not in own[i, :j] else -1 for j, s in enumerate(own[i].tolist())]
            assert got[i - a, :3].tolist() == head
            want = {int(x) for x in face_sites[face_rows[i]].ravel() if x >= 0} - set(head)
            assert sorted(int(x) for x in got[i - a, 3:] if x >= 0) == sorted(want)
        sums = [(face_sites[face_rows[i]] >= 0).sum() for i in range(a, e)]
        assert rows(a, e).width() == 3 + max(sums)  # room for every face's sites
    assert (SeedRows(own)(2, 9) == own[2:9]).all()


def test_outputs_copied_back_equal_outputs_written_in_place(monkeypatch):
    """On the CPU the kernel writes certify_tasks' output arrays itself; on a GPU it writes
    device arrays that are copied back. Both paths, run on the CPU, give the same output."""
    from flood.kernels import _voronoi

    rng = np.random.default_rng(7)
    X = rng.random((20_000, 3))
    tree = build_tree(X)
    n = 30
    corners = np.clip(rng.random((n, 1, 3)) + 0.5 * rng.random((n, 3, 3)), 0.0, 1.0)
    args = (tree, corners, np.full((n, 1), -1, dtype=np.int32), np.zeros(n), np.inf, 1e-4)
    kw = dict(n_add=1, n_keep=7, batch_size=8, max_queries=6)  # few queries: some handed back
    in_place = certify_tasks(*args, **kw)
    assert (in_place["status"] != 0).any() and (in_place["edge"] >= 0).any()
    monkeypatch.setattr(_voronoi, "_in_place", lambda device: False)
    copied = certify_tasks(*args, **kw)
    for key, value in in_place.items():
        np.testing.assert_array_equal(copied[key], value, err_msg=key)


def _finished_tasks(m):
    """What certify_tasks returns for m tasks that all finished (a stand-in for the kernel)."""
    return {
        "lower": np.zeros(m), "upper": np.zeros(m), "status": np.zeros(m, dtype=np.int32),
        "queries": np.zeros(m, dtype=np.int32), "splits": np.zeros(m, dtype=np.int32),
        "sites": np.full((m, 4), -1, dtype=np.int32), "side": np.zeros((m, 4), dtype=np.int32),
        "edge": np.full(m, -1, dtype=np.int32), "ystar": np.zeros((m, 3)),
        "ylow": np.zeros((m, 3)),
    }  # fmt: skip


@pytest.mark.parametrize(
    "n, n_threads, want", [(3000, 2, 750), (200, 2, 100), (100_000, 2, 1563), (300_000, 2, 4055)]
)
def test_launches_grow_only_where_a_dimension_has_many_batches(monkeypatch, n, n_threads, want):
    """_run launches BATCH_SIZE's smallest batches unless each thread gets BATCHES_PER_THREAD
    of them; then larger ones, up to the largest (and never more than a thread's share),
    shrunk so that the batches come in a multiple of the threads."""
    import flood._certify as certify

    sizes = []

    def fake(tree, corners, seeds, lower0, reach, tol, **kw):
        m = len(corners)
        sizes.append((m, kw["scratch"].capacity))
        return _finished_tasks(m)

    class Scratch:
        def get(self, capacity, max_vertices):
            return type("S", (), {"capacity": capacity})()

    monkeypatch.setattr(certify, "certify_tasks", fake)
    tree = type("T", (), {"device": "cpu"})()
    corners = np.zeros((n, 3, 3))  # triangles: MAX_VERTICES_DEFAULT vertices per piece
    seeds = np.zeros((n, 3), dtype=np.int32)
    reach = np.full(n, np.inf)
    out = certify._run(tree, corners, seeds, np.zeros(n), reach, 0.0, n_threads, None, Scratch())
    assert len(out["lower"]) == n and sum(m for m, _ in sizes) == n
    assert max(m for m, _ in sizes) == want and all(c == want for _, c in sizes)


@pytest.mark.parametrize("n", [1, 2, 9, 6083, 7177, 12365, 100_000])
@pytest.mark.parametrize("size", [1, 682, 1024])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_even_batches_share_the_threads_evenly(n, size, threads):
    """No batch is larger than asked, at most ``threads - 1`` batches more than at ``size``,
    and where there were two or more, the count is a multiple of the threads unless batches
    of one task already make it so few; the issue's case: 6,083 tetrahedra in 682s on 2
    threads were 9 batches (one thread ran 5, the other 4), now 10 of 609."""
    from flood._certify import _even_batches

    got = _even_batches(n, size, threads)
    before, after = -(-n // size), -(-n // got)
    assert 1 <= got <= size and before <= after <= before + threads - 1
    if before >= 2 and threads >= 2 and got > 1:
        assert after % threads == 0 or -(-n // (got - 1)) > before + threads - 1
    if before < 2 or threads < 2:
        assert got == size
    if (n, size, threads) == (6083, 682, 2):
        assert (got, after) == (609, 10)


@pytest.mark.parametrize("device", ["cpu", "cuda:0"])
def test_a_cpu_task_goes_on_where_a_gpu_task_is_handed_back(monkeypatch, device):
    """_run lets a CPU task spend CPU_MAX_QUERIES queries before it is handed back to be
    split (the halves would start again, in small rounds), a GPU task the kernel's
    MAX_QUERIES (the host's halves run in parallel there)."""
    import flood._certify as certify
    from flood.kernels._sloop import MAX_QUERIES

    asked = []

    def fake(tree, corners, seeds, lower0, reach, tol, **kw):
        m = len(corners)
        asked.append(kw["max_queries"])
        return _finished_tasks(m)

    class Scratch:
        def get(self, capacity, max_vertices):
            return None

    monkeypatch.setattr(certify, "certify_tasks", fake)
    monkeypatch.setattr(certify, "launch_size", lambda device, max_vertices: 64)
    tree = type("T", (), {"device": device})()
    n = 100
    args = (np.zeros((n, 3, 3)), np.zeros((n, 3), dtype=np.int32), np.zeros(n), np.full(n, 1.0))
    certify._run(tree, *args, 0.0, 2, None, Scratch())
    want = certify.CPU_MAX_QUERIES if device == "cpu" else MAX_QUERIES
    assert asked and set(asked) == {want}
    assert certify.CPU_MAX_QUERIES > MAX_QUERIES
