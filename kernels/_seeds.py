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


#: Faces of a task, at most (a k-simplex has k + 1).
MAX_FACES = 7
vec7i = wp.types.vector(length=MAX_FACES, dtype=wp.int32)


@wp.func
def gather_seeds(faces: SeedFaces, seeds: wp.array2d(dtype=wp.int32), t: int):
    """Row t of ``seeds`` as :func:`gather_seeds_reference` makes it: the own sites in their
    columns (a repeat as NO_POINT), then the faces' distinct sites not among them, in
    descending order, then one NO_POINT where the row has room (the columns after it are
    not written: the S-loop reads a row up to its first NO_POINT past the own sites,
    :func:`seed_polytope`). Each face's sites are in descending order
    (:class:`FaceSeeds`), so the row is their merge: the largest head of the faces' lists
    each step, repeats dropped (1M cheese, 1,000 landmarks, tetrahedra: ~0.9 us per task,
    against ~8 us for inserting ~170 sites in order one by one)."""
    lead = faces.own.shape[1]
    for j in range(lead):
        s = wp.max(faces.own[t, j], wp.int32(NO_POINT))
        if _in_row(seeds, t, 0, j, s):
            s = wp.int32(NO_POINT)
        seeds[t, j] = s
    n_faces = faces.rows.shape[1]
    pos = vec7i()
    end = vec7i()
    for i in range(n_faces):
        f = faces.rows[t, i]
        pos[i] = faces.start[f]
        end[i] = faces.start[f] + faces.count[f]
    n = int(lead)
    last = wp.int32(NO_POINT)
    while True:
        best = wp.int32(NO_POINT)
        for i in range(n_faces):
            if pos[i] < end[i]:
                best = wp.max(best, faces.flat[pos[i]])
        if best < 0:  # every list is spent (or holds no site any more)
            break
        for i in range(n_faces):  # the faces that hold it move past it
            if pos[i] < end[i]:
                if faces.flat[pos[i]] == best:
                    pos[i] = pos[i] + 1
        if best != last and not _in_row(seeds, t, 0, lead, best):
            seeds[t, n] = best
            n += 1
        last = best
    if n < seeds.shape[1]:
        seeds[t, n] = wp.int32(NO_POINT)


@wp.kernel
def gather_seeds_kernel(faces: SeedFaces, seeds: wp.array2d(dtype=wp.int32)):
    """Row ``wp.tid()`` of ``seeds``: :func:`gather_seeds`."""
    gather_seeds(faces, seeds, wp.tid())


def _shared_array(a, device):
    """``a`` (contiguous int32) as a Warp array: shared on the CPU, copied to a GPU."""
    return wp.array(a, dtype=wp.int32, device=device, copy=False)


def descending_faces(flat, start, count):
    """``flat`` with each face's sites (``flat[start[f] : start[f] + count[f]]``, faces
    stored one after the other from 0) in descending order: ``flat`` itself when they
    already are (one vectorised check: flood's own faces come sorted, :func:`flood.
    _certify_batches.shrink`), else a sorted copy."""
    if len(flat) < 2:
        return flat
    if len(count) and (int(start[0]) != 0 or not np.array_equal(start[1:], np.cumsum(count)[:-1])):
        raise ValueError("FaceSeeds: the faces' sites must lie one face after the other in flat")
    first = np.zeros(len(flat) + 1, dtype=bool)
    first[start] = True  # where a face starts
    if not first[1:-1][flat[1:] > flat[:-1]].all():  # larger than the one before: a new face
        face = np.repeat(np.arange(len(count)), count)
        flat = flat[np.lexsort((-flat.astype(np.int64), face))]
    return np.ascontiguousarray(flat, dtype=np.int32)


class FaceSeeds:
    """The host side of :class:`SeedFaces` for tasks ``0 .. len - 1``: ``own`` (n, k + 1)
    and ``rows`` (n, n_faces) per task, the faces' ``flat`` sites with their ``start`` and
    ``count``, each face's in descending order (:func:`descending_faces` sorts them when
    they are not). :meth:`take` slices the tasks; the faces' arrays are shared, and made
    into Warp arrays once per device."""

    def __init__(self, own, rows, flat, start, count, _shared=None):
        self.own = np.ascontiguousarray(own, dtype=np.int32)
        self.rows = np.ascontiguousarray(rows, dtype=np.int32)
        if self.rows.ndim != 2 or self.rows.shape[1] > MAX_FACES:  # the kernel's fixed arrays
            raise ValueError(
                f"FaceSeeds rows must have shape (n_tasks, n_faces) with n_faces <= "
                f"{MAX_FACES}; got {self.rows.shape}"
            )
        self.start = np.ascontiguousarray(start, dtype=np.int32)
        self.count = np.ascontiguousarray(count, dtype=np.int32)
        flat = np.ascontiguousarray(flat, dtype=np.int32)
        # :meth:`take`'s slices share the arrays (and their order) of the whole
        self.flat = flat if _shared is not None else descending_faces(flat, self.start, self.count)
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
