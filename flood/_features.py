"""PersistenceFeatures: a feature matrix from persistence diagrams, one vectorizer per dimension."""

from numbers import Integral

import numpy as np

# _fit_context, Interval and StrOptions have no public alias (scikit-learn 1.9)
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["PersistenceFeatures"]

#: Statistics of the finite persistences ``death - birth`` for ``vectorizer="stats"``.
STATISTICS = (
    "count",
    "total_persistence",
    "max_persistence",
    "mean_persistence",
    "std_persistence",
    "entropy",
    "q25_persistence",
    "q50_persistence",
    "q75_persistence",
)
#: Allowed ``vectorizer`` values.
VECTORIZERS = ("atol", "betti", "image", "landscape", "stats", "weighted_atol")
#: Default ``vectorizer``: Betti curves count the bars alive at each scale, so a few long bars
#: among thousands of short ones still move them; on the swiss-cheese and rock tasks of
#: ``benchmarks/features.py`` they scored best or within one cloud of best (issue 31).
DEFAULT_VECTORIZER = "betti"
#: Default ``resolution`` per vectorizer (pixels per side for "image").
DEFAULT_RESOLUTION = {"image": 10, "landscape": 50, "betti": 50}
#: Number of landscapes sampled by ``vectorizer="landscape"``.
N_LANDSCAPES = 5


def check_diagrams(X):
    """Validate persistence diagrams: a list per sample of ``(n_pairs, 2)`` float64 arrays.

    Parameters
    ----------
    X : sequence of sequence of array-like of shape (n_pairs, 2), or DataFrame
        ``X[i][j]``: the diagram of sample ``i`` in the ``j``-th homology dimension; a
        DataFrame holds one diagram per cell.

    Returns
    -------
    diagrams : list of list of ndarray of shape (n_pairs, 2)
    """
    if hasattr(X, "itertuples"):
        X = [list(row) for row in X.itertuples(index=False, name=None)]
    if X is None or isinstance(X, (str, bytes, dict)) or not hasattr(X, "__iter__"):
        raise TypeError(
            "X must be a sequence (one per sample) of sequences of diagrams of "
            f"shape (n_pairs, 2); got {type(X).__name__}."
        )
    out = []
    for i, sample in enumerate(X):
        if (
            isinstance(sample, (str, bytes, dict))
            or not hasattr(sample, "__iter__")
            or (isinstance(sample, np.ndarray) and sample.dtype != object)
        ):
            raise ValueError(
                f"X[{i}] must be a sequence of diagrams, one per homology "
                f"dimension; got {type(sample).__name__} of shape "
                f"{np.shape(sample)}."
            )
        row = []
        for j, diagram in enumerate(sample):
            d = np.asarray(diagram, dtype=np.float64)
            if d.size == 0:
                d = d.reshape(0, 2)
            if d.ndim != 2 or d.shape[1] != 2:
                raise ValueError(f"X[{i}][{j}] has shape {d.shape}; expected (n_pairs, 2).")
            if np.isnan(d).any():
                raise ValueError(
                    f"X[{i}][{j}] contains NaN; births and deaths must be "
                    "numbers (inf for essential classes)."
                )
            row.append(d)
        if out and len(row) != len(out[0]):
            raise ValueError(f"X[{i}] holds {len(row)} diagram(s); expected {len(out[0])} as X[0].")
        out.append(row)
    if not out or not out[0]:
        raise ValueError("X must hold at least one sample with at least one diagram.")
    return out


def diagram_statistics(diagram):
    """The ``STATISTICS`` of the finite bars of one diagram (all zero when there are none).

    Parameters
    ----------
    diagram : ndarray of shape (n_pairs, 2)
        Finite (birth, death) pairs.

    Returns
    -------
    stats : ndarray of shape (9,)
        Count, total, max, mean and standard deviation of the persistences, persistent
        entropy ``-sum p log p`` with ``p = persistence / total``, and their quartiles.
    """
    pers = diagram[:, 1] - diagram[:, 0]
    if len(pers) == 0:
        return np.zeros(len(STATISTICS))
    total = pers.sum()
    p = pers[pers > 0] / total if total > 0 else np.empty(0)
    entropy = float(-(p * np.log(p)).sum())
    q25, q50, q75 = np.quantile(pers, [0.25, 0.5, 0.75])
    return np.array([len(pers), total, pers.max(), pers.mean(), pers.std(), entropy, q25, q50, q75])


def _persistence_weight(point):
    """Weight of a (birth, persistence) point in a persistence image: its persistence."""
    return point[1]


def _widen(lo, hi):
    """A non-empty interval ``[lo, hi]`` (degenerate ranges are widened by 5%, or by 1)."""
    if hi > lo:
        return float(lo), float(hi)
    pad = 0.05 * abs(lo) if lo != 0 else 1.0
    return float(lo - pad), float(hi + pad)


class PersistenceFeatures(TransformerMixin, BaseEstimator):
    """Feature matrix from persistence diagrams: one fitted vectorizer per homology dimension.

    Infinite bars are dropped; a diagram with no finite bar gives a row of zeros. Each
    vectorizer is fitted on the training diagrams only and wraps a
    ``gudhi.representations`` object (kept in ``vectorizers_``).

    Parameters
    ----------
    vectorizer : {"betti", "atol", "weighted_atol", "image", "landscape", "stats"}, \
            default="betti"
        - ``"betti"``: Betti curve at ``resolution`` points (the number of bars alive at
          each scale). The default: it keeps the count of persistent bars that Atol's
          centres miss when thousands of near-diagonal bars draw them (48 swiss-cheese
          clouds of 100,000 points, 8 vs 16 voids, 1,000 landmarks, 3-fold accuracy of
          ``PersistenceFeatures -> StandardScaler -> LogisticRegression``: 0.96 vs 0.77
          for ``"atol"``; ``benchmarks/features.py``, ``benchmarks/RESULTS_classification.md``);
        - ``"atol"``: ``gudhi.representations.Atol`` on (birth, persistence) points with
          ``n_centers`` k-means++ centres and exponential (Laplacian) contrast
          ``exp(-|x - c| / sigma_c)``, each bar counting once, as in the Flood-complex paper
          (and this class's default before issue 31);
        - ``"weighted_atol"``: ``"atol"`` with each bar weighted by its persistence, in the
          k-means++ centring and in the sum ``sum_x pers(x) exp(-|x - c| / sigma_c)``: the
          persistent bars place the centres and carry the features (0.98 on the clouds
          above, but less steady than ``"betti"`` on small clouds);
        - ``"image"``: persistence image (weight: persistence), ``resolution**2`` pixels;
        - ``"landscape"``: the first 5 persistence landscapes at ``resolution`` points;
        - ``"stats"``: :data:`STATISTICS` of the persistences (nothing to fit).
    n_centers : int, default=8
        Centres per homology dimension for ``"weighted_atol"`` and ``"atol"``.
    resolution : int, default=None
        Samples per axis for ``"image"`` (default 10), ``"landscape"`` and ``"betti"``
        (default 50). Ranges are fitted to the training diagrams.
    random_state : int, RandomState instance or None, default=None
        Seeds k-means++ for ``"weighted_atol"`` and ``"atol"``.

    Attributes
    ----------
    vectorizers_ : list of object or None
        Fitted gudhi vectorizer per input diagram; None for ``"stats"`` and for a
        dimension without finite bars in training (its features are then zero).
    n_features_in_ : int
        Diagrams per sample (homology dimensions).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a DataFrame input, e.g. ``["H0", "H1"]``; only set then.

    See Also
    --------
    flood.FloodComplex : Computes the diagrams this transformer takes.

    Examples
    --------
    >>> import numpy as np
    >>> from flood import PersistenceFeatures
    >>> X = [[np.array([[0.0, 0.5], [0.1, np.inf]]), np.array([[0.2, 0.9]])],
    ...      [np.array([[0.0, 0.3]]), np.empty((0, 2))]]
    >>> pf = PersistenceFeatures(vectorizer="stats").fit(X)
    >>> pf.transform(X).shape
    (2, 18)
    >>> pf.get_feature_names_out(["H0", "H1"])[:3].tolist()
    ['H0_count', 'H0_total_persistence', 'H0_max_persistence']
    >>> PersistenceFeatures().fit_transform(X).shape  # Betti curves, 50 points each
    (2, 100)
    >>> PersistenceFeatures(vectorizer="atol", n_centers=2, random_state=0).fit_transform(X).shape
    (2, 4)
    """

    _parameter_constraints: dict = {
        "vectorizer": [StrOptions(set(VECTORIZERS))],
        "n_centers": [Interval(Integral, 1, None, closed="left")],
        "resolution": [Interval(Integral, 2, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self, *, vectorizer=DEFAULT_VECTORIZER, n_centers=8, resolution=None, random_state=None
    ):
        self.vectorizer = vectorizer
        self.n_centers = n_centers
        self.resolution = resolution
        self.random_state = random_state

    def _resolution(self):
        return self.resolution or DEFAULT_RESOLUTION.get(self.vectorizer, 0)

    def _width(self):
        """Number of features per homology dimension."""
        r = self._resolution()
        return {
            "weighted_atol": self.n_centers,
            "atol": self.n_centers,
            "image": r * r,
            "landscape": N_LANDSCAPES * r,
            "betti": r,
            "stats": len(STATISTICS),
        }[self.vectorizer]

    def _finite(self, X):
        """Per input dimension, the list of finite diagrams of all samples."""
        diagrams = check_diagrams(X)
        n = len(diagrams[0])
        return [[s[j][np.isfinite(s[j]).all(axis=1)] for s in diagrams] for j in range(n)]

    def _fit_one(self, diagrams, seed):
        from gudhi.representations import BettiCurve, Landscape, PersistenceImage

        points = np.concatenate(diagrams)
        if self.vectorizer == "stats" or len(points) == 0:
            return None
        births, deaths = points[:, 0], points[:, 1]
        r = self._resolution()
        if self.vectorizer in ("weighted_atol", "atol"):
            return self._fit_atol(diagrams, seed)
        if self.vectorizer == "image":
            bx = _widen(births.min(), births.max())
            py = _widen(0.0, (deaths - births).max())
            bandwidth = max(bx[1] - bx[0], py[1] - py[0]) / r
            return PersistenceImage(
                bandwidth=bandwidth,
                weight=_persistence_weight,
                resolution=[r, r],
                im_range=[*bx, *py],
            ).fit(diagrams)
        sample_range = list(_widen(births.min(), deaths.max()))
        if self.vectorizer == "landscape":
            return Landscape(
                num_landscapes=N_LANDSCAPES, resolution=r, sample_range=sample_range
            ).fit(diagrams)
        return BettiCurve(resolution=r, sample_range=sample_range).fit(diagrams)

    def _atol_weights(self, measures):
        """Weight of each (birth, persistence) point: its persistence for "weighted_atol",
        None (each point once) for "atol"."""
        if self.vectorizer == "atol":
            return None
        return [m[:, 1] for m in measures]

    def _fit_atol(self, diagrams, seed):
        """Atol with ``n_centers`` k-means++ centres (fewer where there are fewer distinct
        points of positive weight: the missing centres' features stay zero)."""
        from gudhi.representations import Atol
        from sklearn.cluster import KMeans

        measures = [_birth_persistence(d) for d in diagrams]
        weights = self._atol_weights(measures)
        points = np.concatenate(measures)
        weight = np.ones(len(points)) if weights is None else np.concatenate(weights)
        distinct, index = np.unique(points[weight > 0], axis=0, return_inverse=True)
        if len(distinct) == 0:
            return None
        k = min(self.n_centers, len(distinct))
        if k < self.n_centers:  # one point per distinct position, with their summed weight
            measures = [distinct]
            weights = [np.bincount(index.ravel(), weights=weight[weight > 0])]
            weights = None if self.vectorizer == "atol" else weights
        quantiser = KMeans(n_clusters=k, init="k-means++", n_init=4, random_state=seed)
        return Atol(quantiser=quantiser, contrast="laplacian").fit(measures, sample_weight=weights)

    def _transform_one(self, vectorizer, diagrams):
        out = np.zeros((len(diagrams), self._width()))
        if self.vectorizer == "stats":
            for i, d in enumerate(diagrams):
                out[i] = diagram_statistics(d)
            return out
        rows = [i for i, d in enumerate(diagrams) if len(d)]
        if vectorizer is None or not rows:
            return out
        chosen = [diagrams[i] for i in rows]
        if self.vectorizer in ("weighted_atol", "atol"):
            chosen = [_birth_persistence(d) for d in chosen]
            values = vectorizer.transform(chosen, sample_weight=self._atol_weights(chosen))
        else:
            values = vectorizer.transform(chosen)
        values = np.asarray(values, dtype=np.float64)
        out[rows, : values.shape[1]] = values
        return out

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit one vectorizer per homology dimension on the finite bars of ``X``.

        Parameters
        ----------
        X : sequence of sequence of array-like of shape (n_pairs, 2), or DataFrame
            Diagrams as returned by :class:`flood.FloodComplex`.
        y : None
            Ignored.

        Returns
        -------
        self : PersistenceFeatures
            The fitted transformer.
        """
        _record_feature_names(self, X, reset=True)
        per_dim = self._finite(X)
        seeds = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max, size=len(per_dim)
        )
        self.vectorizers_ = [self._fit_one(d, int(s)) for d, s in zip(per_dim, seeds, strict=True)]
        self.n_features_in_ = len(per_dim)
        return self

    def transform(self, X):
        """Feature matrix: the vectorized diagrams of each dimension, side by side.

        Parameters
        ----------
        X : sequence of sequence of array-like of shape (n_pairs, 2), or DataFrame
            Diagrams with ``n_features_in_`` dimensions per sample.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_in_ * n_per_dimension)
        """
        check_is_fitted(self)
        _record_feature_names(self, X, reset=False)
        per_dim = self._finite(X)
        if len(per_dim) != self.n_features_in_:
            raise ValueError(
                f"X has {len(per_dim)} diagram(s) per sample; "
                f"PersistenceFeatures was fitted with {self.n_features_in_}."
            )
        return np.hstack(
            [self._transform_one(v, d) for v, d in zip(self.vectorizers_, per_dim, strict=True)]
        )

    def get_feature_names_out(self, input_features=None):
        """Output feature names: ``"<dimension>_<vectorizer>_<k>"`` or ``"<dimension>_<stat>"``.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Names of the homology dimensions (as from
            :meth:`FloodComplex.get_feature_names_out`); default ``feature_names_in_``
            or ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        names = self._input_names(input_features)
        suffixes = (
            list(STATISTICS)
            if self.vectorizer == "stats"
            else [f"{self.vectorizer}_{k}" for k in range(self._width())]
        )
        return np.asarray([f"{n}_{s}" for n in names for s in suffixes], dtype=object)

    def _input_names(self, input_features):
        """``input_features`` checked against the fit, else ``feature_names_in_`` or x0..."""
        fitted = getattr(self, "feature_names_in_", None)
        if input_features is None:
            if fitted is not None:
                return fitted
            return np.asarray([f"x{j}" for j in range(self.n_features_in_)], dtype=object)
        names = np.asarray(input_features, dtype=object)
        if fitted is not None and not np.array_equal(fitted, names):
            raise ValueError(
                "The 'input_features' parameter of PersistenceFeatures.get_feature_names_out "
                f"must equal feature_names_in_ {fitted.tolist()}. Got {names.tolist()} instead."
            )
        if len(names) != self.n_features_in_:
            raise ValueError(
                "The 'input_features' parameter of PersistenceFeatures.get_feature_names_out "
                f"must hold {self.n_features_in_} name(s), one per diagram. Got "
                f"{names.tolist()} instead."
            )
        return names

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags


def _record_feature_names(estimator, X, reset):
    """Set (``reset``) or check ``feature_names_in_`` from a DataFrame's columns, and nothing
    else: ``ensure_2d=False`` skips scikit-learn's feature count, which does not apply to
    diagrams (:meth:`PersistenceFeatures.transform` checks the number of diagrams)."""
    validate_data(estimator, X, reset=reset, skip_check_array=True, ensure_2d=False)


def _birth_persistence(diagram):
    """(birth, death) -> (birth, death - birth)."""
    return np.c_[diagram[:, 0], diagram[:, 1] - diagram[:, 0]]
