"""Seeds gathered in the kernel: a task's first sites are its corners' own sites, then the
sites its faces ended with (each face's row by row in one flat list), deduplicated. The
kernel reads them straight from that list, so the host neither gathers a padded matrix per
batch nor sorts its rows (:func:`flood.kernels._candidates._distinct_seeds`, the reference
this must equal, column for column).
"""

import numpy as np
import warp as wp

from flood.kernels._candidates import NO_POINT, _distinct_seeds

wp.set_module_options({"enable_backward": False})


@wp.struct
class SeedFaces:
    """Where each task's seeds come from (row t: task t): its own sites, then its faces',
    face ``f`` holding ``flat[start[f] : start[f] + count[f]]``."""

    own: wp.array2d(dtype=wp.int32)  # (task, k + 1): the corners' own sites, in order
    rows: wp.array2d(dtype=wp.int32)  # (task, n_faces): the task's faces
    flat: wp.array(dtype=wp.int32)  # every face's sites (>= 0), face after face
    start: wp.array(dtype=wp.int32)
    count: wp.array(dtype=wp.int32)


@wp.func
def _in_row(seeds: wp.array2d(dtype=wp.int32), t: int, a: int, b: int, s: wp.int32):
    """Whether ``s`` is among columns ``a .. b - 1`` of row t."""
    found = bool(False)
    for j in range(a, b):
        if seeds[t, j] == s:
            found = True
            break
    return found


@wp.func
def gather_seeds(faces: SeedFaces, seeds: wp.array2d(dtype=wp.int32), t: int):
    """Row t of ``seeds`` as :func:`gather_seeds_reference` makes it: the own sites in their
    columns (a repeat as NO_POINT), then the faces' distinct sites not among them, in
    descending order (kept sorted as they come: a row holds a few dozen), then one NO_POINT
    where the row has room (the columns after it are not written: the S-loop reads a row
    up to its first NO_POINT past the own sites, :func:`seed_polytope`)."""
    lead = faces.own.shape[1]
    for j in range(lead):
        s = wp.max(faces.own[t, j], wp.int32(NO_POINT))
        if _in_row(seeds, t, 0, j, s):
            s = wp.int32(NO_POINT)
        seeds[t, j] = s
    n = int(lead)
    for i in range(faces.rows.shape[1]):
        f = faces.rows[t, i]
        a = faces.start[f]
        for q in range(a, a + faces.count[f]):
            s = faces.flat[q]
            if s >= 0 and not _in_row(seeds, t, 0, lead, s):
                p = int(lead)  # the first column holding a seed <= s (or n)
                while p < n:
                    if seeds[t, p] <= s:
                        break
                    p += 1
                new = bool(True)
                if p < n:
                    new = seeds[t, p] != s
                if new:  # shift the smaller ones right by one column
                    j = int(n)
                    while j > p:
                        seeds[t, j] = seeds[t, j - 1]
                        j -= 1
                    seeds[t, p] = s
                    n += 1
    if n < seeds.shape[1]:
        seeds[t, n] = wp.int32(NO_POINT)


@wp.kernel
def gather_seeds_kernel(faces: SeedFaces, seeds: wp.array2d(dtype=wp.int32)):
    """Row ``wp.tid()`` of ``seeds``: :func:`gather_seeds`."""
    gather_seeds(faces, seeds, wp.tid())


def _shared_array(a, device):
    """``a`` (contiguous int32) as a Warp array: shared on the CPU, copied to a GPU."""
    return wp.array(a, dtype=wp.int32, device=device, copy=False)


class FaceSeeds:
    """The host side of :class:`SeedFaces` for tasks ``0 .. len - 1``: ``own`` (n, k + 1)
    and ``rows`` (n, n_faces) per task, the faces' ``flat`` sites with their ``start`` and
    ``count``. :meth:`take` slices the tasks; the faces' arrays are shared, and made into
    Warp arrays once per device."""

    def __init__(self, own, rows, flat, start, count, _shared=None):
        self.own = np.ascontiguousarray(own, dtype=np.int32)
        self.rows = np.ascontiguousarray(rows, dtype=np.int32)
        self.flat = np.ascontiguousarray(flat, dtype=np.int32)
        self.start = np.ascontiguousarray(start, dtype=np.int32)
        self.count = np.ascontiguousarray(count, dtype=np.int32)
        self._shared = {} if _shared is None else _shared  # device -> (flat, start, count)

    def __len__(self):
        return len(self.own)

    def take(self, a, e):
        """Tasks ``a .. e - 1``."""
        return FaceSeeds(
            self.own[a:e], self.rows[a:e], self.flat, self.start, self.count, self._shared
        )

    def width(self):
        """Columns that hold any row's seeds: the own sites, then every face's (before
        deduplication; at least one column)."""
        sums = self.count[self.rows].sum(axis=1) if self.rows.size else np.zeros(1, int)
        return max(1, self.own.shape[1] + int(sums.max(initial=0)))

    def struct(self, device, a=0, e=None):
        """The :class:`SeedFaces` of tasks ``a .. e - 1`` on ``device`` (on the CPU the
        arrays are shared, not copied)."""
        key = str(device)
        if key not in self._shared:
            self._shared[key] = tuple(
                _shared_array(x, device) for x in (self.flat, self.start, self.count)
            )
        sf = SeedFaces()
        sf.own = _shared_array(self.own[a:e], device)
        sf.rows = _shared_array(self.rows[a:e], device)
        sf.flat, sf.start, sf.count = self._shared[key]
        return sf


def gather_seeds_reference(faces):
    """NumPy reference for :func:`gather_seeds` on a :class:`FaceSeeds`: the padded rows
    (own sites, then every face's sites) made distinct by :func:`_distinct_seeds` with the
    own sites as its lead."""
    lead = faces.own.shape[1]
    rows = [
        list(r)
        + [s for f in fr for s in faces.flat[faces.start[f] : faces.start[f] + faces.count[f]]]
        for r, fr in zip(faces.own.tolist(), faces.rows.tolist())
    ]
    width = max([len(r) for r in rows], default=lead)
    dense = np.full((len(rows), width), -1, dtype=np.int32)
    for i, r in enumerate(rows):
        dense[i, : len(r)] = r
    return _distinct_seeds(dense, lead)
