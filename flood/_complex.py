"""flood_complex: certified Flood persistent homology of one point cloud."""

import time
import warnings
from dataclasses import dataclass, field
from math import comb

import numpy as np

from flood._certify import certified_bounds, propagate_bounds
from flood._delaunay import FLAT_RTOL, facet_index, triangulate
from flood._landmarks import covering_radius, farthest_point_sampling
from flood._validation import (
    check_device,
    check_landmarks,
    check_n_points,
    check_points,
    check_tol,
    distinct_rows,
)
from flood.kernels import build_tree, grid_interior_max, nearest

#: Default tolerance relative to the landmark covering radius (1%).
DEFAULT_RELATIVE_TOL = 1e-2
#: Floor of the default tolerance, relative to the median Delaunay edge length; used when
#: the covering radius is 0 or tiny (landmarks = all points).
DEFAULT_TOL_FLOOR = 1e-4


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
        Wall seconds per stage.
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

    def diagrams(self, homology_dimensions=(0, 1, 2)):
        """Persistence diagrams, one ``(n_pairs, 2)`` float array per requested dimension.

        Births and deaths are radii; essential classes die at ``inf``. Pairs of zero
        persistence are left out.
        """
        st = self.simplex_tree()
        out = []
        for q in homology_dimensions:
            d = np.asarray(st.persistence_intervals_in_dimension(int(q)), dtype=np.float64)
            out.append(d.reshape(-1, 2))
        return out


def _default_tol(cover, landmarks, edges):
    if len(edges):
        lengths = np.linalg.norm(landmarks[edges[:, 0]] - landmarks[edges[:, 1]], axis=1)
        floor = DEFAULT_TOL_FLOOR * float(np.median(lengths))
    else:
        floor = 0.0
    tol = max(DEFAULT_RELATIVE_TOL * cover, floor)
    return tol if tol > 0 else 1e-12


def _warn_if_only_landmarks_flat(Xc, rank, dim):
    """Warn when the landmarks span fewer dimensions than the cloud X itself."""
    sv = np.linalg.svd(Xc, compute_uv=False)
    x_rank = int((sv > FLAT_RTOL * sv[0]).sum()) if sv[0] > 0 else 0
    if x_rank > rank:
        warnings.warn(
            f"the landmarks lie in a {rank}-D affine subspace while the points span "
            f"{x_rank} dimensions; the complex is their {rank}-D Delaunay triangulation "
            f"(no simplices above dimension {rank}). Use more landmarks or others.",
            UserWarning,
            stacklevel=3,
        )


def flood_complex(
    points,
    landmarks=1000,
    *,
    max_dimension=None,
    tol=None,
    method="certified",
    points_per_edge=30,
    device=None,
    random_state=None,
    n_threads=2,
    progress=False,
):
    """Flood complex of a point cloud with certified filtration values.

    Picks landmarks L by farthest point sampling, triangulates them (Delaunay), and gives
    each simplex s the covering radius ``f(s) = max over y in conv(s) of min over x in X of
    |y - x|``, bounded to within ``tol`` by restricted Voronoi bounds in Warp kernels
    (:mod:`flood._certify`, :mod:`flood.kernels._voronoi`).

    Parameters
    ----------
    points : array-like of shape (n_points, dim)
        The cloud X, ``1 <= dim <= 6``.
    landmarks : int or array-like of shape (n_landmarks, dim), default=1000
        How many landmarks to pick by farthest point sampling (clamped to ``n_points`` with
        a warning), or their coordinates.
    max_dimension : int, optional
        Highest simplex dimension; default ``dim`` (needed for H_{dim-1}).
    tol : float, optional
        Certified gap ``upper - lower`` per simplex. Default: 1% of the landmark covering
        radius, but at least 1e-4 times the median Delaunay edge length (the covering radius
        is 0 when the landmarks are all the points). ``tol=0`` gives the exact Flood
        filtration: every value is then the exact maximum of d_X over its simplex up to float
        rounding (``upper - lower`` about 1e-10 of the simplex's scale), found where phi_S
        meets d_X at its maximizer (see :mod:`flood.kernels._voronoi`).
    method : {"certified", "grid"}, default="certified"
        ``"grid"`` reproduces flooder's estimate (``points_per_edge`` grid points per edge,
        each face the maximum over its grid points); it certifies nothing.
    points_per_edge : int, default=30
        Grid resolution for ``method="grid"``.
    device : str, optional
        Warp device, ``"cpu"`` or ``"cuda[:n]"``; default CUDA when present.
    random_state : int, numpy Generator or None
        Seeds the farthest point sampling.
    n_threads : int, default=2
        Threads sharing the certified refinement on the CPU.
    progress : bool, default=False
        Show tqdm progress bars.

    Returns
    -------
    result : FloodResult

    Notes
    -----
    Input rules (see :mod:`flood._validation`): ``points`` may be any real array-like
    (integer, bool, float16/32 input is converted to float64 and gives the float64 result);
    NaN/inf rows, ragged rows, non-numeric or complex data, a wrong number of axes, no
    points, or fewer than ``dim + 1`` points are refused with a ValueError or TypeError
    naming the rule and the value. An int ``landmarks`` larger than ``n_points`` is clamped
    with a warning. Landmark coordinates need not be points of X: a vertex then gets
    ``d_X(l)`` and ``landmark_indices`` is None.

    Degenerate geometry: duplicate landmarks (also FPS on a cloud with fewer distinct points
    than landmarks) are reduced to the distinct ones with a warning, so all points equal
    gives one vertex. Landmarks in a flat position (collinear, coplanar, ...) are
    triangulated in their affine hull, which is their Delaunay complex in R^dim; simplices
    above the hull's dimension are then empty, and a warning is given when X itself is not
    flat. Filtration values are always computed in the original coordinates, so they are
    exact for those simplices whether or not X lies in the hull (see
    :mod:`flood._delaunay`).

    Examples
    --------
    >>> import numpy as np
    >>> from flood import flood_complex
    >>> t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    >>> circle = np.c_[np.cos(t), np.sin(t)]
    >>> res = flood_complex(circle, landmarks=40, random_state=0, device="cpu")
    >>> h0, h1 = res.diagrams(homology_dimensions=(0, 1))
    >>> int(np.isinf(h1[:, 1]).sum()), bool(h1[:, 1].max() > 0.8)
    (0, True)
    >>> res.max_gap <= res.tol
    True
    """
    timings = {}
    t0 = time.perf_counter()
    X = check_points(points)
    n, dim = X.shape
    check_n_points(n, dim)
    landmarks = check_landmarks(landmarks, n, dim)
    tol = check_tol(tol)
    if method not in ("certified", "grid"):
        raise ValueError(
            f"The 'method' parameter must be 'certified' or 'grid'. Got {method!r} instead."
        )
    if (
        isinstance(points_per_edge, bool)
        or not isinstance(points_per_edge, (int, np.integer))
        or points_per_edge < 2
    ):
        raise ValueError(
            f"The 'points_per_edge' parameter must be an int in the range "
            f"[2, inf). Got {points_per_edge!r} instead."
        )
    if max_dimension is None:
        max_dimension = dim
    if (
        isinstance(max_dimension, bool)
        or not isinstance(max_dimension, (int, np.integer))
        or not 0 <= max_dimension <= dim
    ):
        raise ValueError(
            f"The 'max_dimension' parameter must be an int in the range "
            f"[0, {dim}] for {dim}-D points. Got {max_dimension!r} instead."
        )
    device = check_device(device)
    shift = X.mean(axis=0)
    Xc = X - shift

    tree = build_tree(Xc, device=device)
    inverse = np.empty(n, dtype=np.int32)
    inverse[tree.order] = np.arange(n, dtype=np.int32)
    timings["index"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    if isinstance(landmarks, int):
        lm_idx = farthest_point_sampling(Xc, landmarks, random_state=random_state)
        # FPS repeats points only when X has fewer distinct points than landmarks
        lm_idx = lm_idx[distinct_rows(Xc[lm_idx], "points")]
        L = Xc[lm_idx]
        sites = inverse[lm_idx]
        vertex_values = np.zeros(len(L))
    else:
        L = landmarks[distinct_rows(landmarks, "landmarks")] - shift
        site_tree, vertex_values = nearest(tree, L)
        sites = site_tree.astype(np.int32)
        lm_idx = tree.order[sites] if np.all(vertex_values == 0) else None
    cover = covering_radius(tree, L, device=device, n_threads=n_threads)
    timings["landmarks"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    simplices, rank = triangulate(L, max_dimension)
    if rank < min(dim, max_dimension) and len(L) > rank + 1:
        _warn_if_only_landmarks_flat(Xc, rank, dim)
    facets = [None, None] + [
        facet_index(simplices[k], simplices[k - 1], len(L)) for k in range(2, len(simplices))
    ]
    timings["delaunay"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    evaluations, work = {}, {}
    if method == "grid":
        values = [vertex_values.copy()]
        for k in range(1, len(simplices)):
            inner = grid_interior_max(tree, L, sites, simplices[k], points_per_edge)
            if k == 1:
                faces = vertex_values[simplices[1]].max(axis=1)
            else:
                faces = values[k - 1][facets[k]].max(axis=1)
            values.append(np.maximum(inner, faces))
            evaluations[k] = comb(points_per_edge - 2, k)  # interior grid points per simplex
        lower = upper = None
        filtration = values
        tol_used = float("nan")
    else:
        edges = simplices[1] if len(simplices) > 1 else np.empty((0, 2), dtype=np.int64)
        tol_used = tol if tol is not None else _default_tol(cover, L, edges)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=sum(len(s) for s in simplices[1:]), desc="filtration", unit="simplex")
        lower, upper, stats = certified_bounds(
            tree,
            L,
            sites,
            simplices,
            facets,
            tol_used,
            vertex_values=vertex_values,
            n_threads=n_threads,
            progress=(lambda k, m: bar.update(m)) if bar is not None else None,
        )
        if bar is not None:
            bar.close()
        lower, upper, filtration = propagate_bounds(lower, upper, facets)
        evaluations = {k: v / max(len(simplices[k]), 1) for k, v in stats.queries.items()}
        work = {"max_sites": stats.max_sites, "splits": stats.splits}
    timings["filtration"] = time.perf_counter() - t3

    return FloodResult(
        landmarks=X[lm_idx] if lm_idx is not None else L + shift,
        landmark_indices=None if lm_idx is None else np.asarray(lm_idx, dtype=np.int64),
        covering_radius=cover,
        simplices=simplices,
        lower=lower,
        upper=upper,
        filtration=filtration,
        tol=tol_used,
        method=method,
        timings=timings,
        evaluations=evaluations,
        work=work,
    )
