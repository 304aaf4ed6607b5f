"""FloodResult: the Flood complex of a point cloud, its certified filtration and persistence.

What :func:`flood.flood_complex` returns, for a NumPy array and for a dask array alike.
"""

from dataclasses import dataclass, field

import numpy as np

from flood._diagrams import persistence_diagrams, zero_persistence_threshold
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
    _tree: object = field(default=None, repr=False)

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
        pairs with ``death - birth <= min_persistence``.

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
        >>> res = flood_complex(np.c_[np.cos(t), np.sin(t)], 20, device="cpu")
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
        return persistence_diagrams(self.simplex_tree(), dims, min_persistence, threshold)
