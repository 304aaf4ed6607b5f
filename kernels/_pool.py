"""One process-wide pool of Python threads for CPU launches (Warp CPU launches release the
GIL, so two threads keep two cores busy).

Starting threads per call costs ~1 ms each while the other thread is launching (it waits for
the GIL): 26 starts were ~30 % of a 100k-point tree build. The pool is made on first use,
grown when more threads are asked for, and made anew in a forked child (a fork keeps the
pool object but not its threads).
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_lock = threading.Lock()
_pool = None
_pool_size = 0
_pool_pid = None


def thread_pool(n_threads):
    """A shared executor with at least ``n_threads`` workers."""
    global _pool, _pool_size, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid() or _pool_size < n_threads:
            old = _pool if _pool_pid == os.getpid() else None
            _pool = ThreadPoolExecutor(n_threads, thread_name_prefix="flood-launch")
            _pool_size, _pool_pid = n_threads, os.getpid()
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def run_shared(func, items, n_threads):
    """``[func(x) for x in items]``, the items taken in turn by up to ``n_threads`` threads:
    the calling thread and ``n_threads - 1`` pool workers (no pool for one item or thread).
    The first exception is raised once all threads are done."""
    items = list(items)
    n_threads = min(n_threads, len(items))
    if n_threads <= 1 or threading.current_thread().name.startswith("flood-launch"):
        return [func(x) for x in items]  # nested calls never wait on the pool's own workers
    results = [None] * len(items)
    turn = iter(range(len(items)))
    take = threading.Lock()
    failed = threading.Event()  # after an error nobody starts another item

    def worker():
        while not failed.is_set():
            with take:
                i = next(turn, None)
            if i is None:
                return
            try:
                results[i] = func(items[i])
            except BaseException:
                failed.set()
                raise

    pool = thread_pool(n_threads - 1)
    helpers = [pool.submit(worker) for _ in range(n_threads - 1)]
    try:
        worker()
    finally:
        # a helper still queued (the pool busy with another caller's items) is not needed
        # any more: never wait for it; wait for the running ones before raising anything
        helpers = [h for h in helpers if not h.cancel()]
        for h in helpers:
            h.exception()
    for h in helpers:
        h.result()
    return results
