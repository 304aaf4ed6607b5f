"""Event counters of the S-loop (how many cuts, of how many vertices, how many candidates and
sites per simplex), for ``benchmarks/cut_stats.py``; off in every normal build.

``COUNTING`` is read by the kernel code as ``_counters.COUNTING``: Warp hashes the value into
the module, so :func:`count_events` (before the first launch of the certified kernel in a
process) builds a separate variant of it with the counters, and the normal build holds no
counter code at all. The counts go to :func:`counters` (one int64 row per simplex dimension
k, one column per event ``EV_*``), summed over every launch until :func:`reset_counters`.
"""

import numpy as np
import warp as wp

from flood.kernels._polytope import MAX_CORNERS

wp.set_module_options({"enable_backward": False})

COUNTING = False  # a compile-time constant of the kernels: set by count_events only

EV_CUTS = 0  # cuts tried (a site's or a split plane's): one classification each
EV_VERTICES = 1  # the polytope's vertices at those cuts, summed
EV_REMOVED = 2  # the vertices those cuts removed, summed
EV_SKIPPED = 3  # cuts skipped (no removed vertex above lower + tol)
EV_CANDIDATES = 4  # candidates (seeds or a query's other points) added without a query
EV_QUERIES = 5  # nearest-point queries of the S-loop
EV_SITES = 6  # sites still active (some vertex holds their bit) when a task ends, summed
EV_TASKS = 7  # tasks ended (simplices and the pieces the host split off)
N_EVENTS = 8

_arrays = {}  # device -> the (MAX_CORNERS, N_EVENTS) int64 counters


@wp.func
def count_event(counts: wp.array2d(dtype=wp.int64), k: int, event: int, value: int):
    """Add ``value`` to event ``event`` of dimension ``k`` (call only under COUNTING)."""
    wp.atomic_add(counts, k, event, wp.int64(value))


def counters(device="cpu"):
    """The counters on ``device`` (made once: every launch there adds to the same array)."""
    key = str(device)
    if key not in _arrays:
        _arrays[key] = wp.zeros((MAX_CORNERS, N_EVENTS), dtype=wp.int64, device=device)
    return _arrays[key]


def reset_counters(device="cpu"):
    counters(device).zero_()


def read_counters(device="cpu"):
    """The counts so far as a NumPy array of shape (MAX_CORNERS, N_EVENTS)."""
    return np.asarray(counters(device).numpy(), dtype=np.int64)


def count_events():
    """Turn the counters on for this process. Must come before the certified kernel's first
    launch here (Warp builds a module once per process); raises otherwise."""
    global COUNTING
    module = wp.get_module("flood.kernels._voronoi")
    if module.execs and not COUNTING:
        raise RuntimeError(
            "count_events() must be called before the certified kernel's first launch in "
            "this process (it is built already, without counters)."
        )
    COUNTING = True
