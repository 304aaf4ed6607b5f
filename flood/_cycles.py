"""Persistence pairs of a Flood complex by simplex, and representative cycles.

Which library, and why. gudhi 3.13 gives a ``SimplexTree``'s pairs of simplices
(``persistence_pairs``) but no chains: its Python generators are for flag and lower-star
filtrations only (``flag_persistence_generators``, ``lower_star_persistence_generators``,
vertices and edges). dionysus 2.2.3 ships a source distribution only (a Boost build). Oineus
(BSD, wheels for CPython 3.11 on manylinux, 4.6 MB, maintained) reduces the boundary matrix
of any simplicial filtration and keeps R: the reduced column ``R[tau]`` of a death simplex
is a cycle whose youngest simplex is the birth simplex (its pivot). So the representative
cycle of a bar is ``R[tau]``: closed (a sum of boundaries of the chain ``V[tau]``, R = D V),
made only of simplices that enter at or before the birth, and it represents the class that
is born at ``sigma`` and killed at ``tau``. The complex has the size of Del(L); built
from arrays and reduced, 82k simplices (3,000 landmarks) take ~0.08 s.

``R[tau]`` is one representative among many. Where a better one is cheap it is used
instead: for H_{d-1} of a d-dimensional cloud the wall of the region the class encloses
(:func:`region_cycle`), for H1 below that the shortest loop that represents the bar
(:mod:`flood._loops`, from Oineus' cohomology reduction; checked by :meth:`represents`).

Simplices are named by their global id: ``offsets[k] + row`` for row ``row`` of
``result.simplices[k]``.
"""

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

from flood._delaunay import facet_index
from flood._loops import short_loop
from flood._shells import face_owners, region_cycle

#: What oineus answers for the death of an essential class (uint64 max).
_OINEUS_INF = np.iinfo(np.uint64).max


@dataclass
class Pairs:
    """Finite and essential persistence pairs by global simplex id.

    Attributes
    ----------
    dimension : ndarray of int64 of shape (n_pairs,)
    birth, death : ndarray of int64 of shape (n_pairs,)
        Global ids (``death`` is -1 for an essential class).
    reducer : OineusReducer or None
        What answers the cycles (None when the pairs came from gudhi: no chains).
    """

    dimension: np.ndarray
    birth: np.ndarray
    death: np.ndarray
    reducer: object = None


def offsets(simplices):
    """Global id of the first simplex of each dimension, and the total (length n_dims + 1)."""
    return np.concatenate([[0], np.cumsum([len(s) for s in simplices])]).astype(np.int64)


def split_ids(ids, offs):
    """Global ids -> (dimension, row) arrays."""
    ids = np.asarray(ids, dtype=np.int64)
    k = np.searchsorted(offs, ids, side="right") - 1
    return k, ids - offs[k]


class OineusReducer:
    """The filtration of a FloodResult in Oineus, reduced once; answers pairs and cycles."""

    def __init__(self, simplices, filtration, n_threads=1):
        try:
            import oineus
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "Representative cycles need oineus: pip install 'flood-tda[cycles]' "
                "(or pip install oineus), or pass cycles=False."
            ) from exc
        self.filtration = _filtration(oineus, simplices, filtration)
        self.decomposition = oineus.Decomposition(self.filtration, False)
        params = oineus.ReductionParams()
        params.n_threads = int(n_threads)
        self.decomposition.reduce(params)
        # sorting_permutation()[id] = sorted id; ids are positions in ``cells``
        self.rank = np.asarray(self.filtration.sorting_permutation(), dtype=np.int64)
        self.id_of_sorted = np.argsort(self.rank)
        self.values = np.concatenate([np.asarray(f, dtype=np.float64) for f in filtration])
        self.offsets = offsets(simplices)
        self._facets = None
        self._twins = None  # the two top simplices of each facet
        self._partner = None  # sorted id of the death paired with each sorted birth, or -1
        self._dual = None  # the cohomology reduction, for cocycles

    def partner(self):
        """Sorted id of the simplex paired with each sorted id's birth (-1: none), all
        pairs, zero persistence included: the column whose pivot a simplex is."""
        if self._partner is None:
            partner = np.full(len(self.rank), -1, dtype=np.int64)
            for diagram in (
                self.decomposition.diagram(self.filtration, include_inf_points=False),
                self.decomposition.zero_pers_diagram(self.filtration),
            ):
                for q in range(len(self.offsets) - 1):
                    idx = np.asarray(diagram.index_diagram_in_dimension(q), dtype=np.uint64)
                    idx = idx.reshape(-1, 2).astype(np.int64)
                    partner[idx[:, 0]] = idx[:, 1]
            self._partner = partner
        return self._partner

    def reduce(self, chain, limit):
        """Sorted ids of the pivots (births) of the bars whose cycles sum to the cycle
        ``chain`` (global ids) up to boundaries, using only bars that die at or before
        sorted id ``limit``; None when that is impossible (the chain holds a class that
        dies later, or is not a cycle)."""
        partner = self.partner()
        z = set(self.rank[np.asarray(chain, dtype=np.int64)].tolist())
        used = []
        while z:
            pivot = max(z)
            column = partner[pivot]
            if column < 0 or column > limit:
                return None
            used.append(pivot)
            z.symmetric_difference_update(self.decomposition.r_col(int(column)))
        return used

    def represents(self, chain, birth, death):
        """Whether the cycle ``chain`` (global ids) represents the bar (birth, death): the
        reduction writes it as that bar's cycle plus cycles of bars that die no later
        (boundaries included), so its class is born by the last of its simplices and dies
        exactly at ``death``."""
        used = self.reduce(chain, self.rank[death])
        return used is not None and int(self.rank[birth]) in used

    def cocycle(self, birth, until=None):
        """Global ids of a cocycle of the bar born at ``birth`` (Oineus' cohomology
        reduction: odd on its cycle, zero on the cycles of bars born before it, a
        cocycle of the complex until its death). With ``until``, also zero on the
        cycles of the bars born after it up to that value that are still alive there."""
        n = len(self.rank)
        if self._dual is None:
            import oineus

            self._dual = oineus.Decomposition(self.filtration, True)
            params = oineus.ReductionParams()
            params.compute_v = True
            self._dual.reduce(params)

        def omega(sorted_birth):  # the dual matrix runs in reverse order
            return set((n - 1 - np.asarray(self._dual.v_col(n - 1 - sorted_birth))).tolist())

        own = int(self.rank[birth])
        cocycle = omega(own)
        if until is not None:
            partner = self.partner()
            values = self.values[self.id_of_sorted]
            last = int(np.searchsorted(values, until, side="right"))
            window = np.arange(own + 1, last)
            dims = np.searchsorted(self.offsets, self.id_of_sorted[window], side="right") - 1
            for b in window[dims == 1].tolist():
                d = partner[b]
                if d < 0 or values[d] <= until:
                    continue  # a boundary by then
                if len(cocycle.intersection(self.decomposition.r_col(int(d)))) % 2:
                    cocycle ^= omega(b)
        return self.id_of_sorted[np.fromiter(cocycle, dtype=np.int64, count=len(cocycle))]

    def pairs(self, max_dimension):
        """All pairs of dimensions ``0 .. max_dimension`` (global ids)."""
        diagram = self.decomposition.diagram(self.filtration, include_inf_points=True)
        dims, births, deaths = [], [], []
        for q in range(max_dimension + 1):
            idx = np.asarray(diagram.index_diagram_in_dimension(q), dtype=np.uint64)
            idx = idx.reshape(-1, 2)
            essential = idx[:, 1] == _OINEUS_INF
            death = np.where(essential, 0, idx[:, 1]).astype(np.int64)
            dims.append(np.full(len(idx), q, dtype=np.int64))
            births.append(self.id_of_sorted[idx[:, 0].astype(np.int64)])
            deaths.append(np.where(essential, -1, self.id_of_sorted[death]))
        return Pairs(np.concatenate(dims), np.concatenate(births), np.concatenate(deaths), self)

    def cycle(self, birth, death, simplices, avoid=(), landmarks=None, tol=0.0, hole=None):
        """Global ids of a representative cycle of the bar (birth, death), sorted: for
        H_{d-1} of a d-dimensional triangulation the boundary of the region its class
        encloses (:func:`flood._shells.region_cycle`; ``hole``: (centre, radius,
        witnesses, depths) of the bar and of every d-simplex, to take the region once it
        is the hole; ``avoid``: (birth, death) global ids
        of other bars whose holes it should not enclose); for H1 below that, given the
        ``landmarks``,
        the shortest loop found that represents the bar (:func:`flood._loops.short_loop`,
        within ``tol`` of the birth); else the reduced column ``R[death]``."""
        offs = offsets(simplices)
        d = len(simplices) - 1
        k, row = split_ids([death], offs)
        if k[0] == d and d >= 2 and len(simplices[d][0]) == d + 1:
            if self._facets is None:
                self._facets = facet_index(simplices[d], simplices[d - 1], len(simplices[0]))
                self._twins = face_owners(self._facets, len(simplices[d - 1]))
            ranks = self.rank[offs[d - 1] : offs[d]]
            others = [(self.rank[b], a - offs[d]) for b, a in avoid if offs[d] <= a < offs[d + 1]]
            shape = None if hole is None else (simplices[d], landmarks, *hole)
            rows = region_cycle(
                self._facets, ranks, self.rank[birth], int(row[0]), others, shape, self._twins
            )
            if rows is not None:
                return offs[d - 1] + rows
        if k[0] == 2 and landmarks is not None:
            loop = short_loop(self, birth, death, simplices, landmarks, tol)
            if loop is not None:
                return np.sort(loop)
        sorted_death = int(self.rank[death])
        rows = self.decomposition.r_col(sorted_death)
        return np.sort(self.id_of_sorted[np.asarray(rows, dtype=np.int64)])


def _filtration(oineus, simplices, filtration):
    """The Oineus filtration, ids in the order of ``simplices`` (dimension by dimension).
    From the arrays (oineus' own array path, ``_filtration_from_arrays``: 10x faster than
    one Python ``Simplex`` per simplex, same ids and order; 0.03 s vs 0.27 s for 82k
    simplices) where this oineus has it, else from a list of cells."""
    from_arrays = getattr(getattr(oineus, "_oineus", None), "_filtration_from_arrays", None)
    if from_arrays is not None:
        return from_arrays(
            [np.ascontiguousarray(s, dtype=np.int64) for s in simplices],
            [np.ascontiguousarray(f, dtype=np.float64) for f in filtration],
        )
    cells = [
        oineus.Simplex(row, value)
        for s, f in zip(simplices, filtration)
        for row, value in zip(s.tolist(), f.tolist())
    ]
    return oineus.Filtration(cells)


def gudhi_pairs(simplex_tree, simplices):
    """The pairs of a ``gudhi.SimplexTree`` (persistence computed) by global id."""
    offs = offsets(simplices)
    lookup = [_RowLookup(s) for s in simplices]
    dims, births, deaths = [], [], []
    for birth, death in simplex_tree.persistence_pairs():
        k = len(birth) - 1
        dims.append(k)
        births.append(offs[k] + lookup[k](birth))
        deaths.append(offs[k + 1] + lookup[k + 1](death) if death else -1)
    as_int = [np.asarray(a, dtype=np.int64) for a in (dims, births, deaths)]
    return Pairs(*as_int)


class _RowLookup:
    """Row of a simplex (a vertex list) in one dimension's sorted-row simplex array."""

    def __init__(self, rows):
        self.rows = np.ascontiguousarray(rows, dtype=np.int64)
        self.order = np.lexsort(self.rows.T[::-1]) if len(rows) else np.zeros(0, np.int64)
        self.keys = [tuple(r) for r in self.rows[self.order].tolist()]

    def __call__(self, vertices):
        return int(self.order[bisect_left(self.keys, tuple(sorted(int(v) for v in vertices)))])
