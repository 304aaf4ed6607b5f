"""Converters between flood's diagrams and the formats of giotto-tda and persim.

flood's one diagram format (:mod:`flood._diagrams`): the diagrams of one sample are a list
with one float64 array of shape (n_pairs, 2) of (birth, death) pairs per homology
dimension, essential classes dying at ``inf``; :class:`flood.FloodComplex` returns one such
list per sample. The converters are named ``to_<library>`` / ``from_<library>`` after the
library whose format they write or read (as pandas' ``to_numpy``), so a pipeline reads
``to_giotto(FloodComplex().fit_transform(X))``; the inverse of each is exact (round trip).

- giotto-tda: one array of shape (n_samples, n_points, 3) of (birth, death, homology
  dimension) triples, padded so that every sample holds the same number of points per
  dimension (rule of ``gtda.homology._utils._pad_diagram``, see :func:`to_giotto`).
- persim (and ripser.py): the diagrams of one sample as a list of (n_pairs, 2) arrays whose
  index is the homology dimension, ``dgms[q]`` holding H_q, essential deaths ``inf``.
"""

import numbers

import numpy as np

from flood._diagrams import Diagrams
from flood._validation import _refusal, check_homology_dimensions

#: Columns of a giotto-tda triple: birth, death, homology dimension.
GIOTTO_COLUMNS = 3


def _check_diagram(values, name):
    """A float64 array of shape (n_pairs, 2): finite births, no NaN, ``death >= birth``."""
    if isinstance(values, (str, bytes)) or values is None:
        raise _refusal(TypeError, name, f"is {type(values).__name__}", "an array of (birth, death)")
    try:
        dgm = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} is not a real array ({exc}); expected (n_pairs, 2).") from exc
    if dgm.size == 0:
        return np.empty((0, 2))
    if dgm.ndim != 2 or dgm.shape[1] != 2:
        raise _refusal(ValueError, name, f"has shape {dgm.shape}", "(n_pairs, 2)")
    if np.isnan(dgm).any() or not np.isfinite(dgm[:, 0]).all():
        raise _refusal(ValueError, name, "has NaN or infinite births", "finite births, no NaN")
    bad = np.flatnonzero(dgm[:, 1] < dgm[:, 0])
    if len(bad):
        raise _refusal(
            ValueError,
            name,
            f"row {bad[0]} {dgm[bad[0]].tolist()} has death < birth",
            "death >= birth",
        )
    return dgm


def _check_infinity(value, owner):
    """A real number that is not NaN (``inf`` allowed): what essential deaths become."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or np.isnan(value)
        or value == -np.inf
    ):
        raise ValueError(
            f"{owner} must be a float in the range (-inf, inf]. Got {value!r} instead."
        )
    return float(value)


def _sample_list(sample, name):
    """The entries of one sample's diagrams, refusing one bare diagram in its place."""
    if isinstance(sample, (str, bytes)) or not hasattr(sample, "__len__"):
        raise _refusal(
            TypeError, name, f"is {type(sample).__name__}", "a list of (n_pairs, 2) arrays"
        )
    if isinstance(sample, np.ndarray) and sample.ndim == 2:
        raise _refusal(
            ValueError,
            name,
            f"is one array of shape {sample.shape}",
            "a list with one (n_pairs, 2) array per homology dimension (wrap one diagram: [dgm])",
        )
    return list(sample)


def _dimensions_of(samples, homology_dimensions, owner):
    """The homology dimensions: given, else those the Diagrams record, else 0, 1, ..."""
    if homology_dimensions is not None:
        return check_homology_dimensions(homology_dimensions, owner=owner)
    recorded = {getattr(s, "homology_dimensions", None) for s in samples} - {None}
    if len(recorded) > 1:
        raise ValueError(
            f"The samples record different homology dimensions {sorted(recorded)}; "
            "expected the same for every sample (or pass 'homology_dimensions')."
        )
    return recorded.pop() if recorded else tuple(range(len(samples[0])))


def to_giotto(diagrams, homology_dimensions=None, *, infinity_values=np.inf):
    """flood's diagrams of several samples as giotto-tda's padded array of triples.

    The name says where the diagrams go: ``to_giotto`` writes the format that every
    ``gtda.diagrams`` transformer takes, and :func:`from_giotto` reads it back. Each sample
    becomes, dimension after dimension in the order of ``homology_dimensions``, its
    (birth, death, q) triples followed by padding, exactly as giotto-tda's
    ``VietorisRipsPersistence`` pads (``gtda.homology._utils._pad_diagram``): in dimension
    q every sample gets as many points as the largest diagram in q over all samples, and at
    least one; the padding points are ``(m_q, m_q, q)`` with ``m_q`` the smallest birth in
    dimension q over all samples, or ``(0, 0, q)`` where no sample has a pair in q. They lie
    on the diagonal, so they have zero persistence and giotto's vectorizers ignore them.
    Pairs on the diagonal in the input (``death == birth``) are left out, as giotto does;
    flood's diagrams have none.

    Parameters
    ----------
    diagrams : sequence of sequence of array-like of shape (n_pairs, 2)
        ``diagrams[i][j]``: the (birth, death) pairs of sample ``i`` in homology dimension
        ``homology_dimensions[j]``, as :meth:`flood.FloodComplex.transform` returns them.
        One sample's diagrams go in a list of one sample: ``to_giotto([dgms])``.
    homology_dimensions : sequence of int, optional
        The dimension of each entry of a sample. Default: the ``homology_dimensions`` the
        samples record (a :class:`~flood.FloodResult` ``diagrams`` output), else
        ``0, 1, ..., len(diagrams[0]) - 1`` (the default of ``FloodComplex``).
    infinity_values : float, default=inf
        Death written for essential classes (death ``inf``). ``inf`` keeps them: exact, and
        accepted by giotto-tda's ``check_diagrams``, but giotto's amplitudes, entropies and
        images of such a pair are infinite or NaN. A finite value (giotto's
        ``VietorisRipsPersistence`` writes its ``max_edge_length``) makes them finite
        pairs; it must exceed the birth of every pair it replaces, and if it exceeds every
        finite death, ``from_giotto(X, infinity_values=value)`` restores them exactly.
        (giotto's Vietoris-Rips also drops H0's one essential class; flood keeps it.)

    Returns
    -------
    X : ndarray of shape (n_samples, n_points, 3)
        Triples (birth, death, q), float64.

    See Also
    --------
    from_giotto : The inverse.
    to_persim : The diagrams of one sample in persim's format.

    Examples
    --------
    >>> import numpy as np
    >>> import flood
    >>> a = [np.array([[0.0, np.inf], [0.0, 0.5]]), np.array([[0.4, 0.9]])]  # H0, H1
    >>> b = [np.array([[0.0, np.inf]]), np.empty((0, 2))]
    >>> X = flood.to_giotto([a, b], infinity_values=2.0)
    >>> X.shape
    (2, 3, 3)
    >>> print(X[1])  # b, padded with (0, 0, 0) in H0 and (0.4, 0.4, 1) in H1
    [[0.  2.  0. ]
     [0.  0.  0. ]
     [0.4 0.4 1. ]]
    >>> back = flood.from_giotto(X, infinity_values=2.0)
    >>> back[1].homology_dimensions, [d.shape for d in back[1]]
    ((0, 1), [(1, 2), (0, 2)])
    >>> bool(np.isinf(back[0][0][0, 1]))
    True
    """
    if isinstance(diagrams, (str, bytes, np.ndarray)) or not hasattr(diagrams, "__len__"):
        raise TypeError(
            f"The 'diagrams' parameter of flood.to_giotto must be a list with the diagrams of "
            f"each sample. Got {type(diagrams).__name__} instead."
        )
    if len(diagrams) == 0:
        raise ValueError(
            "The 'diagrams' parameter of flood.to_giotto must hold >= 1 sample. Got 0."
        )
    samples = [_sample_list(s, f"diagrams[{i}]") for i, s in enumerate(diagrams)]
    dims = _dimensions_of(
        list(diagrams),
        homology_dimensions,
        "The 'homology_dimensions' parameter of flood.to_giotto",
    )
    if not dims:
        raise _refusal(ValueError, "diagrams[0]", "holds no diagram", ">= 1 homology dimension")
    infinity = _check_infinity(
        infinity_values, "The 'infinity_values' parameter of flood.to_giotto"
    )
    pairs = [_giotto_sample(s, i, dims, infinity) for i, s in enumerate(samples)]
    return np.stack([_pad(p, dims, pairs) for p in pairs])


def _giotto_sample(sample, i, dims, infinity):
    """One sample's pairs per dimension, essential deaths replaced, diagonal pairs out."""
    if len(sample) != len(dims):
        raise _refusal(
            ValueError,
            f"diagrams[{i}]",
            f"has {len(sample)} diagram(s)",
            f"one per homology dimension {dims}",
        )
    out = []
    for j, values in enumerate(sample):
        dgm = _check_diagram(values, f"diagrams[{i}][{j}]").copy()
        essential = np.isinf(dgm[:, 1])
        if essential.any() and infinity <= dgm[essential, 0].max():
            raise ValueError(
                f"The 'infinity_values' parameter of flood.to_giotto must exceed the birth of "
                f"each essential class; diagrams[{i}][{j}] has one born at "
                f"{dgm[essential, 0].max()!r}. Got {infinity!r} instead."
            )
        dgm[essential, 1] = infinity
        out.append(dgm[dgm[:, 1] > dgm[:, 0]])
    return out


def _pad(sample, dims, all_samples):
    """giotto's ``_pad_diagram``: per dimension, the most points of any sample (>= 1)."""
    blocks = []
    for j, q in enumerate(dims):
        n_max = max(max(len(s[j]) for s in all_samples), 1)
        births = [s[j][:, 0].min() for s in all_samples if len(s[j])]
        fill = min(births) if births else 0.0
        block = np.full((n_max, GIOTTO_COLUMNS), q, dtype=np.float64)
        block[:, :2] = fill
        block[: len(sample[j]), :2] = sample[j]
        blocks.append(block)
    return np.vstack(blocks)


def from_giotto(X, *, infinity_values=np.inf):
    """giotto-tda's array of triples as flood's diagrams, one :class:`Diagrams` per sample.

    The inverse of :func:`to_giotto`: the points on the diagonal (``death == birth``, which
    includes giotto's padding) are dropped, deaths ``>= infinity_values`` become ``inf``, and
    the homology dimensions are those of the third column in order of first appearance
    (giotto writes them sorted).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_points, 3)
        (birth, death, q) triples, as giotto-tda's ``VietorisRipsPersistence`` returns.
    infinity_values : float, default=inf
        Deaths at or above it are essential classes (death ``inf``): pass the value given to
        :func:`to_giotto` (or giotto's ``max_edge_length``).

    Returns
    -------
    diagrams : list of Diagrams
        ``diagrams[i][j]``: the (birth, death) pairs of sample ``i`` in dimension
        ``diagrams[i].homology_dimensions[j]``, float64 of shape (n_pairs, 2).

    See Also
    --------
    to_giotto : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> import flood
    >>> X = np.array([[[0.0, 1.0, 0], [0.0, 0.0, 0], [0.2, 0.7, 1]]])  # one sample
    >>> dgms = flood.from_giotto(X)
    >>> dgms[0].homology_dimensions, dgms[0][0].tolist(), dgms[0][1].tolist()
    ((0, 1), [[0.0, 1.0]], [[0.2, 0.7]])
    """
    owner = "The 'X' parameter of flood.from_giotto"
    if isinstance(X, (str, bytes)) or X is None:
        raise TypeError(f"{owner} must be an array of shape (n_samples, n_points, 3). Got {X!r}.")
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{owner} must be a real array of shape (n_samples, n_points, 3); {exc}."
        ) from exc
    if arr.ndim != 3 or arr.shape[2] != GIOTTO_COLUMNS or arr.shape[0] == 0:
        raise ValueError(
            f"{owner} must have shape (n_samples, n_points, 3) with n_samples >= 1. "
            f"Got shape {arr.shape} instead."
        )
    infinity = _check_infinity(
        infinity_values, "The 'infinity_values' parameter of flood.from_giotto"
    )
    q = arr[:, :, 2]
    if not (np.isfinite(q).all() and (q >= 0).all() and (q == np.round(q)).all()):
        raise ValueError(
            f"{owner} must hold homology dimensions (X[:, :, 2]) that are ints in the range "
            f"[0, inf) (a giotto 'Stacking' output, dimension inf, has none). "
            f"Got {np.unique(q).tolist()} instead."
        )
    dims = tuple(int(d) for d in dict.fromkeys(q.ravel().tolist()))
    return [_from_giotto_sample(arr[i], i, dims, infinity) for i in range(len(arr))]


def _from_giotto_sample(triples, i, dims, infinity):
    """One sample's Diagrams: the triples of each dimension, off the diagonal."""
    out = []
    for q in dims:
        dgm = _check_diagram(triples[triples[:, 2] == q, :2], f"X[{i}] in dimension {q}").copy()
        dgm = dgm[dgm[:, 1] > dgm[:, 0]]
        dgm[dgm[:, 1] >= infinity, 1] = np.inf
        out.append(np.ascontiguousarray(dgm))
    return Diagrams(out, dims)


def to_persim(diagrams, homology_dimensions=None):
    """flood's diagrams of one sample as persim's (and ripser.py's) list of diagrams.

    The name says where the diagrams go: ``to_persim`` writes the list that
    ``persim.plot_diagrams`` takes and whose entries ``persim.bottleneck`` and
    ``persim.wasserstein`` compare; :func:`from_persim` reads it back. In that list the
    index is the homology dimension (``dgms[q]`` holds H_q, as in ``ripser(X)["dgms"]``), so
    dimensions below the largest that were not computed come as empty (0, 2) arrays.
    Essential classes keep their death ``inf``, as in ripser.py.

    Parameters
    ----------
    diagrams : sequence of array-like of shape (n_pairs, 2)
        The diagrams of one sample (``FloodComplex().fit_transform(X)[i]`` or
        :meth:`flood.FloodResult.diagrams`); for several samples, convert each.
    homology_dimensions : sequence of int, optional
        The dimension of each entry. Default: the ``homology_dimensions`` that ``diagrams``
        records, else ``0, 1, ..., len(diagrams) - 1``.

    Returns
    -------
    dgms : list of ndarray of shape (n_pairs, 2)
        ``max(homology_dimensions) + 1`` float64 arrays, ``dgms[q]`` holding H_q.

    See Also
    --------
    from_persim : The inverse.
    to_giotto : Several samples in giotto-tda's format.

    Examples
    --------
    >>> import numpy as np
    >>> import flood
    >>> from flood._diagrams import Diagrams
    >>> d = Diagrams([np.array([[0.4, 0.9]]), np.array([[0.6, 0.8]])], (1, 2))
    >>> [g.tolist() for g in flood.to_persim(d)]  # H0 was not computed: empty
    [[], [[0.4, 0.9]], [[0.6, 0.8]]]
    >>> flood.from_persim(flood.to_persim(d), homology_dimensions=(1, 2)).homology_dimensions
    (1, 2)
    """
    owner = "The 'homology_dimensions' parameter of flood.to_persim"
    entries = _sample_list(diagrams, "The 'diagrams' parameter of flood.to_persim")
    if not entries:
        raise ValueError(
            "The 'diagrams' parameter of flood.to_persim must hold >= 1 diagram. Got 0."
        )
    dims = _dimensions_of([diagrams], homology_dimensions, owner)
    if len(dims) != len(entries):
        raise ValueError(
            f"{owner} must give one dimension per diagram: {len(entries)} diagram(s). "
            f"Got {dims!r} instead."
        )
    dgms = [np.empty((0, 2)) for _ in range(max(dims) + 1)]
    for j, (q, values) in enumerate(zip(dims, entries, strict=True)):
        dgms[q] = _check_diagram(values, f"diagrams[{j}]").copy()
    return dgms


def from_persim(dgms, homology_dimensions=None):
    """persim's (and ripser.py's) list of diagrams as flood's :class:`Diagrams`.

    The inverse of :func:`to_persim`: ``dgms[q]`` is taken as H_q.

    Parameters
    ----------
    dgms : sequence of array-like of shape (n_pairs, 2)
        ``dgms[q]``: the (birth, death) pairs in homology dimension q (``ripser(X)["dgms"]``).
    homology_dimensions : sequence of int, optional
        The dimensions to keep, in this order; each must be below ``len(dgms)``. Default:
        all, ``0, 1, ..., len(dgms) - 1``.

    Returns
    -------
    diagrams : Diagrams
        float64 arrays of shape (n_pairs, 2), one per entry of ``homology_dimensions``.

    See Also
    --------
    to_persim : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> import flood
    >>> d = flood.from_persim([np.array([[0.0, 0.3], [0.0, np.inf]]), np.array([[0.5, 0.6]])])
    >>> d.homology_dimensions, [g.shape for g in d]
    ((0, 1), [(2, 2), (1, 2)])
    """
    entries = _sample_list(dgms, "The 'dgms' parameter of flood.from_persim")
    owner = "The 'homology_dimensions' parameter of flood.from_persim"
    dims = tuple(range(len(entries))) if homology_dimensions is None else None
    if dims is None:
        dims = check_homology_dimensions(homology_dimensions, owner=owner)
    if not dims or max(dims) >= len(entries):
        raise ValueError(
            f"{owner} must hold dimensions below len(dgms) = {len(entries)}. "
            f"Got {homology_dimensions!r} instead."
        )
    return Diagrams(
        [np.array(_check_diagram(entries[q], f"dgms[{q}]"), order="C") for q in dims], dims
    )
