"""FloodComplex: persistence diagrams of many point clouds, as a scikit-learn transformer."""

import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn import get_config

# _fit_context, Interval and StrOptions have no public alias (scikit-learn 1.9)
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from flood._complex import flood_complex
from flood._validation import (
    DEFAULT_N_THREADS,
    METHODS,
    check_clouds,
    check_device,
    check_homology_dimensions,
)

__all__ = ["FloodComplex"]


def _sample_error(index, exc):
    """The exception ``exc`` of sample ``index``, re-created with the index in its message."""
    message = f"sample {index} failed: {exc}"
    try:
        return type(exc)(message)
    except TypeError:  # an exception type whose constructor wants other arguments
        return RuntimeError(message)


#: Errors of one cloud that are re-raised with its index (same type where possible): bad
#: input, Warp and file-system failures, memory. Others (bugs, interrupts) pass unchanged.
SAMPLE_ERRORS = (ValueError, TypeError, ArithmeticError, RuntimeError, OSError, MemoryError)


def _sample_diagrams(index, points, seed, homology_dimensions, min_persistence, options):
    """Diagrams of one cloud: the unit of work shipped to joblib workers (picklable).

    Returns a list with one ``(n_pairs, 2)`` float64 array per homology dimension.
    """
    possible = [q for q in homology_dimensions if q < points.shape[1]]  # others: warned in fit
    try:
        result = flood_complex(points, random_state=seed, **options)
        found = result.diagrams(possible, min_persistence=min_persistence) if possible else []
    except SAMPLE_ERRORS as exc:
        raise _sample_error(index, exc) from exc
    found = dict(zip(possible, found, strict=True))
    return [
        np.ascontiguousarray(found.get(q, np.empty((0, 2))), dtype=np.float64).reshape(-1, 2)
        for q in homology_dimensions
    ]


class FloodComplex(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Flood-complex persistence diagrams of many point clouds.

    A stateless transformer: ``fit`` validates the parameters and records the dimension
    of the clouds; ``transform`` runs :func:`flood.flood_complex` on each cloud, in
    parallel through joblib, and returns its diagrams.

    Parameters
    ----------
    n_landmarks : int, default=1000
        Landmarks per cloud (farthest point sampling); clamped to the size of smaller
        clouds, with one warning per ``transform``.
    homology_dimensions : int or sequence of int, default=None
        Homology dimensions to return, in this order (a bare int ``q`` means ``(q,)``);
        default every dimension the clouds can have, ``0, ..., dim - 1``. Simplices up to
        dimension ``max(homology_dimensions) + 1`` are built (at most the point
        dimension), so asking for fewer dimensions is faster; values then agree within
        ``tol``. Repeated dimensions are refused; a dimension ``>= dim`` gives a warning
        in ``fit`` and empty diagrams (H_q of a subset of R^dim is 0 for q >= dim).
    tol : float, default=None
        Certified gap per simplex; default 1% of each cloud's landmark covering radius;
        0 for the exact filtration.
    method : {"certified", "grid"}, default="certified"
        See :func:`flood.flood_complex`.
    points_per_edge : int, default=30
        Grid resolution for ``method="grid"``.
    min_persistence : float, default=0.0
        Leave out the pairs with ``death - birth <= min_persistence`` (pairs of zero
        persistence up to rounding are always left out).
    device : str, default=None
        Warp device, ``"cpu"`` or ``"cuda[:n]"``; default ``"cpu"`` (CUDA is opt-in until
        ``benchmarks/gpu_check.py`` has passed on a GPU).
    n_jobs : int, default=None
        Clouds processed at once by ``joblib.Parallel``; ``None`` means 1 unless in a
        ``joblib.parallel_backend`` context (e.g. ``"dask"``), -1 all processors. With
        several jobs each cloud uses one thread.
    random_state : int, RandomState instance or None, default=None
        Draws one seed per sample (for its farthest point sampling), so the output does
        not depend on ``n_jobs`` or on the joblib backend.
    verbose : bool or int, default=False
        Show a tqdm progress bar over the clouds.

    Attributes
    ----------
    dim_ : int
        Dimension of the points of the clouds seen in ``fit``.
    n_samples_fit_ : int
        Number of clouds seen in ``fit``.
    device_ : str
        The resolved Warp device.

    See Also
    --------
    flood.flood_complex : The Flood complex of one cloud.
    flood.PersistenceFeatures : Turns the diagrams into a feature matrix.

    Notes
    -----
    The output of ``transform`` is a list with one entry per cloud, each a list with one
    ``(n_pairs, 2)`` float64 array of (birth, death) radii per entry of
    ``homology_dimensions`` (deaths are ``inf`` for essential classes), the format of
    ``gudhi.representations``. With ``set_output(transform="pandas")`` it is a DataFrame
    with one object column of such arrays per dimension, named ``"H0"``, ``"H1"``, ...

    To run on a Dask cluster, call ``transform`` inside ``with
    joblib.parallel_backend("dask"):`` with a ``dask.distributed.Client`` connected; the
    output equals the serial one.

    Examples
    --------
    >>> from flood import FloodComplex
    >>> from flood.datasets import make_circle
    >>> X = [make_circle(300, random_state=i) for i in range(3)]
    >>> fc = FloodComplex(n_landmarks=30, homology_dimensions=(0, 1), device="cpu",
    ...                   random_state=0)
    >>> diagrams = fc.fit_transform(X)
    >>> len(diagrams), [d.shape[1] for d in diagrams[0]]
    (3, [2, 2])
    >>> [bool((h1[:, 1] - h1[:, 0]).max() > 0.5) for h0, h1 in diagrams]
    [True, True, True]
    >>> fc.get_feature_names_out().tolist()
    ['H0', 'H1']
    """

    _parameter_constraints: dict = {
        "n_landmarks": [Interval(Integral, 1, None, closed="left")],
        "homology_dimensions": ["array-like", Integral, None],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "method": [StrOptions(set(METHODS))],
        "points_per_edge": [Interval(Integral, 2, None, closed="left")],
        "min_persistence": [Interval(Real, 0, None, closed="left")],
        "device": [str, None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        n_landmarks=1000,
        homology_dimensions=None,
        tol=None,
        method=METHODS[0],
        points_per_edge=30,
        min_persistence=0.0,
        device=None,
        n_jobs=None,
        random_state=None,
        verbose=False,
    ):
        self.n_landmarks = n_landmarks
        self.homology_dimensions = homology_dimensions
        self.tol = tol
        self.method = method
        self.points_per_edge = points_per_edge
        self.min_persistence = min_persistence
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def _check_homology_dimensions(self, dim, warn=False):
        """The dimensions asked for (default ``0, ..., dim - 1``), by the shared rule."""
        dims = self.homology_dimensions
        if isinstance(dims, np.ndarray) and dims.ndim == 1:
            dims = dims.tolist()
        return check_homology_dimensions(
            tuple(range(dim)) if dims is None else dims,
            dim if warn else None,
            owner="The 'homology_dimensions' parameter of FloodComplex",
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters and the clouds; record their dimension.

        Parameters
        ----------
        X : sequence of array-like of shape (n_points_i, dim), or array-like of shape \
(n_samples, n_points, dim)
            Point clouds; sizes may differ, all have the same ``dim``.
        y : None
            Ignored.

        Returns
        -------
        self : FloodComplex
            The fitted transformer.
        """
        self.device_ = check_device(self.device)
        clouds = check_clouds(X)
        dim = clouds[0].shape[1]
        self._check_homology_dimensions(dim, warn=True)
        if self.n_landmarks < dim + 1:
            raise ValueError(
                f"The 'n_landmarks' parameter of FloodComplex must be at least dim + 1 = "
                f"{dim + 1} for {dim}-D clouds. Got {self.n_landmarks!r} instead."
            )
        self.dim_ = dim
        self.n_samples_fit_ = len(clouds)
        return self

    def transform(self, X):
        """Persistence diagrams of each cloud.

        Parameters
        ----------
        X : sequence of array-like of shape (n_points_i, dim_), or array-like of shape \
(n_samples, n_points, dim_)
            Point clouds.

        Returns
        -------
        diagrams : list of list of ndarray of shape (n_pairs, 2), or DataFrame
            ``diagrams[i][j]`` holds the (birth, death) pairs of sample ``i`` in homology
            dimension ``homology_dimensions[j]``; a DataFrame of shape
            (n_samples, n_dimensions) with object columns under
            ``set_output(transform="pandas")``.
        """
        check_is_fitted(self)
        output = getattr(self, "_sklearn_output_config", {}).get("transform")
        output = output or get_config()["transform_output"]
        if output not in ("default", "pandas"):
            raise ValueError(
                f"FloodComplex supports the 'default' and 'pandas' outputs; got {output!r}."
            )
        clouds = check_clouds(X, dim=self.dim_, why="as in fit")
        hdims = self._check_homology_dimensions(self.dim_)
        small = [i for i, c in enumerate(clouds) if len(c) < self.n_landmarks]
        if small:
            warnings.warn(
                f"n_landmarks={self.n_landmarks} exceeds the size of {len(small)} "
                f"cloud(s) (first: X[{small[0]}] with {len(clouds[small[0]])} "
                "points); all their points are used as landmarks.",
                UserWarning,
                stacklevel=2,
            )
        seeds = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max, size=len(clouds)
        )
        options = dict(
            max_dimension=min(self.dim_, max(hdims) + 1),
            tol=self.tol,
            method=self.method,
            points_per_edge=self.points_per_edge,
            device=self.device_,
            n_threads=DEFAULT_N_THREADS if effective_n_jobs(self.n_jobs) == 1 else 1,
        )
        tasks = (
            delayed(_sample_diagrams)(
                i,
                c,
                int(s),
                hdims,
                self.min_persistence,
                dict(options, landmarks=min(self.n_landmarks, len(c))),
            )
            for i, (c, s) in enumerate(zip(clouds, seeds, strict=True))
        )
        results = Parallel(n_jobs=self.n_jobs, return_as="generator")(tasks)
        if self.verbose:
            from tqdm.auto import tqdm

            results = tqdm(results, total=len(clouds), desc="FloodComplex", unit="cloud")
        diagrams = list(results)
        if output == "pandas":
            return self._to_frame(diagrams)
        return diagrams

    def _to_frame(self, diagrams):
        import pandas as pd

        columns = {}
        for j, name in enumerate(self.get_feature_names_out()):
            column = np.empty(len(diagrams), dtype=object)
            for i, sample in enumerate(diagrams):
                column[i] = sample[j]
            columns[name] = column
        return pd.DataFrame(columns)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``"H<q>"`` per homology dimension.

        Parameters
        ----------
        input_features : None
            Ignored (the input is point clouds, not named columns).

        Returns
        -------
        feature_names_out : ndarray of str objects of shape (n_dimensions,)
        """
        check_is_fitted(self)
        dims = self._check_homology_dimensions(self.dim_)
        return np.asarray([f"H{q}" for q in dims], dtype=object)

    def set_output(self, *, transform=None):
        """Set the container of ``transform`` and ``fit_transform``.

        Parameters
        ----------
        transform : {"default", "pandas"}, default=None
            ``"default"``: nested lists of diagrams; ``"pandas"``: a DataFrame with one
            object column of diagrams per homology dimension; ``None``: unchanged.

        Returns
        -------
        self : FloodComplex
        """
        if transform is None:
            return self
        if transform not in ("default", "pandas"):
            raise ValueError(
                "The 'transform' parameter of FloodComplex.set_output must be "
                f"'default', 'pandas' or None. Got {transform!r} instead."
            )
        if not hasattr(self, "_sklearn_output_config"):
            self._sklearn_output_config = {}
        self._sklearn_output_config["transform"] = transform
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
