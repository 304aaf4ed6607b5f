"""The batches of :mod:`flood._certify`'s launches: the seeds each batch gathers, what the
host keeps of each batch's output, and the scratch each launching thread reuses. All of it
runs in the launching threads, batch by batch, so no step holds ``N_BITS`` columns per task
for a whole dimension (at 100,000 landmarks, 1.3M triangles x 3 faces x 64 columns was a
gigabyte gathered at once).
"""

import threading

import numpy as np
import warp as wp

from flood.kernels import TaskScratch
from flood.kernels._seeds import FaceSeeds
from flood.kernels._sloop import STATUS_DONE


class ThreadScratch:
    """One :class:`TaskScratch` per launching thread, reused by every launch of one
    :func:`certified_bounds` call (all dimensions and rounds) and freed with it. A scratch
    made per launch (~250 MiB, most of it never touched) came from fresh pages each time:
    the pages a launch's tasks touch were faulted in and zeroed again at every launch. On
    the CPU the scratch is ``one_row``: a launch runs its tasks in turn on one thread, and
    they all work in one task's memory, which stays in cache (1M cheese, 1,000 landmarks:
    the filtration's page faults per call ~28,800 -> ~10, one thread's CPU 2.21-2.22 ->
    2.06-2.10 s, the same bounds bit for bit)."""

    def __init__(self, device):
        self.device = device
        self._by_thread = {}  # thread ident -> its TaskScratch (each thread reads its own)

    def get(self, capacity, max_vertices):
        """The calling thread's scratch for ``capacity`` tasks of ``max_vertices``."""
        key = threading.get_ident()
        scratch = self._by_thread.get(key)
        if scratch is None or scratch.capacity < capacity or scratch.max_vertices != max_vertices:
            self._by_thread[key] = None  # the old one is freed before the new one is made
            one_row = wp.get_device(self.device).is_cpu  # a CPU launch runs tasks in turn
            scratch = TaskScratch(capacity, self.device, max_vertices, one_row=one_row)
            self._by_thread[key] = scratch
        return scratch


class SeedRows:
    """The seeds of each simplex, batch by batch: its corners' own sites (``own``), then the
    sites its faces ended with, face ``f`` holding ``flat[start[f] : start[f] + count[f]]``
    (:func:`faces_of`). With faces, a batch is a :class:`FaceSeeds` that the kernel gathers
    and deduplicates itself (the host once gathered padded rows and sorted them: ~3.4 s of
    one core at 100,000 landmarks); without, the rows of ``own``. Called as ``rows(a, e)``
    for simplices ``a .. e - 1``."""

    def __init__(self, own, face_rows=None, faces=None):
        self.own = np.ascontiguousarray(own, dtype=np.int32)
        self.faces = None if faces is None else FaceSeeds(self.own, face_rows, *faces)

    def __call__(self, a, e):
        return self.own[a:e] if self.faces is None else self.faces.take(a, e)


def faces_of(sites):
    """``(flat, start, count)``: the sites (>= 0) of each row of ``sites``, row after row in
    ``flat``, row ``i``'s from ``start[i]``, ``count[i]`` of them, each row's in descending
    order (as :class:`~flood.kernels._seeds.FaceSeeds` wants them)."""
    desc = _descending_rows(sites)
    valid = desc >= 0
    count = valid.sum(axis=1)
    return desc[valid], np.cumsum(count) - count, count


def _descending_rows(sites):
    """Each row of ``sites`` in descending order (its markers, all negative, last)."""
    return -np.sort(-np.asarray(sites, dtype=np.int32), axis=1)


def shrink(out, first_round):
    """What the host keeps of one batch: the tasks' bounds and counters, how many sites each
    ended with (first round: which ones, for the cofaces: ``root``, row after row), and for
    the tasks handed back (``back``, rows of the batch) their whole slot rows and where to
    split them. Done in the launching thread: the host never joins N_BITS columns per task."""
    sites, side, edge = out.pop("sites"), out.pop("side"), out.pop("edge")
    del out["ystar"]
    valid = sites >= 0
    out["n_sites"] = valid.sum(axis=1)
    if first_round:  # the cofaces' seeds: each row's sites in descending order (faces_of)
        desc = _descending_rows(sites)
        out["root"] = desc[desc >= 0]
    back = np.flatnonzero(out["status"] != STATUS_DONE)
    out.update(back=back, back_sites=sites[back], back_side=side[back], back_edge=edge[back])
    return out


def merge(parts, bounds):
    """The batches' outputs joined (``back`` as rows of the whole)."""
    merged = {}
    for key in parts[0]:
        if key == "back":
            merged[key] = np.concatenate([p[key] + a for p, (a, _) in zip(parts, bounds)])
        else:
            merged[key] = np.concatenate([p[key] for p in parts])
    return merged
