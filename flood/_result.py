"""FloodResult: the Flood complex of a point cloud, its certified filtration and persistence.

What :func:`flood.flood_complex` returns, for a NumPy array and for a dask array alike.
"""

from dataclasses import dataclass, field

import numpy as np

from flood._diagrams import gudhi_intervals, persistence_diagrams, zero_persistence_threshold
from flood._holes import feature_table
from flood._persistence import diagram_pairs
from flood._validation import check_homology_dimensions, check_min_persistence


@dataclass
class FloodResult:
    """The Flood complex of a point cloud, its certified filtration and its persistence.

    Attributes
    ----------
    landmarks : ndarray of shape (n_landmarks, dim)
        Landmark coordinates.
    landmark_indices : ndarray of int64 or None
        Row of each landmark in the input points (None when landmarks were given as
        coordinates that are not all input points).
    covering_radius : float
        Exact ``max over x in X of min over l in L |x - l|``.
    simplices : list of ndarray of int64
        ``simplices[k]`` has shape (n_k, k + 1): landmark indices of the k-simplices of
        Del(L), rows sorted.
    lower, upper : list of ndarray of float64 or None
        Per dimension, certified bounds ``lower <= f(s) <= upper`` on the exact filtration
        value; None for ``method="grid"``, which certifies nothing.
    filtration : list of ndarray of float64
        Per dimension, the values used for persistence: within the bounds (the midpoint of
        the face-propagated bounds) and non-decreasing from faces to cofaces.
    tol : float
        The tolerance used (``upper - lower <= tol``); NaN for ``method="grid"``.
    method : str
    timings : dict
        Wall seconds per stage (``compile`` too when ``progress=True`` compiled the kernels
        first: a first run on a machine).
    evaluations : dict
        Mean nearest-point queries per simplex, per dimension (a k-nearest query counts as
        one; for ``method="grid"``, the interior grid points per simplex).
    work : dict
        ``{"max_sites": {k: largest |S| on one task}, "splits": {k: tasks split}}`` of the
        certified refinement (empty for the grid method).
    maximizers : list of ndarray of float64 or None
        Per dimension, shape (n_k, dim): a point y of each simplex with
        ``d_X(y) >= lower(s) >= f(s) - tol``, where the flood reaches the simplex last (a
        vertex for a vertex); for dask input, the blocks' (of a simplex cut into pieces,
        the piece's with the largest lower bound). None for ``method="grid"``.
    """

    landmarks: np.ndarray
    landmark_indices: np.ndarray | None
    covering_radius: float
    simplices: list
    lower: list | None
    upper: list | None
    filtration: list
    tol: float
    method: str
    timings: dict = field(default_factory=dict)
    evaluations: dict = field(default_factory=dict)
    work: dict = field(default_factory=dict)
    maximizers: list | None = None
    _tree: object = field(default=None, repr=False)
    _reducer: object = field(default=None, repr=False)
    _points: object = field(default=None, repr=False)  # dask input: X, to evaluate centres
    _intervals: dict = field(default_factory=dict, repr=False)  # {q: all pairs of H_q}
    _facets: list | None = field(default=None, repr=False)  # Delaunay's facet rows, k >= 2

    def __getstate__(self):
        """Pickle without the Oineus reduction (C++ objects; rebuilt on demand) and the
        facet rows (found again from the simplices when needed)."""
        return dict(self.__dict__, _reducer=None, _facets=None)

    @property
    def n_simplices(self):
        """Number of simplices per dimension."""
        return [len(s) for s in self.simplices]

    @property
    def max_gap(self):
        """``max(upper - lower)`` over all simplices (NaN for the grid method)."""
        if self.lower is None:
            return float("nan")
        return max(
            (float((u - lo).max()) for lo, u in zip(self.lower, self.upper) if len(u)), default=0.0
        )

    def simplex_tree(self):
        """The filtered complex as a ``gudhi.SimplexTree`` (built once, then cached)."""
        if self._tree is None:
            import gudhi

            st = gudhi.SimplexTree()
            for s, f in zip(self.simplices, self.filtration):
                if len(s):
                    st.insert_batch(np.ascontiguousarray(s.T, dtype=np.int32), f)
            st.compute_persistence(persistence_dim_max=True)
            self._tree = st
        return self._tree

    def diagrams(self, homology_dimensions=None, min_persistence=0.0):
        """Persistence diagrams, one ``(n_pairs, 2)`` float array per requested dimension.

        Births and deaths are radii; essential classes die at ``inf``. Pairs of zero
        persistence (``death - birth`` within rounding, ``ZERO_PERSISTENCE_RTOL`` times the
        largest filtration value, see :mod:`flood._diagrams`) are left out, and so are
        pairs with ``death - birth <= min_persistence``. Coefficients in Z/11 (gudhi's
        default); most persistent pairs first. Computed once per dimension, without a
        SimplexTree where :mod:`flood._persistence` applies (up to 3-D).

        Parameters
        ----------
        homology_dimensions : int or sequence of int, optional
            Distinct dimensions, in the order wanted; a bare int ``q`` means ``(q,)``.
            Default: every dimension the points can have, ``0, ..., dim - 1``. A dimension
            ``>= dim`` gives a warning and an empty diagram (H_q of a subset of R^dim is 0
            for q >= dim); repeated dimensions are refused (ValueError).
        min_persistence : float, default=0.0
            Leave out the pairs with ``death - birth <= min_persistence``.

        Returns
        -------
        diagrams : Diagrams
            A list of ndarray of shape (n_pairs, 2), one per dimension, whose
            ``homology_dimensions`` attribute says which (so plots label them right).

        Examples
        --------
        >>> import numpy as np
        >>> from flood import flood_complex
        >>> t = np.linspace(0, 2 * np.pi, 200, endpoint=False)
        >>> res = flood_complex(np.c_[np.cos(t), np.sin(t)], 20, device="cpu", random_state=0)
        >>> dgms = res.diagrams(1, min_persistence=0.1)  # the circle's one long H1 bar
        >>> dgms.homology_dimensions, dgms[0].shape
        ((1,), (1, 2))
        """
        dim = self.landmarks.shape[1]
        dims = check_homology_dimensions(
            tuple(range(dim)) if homology_dimensions is None else homology_dimensions,
            dim,
            owner="The 'homology_dimensions' parameter of FloodResult.diagrams",
        )
        min_persistence = check_min_persistence(
            min_persistence, owner="The 'min_persistence' parameter of FloodResult.diagrams"
        )
        threshold = zero_persistence_threshold(self.filtration)
        return persistence_diagrams(self._all_pairs(dims), dims, min_persistence, threshold)

    def _all_pairs(self, homology_dimensions):
        """``{q: (n_pairs, 2) array}``: every pair of positive persistence of H_q, each
        dimension computed once. From union-find walks and a small reduction
        (:mod:`flood._persistence`) where they apply (Del(L) of up to 3-D landmarks: every
        flood complex in 3-D), else, or when the tree is already built, from
        :meth:`simplex_tree`; the same pairs either way."""
        missing = [q for q in homology_dimensions if q not in self._intervals]
        if missing:
            found = None
            if self._tree is None:
                found = diagram_pairs(
                    self.simplices, self.filtration, self.landmarks, missing, self._facets
                )
            if found is None:
                found = gudhi_intervals(self.simplex_tree(), missing)
            self._intervals.update(found)
        return {q: self._intervals[q] for q in homology_dimensions}

    def features(
        self,
        homology_dimensions=None,
        *,
        min_persistence=0.0,
        top=None,
        cycles=True,
        as_frame=False,
    ):
        """Where the holes are: one row per persistence pair, most persistent first.

        A bar of H_q is born at a q-simplex and dies at a (q+1)-simplex tau, the last to
        fill the hole. The point of tau that the flood reaches last is the hole's
        ``centre`` and ``d_X`` there its ``radius``: no point of X lies within ``radius``
        of ``centre``, and ``radius >= f(tau) - tol``. The ``cycle`` is a representative
        of the class from a persistence reduction that keeps chains (Oineus,
        :mod:`flood._cycles`): for H1 in 3-D the shortest closed loop of edges that
        represents the bar, in the complex at the birth or at ``birth + tol``
        (:mod:`flood._loops`; births closer than tol have no certified order); for H2 in
        3-D the closed shell of triangles around the void's region at the earliest value
        at which each of its tetrahedra meets the void (:mod:`flood._shells`: no spikes
        into the material around it); otherwise the reduced column of tau, every simplex
        of it in the complex at the birth.

        Parameters
        ----------
        homology_dimensions : int or sequence of int, optional
            Default: the holes, ``1, ..., dim - 1`` (``0`` for 1-D points).
        min_persistence : float, default=0.0
            Leave out the pairs with ``death - birth <= min_persistence`` (and, as in
            :meth:`diagrams`, those of zero persistence up to rounding).
        top : int, optional
            Keep only the ``top`` most persistent rows.
        cycles : bool, default=True
            Compute the representative cycles (needs ``oineus``: ``pip install
            'flood-tda[cycles]'``); False takes the pairs from gudhi and leaves ``cycle``
            empty.
        as_frame : bool, default=False
            Return a pandas DataFrame (``centre`` split into ``centre_0, ...``).

        Returns
        -------
        table : ndarray (structured) of shape (n_features,) or pandas.DataFrame
            Fields ``dimension`` (int), ``birth``, ``death``, ``persistence``, ``radius``
            (float; ``death`` is ``inf`` for an essential class), ``centre`` (float, shape
            (dim,), in the points' coordinates; NaN for an essential class; for
            ``method="grid"``, which keeps no maximizers, the point of tau farthest from
            its landmarks, with the grid's value as radius), and the object fields
            ``birth_simplex`` (landmark indices, shape (q + 1,)), ``death_simplex``
            (shape (q + 2,)) and ``cycle`` (shape (n_simplices, q + 1): landmark indices
            of the cycle's q-simplices). Sorted by
            persistence, largest first. A result without maximizers (made before they
            were kept) has its centres evaluated again from the few death simplices'
            neighbourhoods in X (one pass over its chunks).

        Examples
        --------
        >>> import numpy as np
        >>> from flood import flood_complex
        >>> t = np.linspace(0, 2 * np.pi, 200, endpoint=False)
        >>> res = flood_complex(np.c_[np.cos(t), np.sin(t)], 20, device="cpu", random_state=0)
        >>> f = res.features(top=1)
        >>> int(f["dimension"][0]), bool(abs(f["radius"][0] - 1) < 0.02)
        (1, True)
        >>> bool(np.linalg.norm(f["centre"][0]) < 0.05), f["cycle"][0].shape
        (True, (20, 2))
        """
        table, self._reducer = feature_table(
            self,
            homology_dimensions,
            min_persistence,
            top,
            cycles,
            as_frame,
            owner="FloodResult.features",
            reducer=self._reducer,
        )
        return table
