"""Host-side policy of the certified refinement: which sites a facet hands to its cofaces,
and the shared launch threads."""

import os
import signal
import threading

import numpy as np
import pytest

from flood._certify import _face_seeds
from flood.kernels._pool import run_shared


def _face_seeds_reference(sites, ystar, points, m):
    out = np.full((len(sites), m), -1, dtype=np.int32)
    for i, row in enumerate(sites):
        active = [s for s in row if s >= 0]
        active.sort(key=lambda s: np.sum((points[s] - ystar[i]) ** 2))
        out[i, : min(m, len(active))] = active[:m]
    return out


@pytest.mark.parametrize("m", [1, 4, 6])
def test_face_seeds_are_the_active_sites_nearest_to_the_maximizer(m):
    rng = np.random.default_rng(0)
    points = rng.random((500, 3))
    sites = np.full((300, 64), -1, dtype=np.int32)
    for i in range(len(sites)):  # 0..12 active sites in scattered slots, split planes too
        slots = rng.choice(64, size=rng.integers(0, 13), replace=False)
        sites[i, slots] = rng.choice(500, size=len(slots), replace=False)
        free = np.flatnonzero(sites[i] == -1)
        if rng.random() < 0.3:
            sites[i, free[0]] = -2  # a split plane's slot is not a site
    ystar = rng.random((300, 3))
    got = _face_seeds((sites, ystar), points, m, rows=64)  # several row blocks
    np.testing.assert_array_equal(got, _face_seeds_reference(sites, ystar, points, m))


def test_run_shared_keeps_order_and_uses_another_thread():
    seen = set()

    def work(x):
        seen.add(threading.current_thread().name)
        threading.Event().wait(0.002)  # long enough that both threads take items
        return x * x

    assert run_shared(work, range(40), 2) == [x * x for x in range(40)]
    assert threading.current_thread().name in seen and len(seen) == 2
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
