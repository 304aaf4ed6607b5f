"""Input rules in one place, shared by flood_complex, FloodComplex and the command line."""

import numbers
import warnings

import numpy as np

MAX_DIM = 6


def _refusal(error, name, value, rule):
    """The one message template of the cloud checkers: who, what was received, the rule."""
    return error(f"{name} {value}; expected {rule}.")


def check_points(points, name="points", rows="n_points", dim=None, why=""):
    """A finite float64 array of shape (rows, dim) with 1 <= dim <= 6 and at least one row.

    The checker of one point cloud, used by :func:`flood.flood_complex`, the command line
    and (through :func:`check_clouds`) :class:`flood.FloodComplex` and
    :mod:`flood.sparse_nn`. Accepted: any real array-like (lists, NumPy arrays of integer,
    bool, float16/32/64 dtype, object arrays holding numbers, pandas frames); it is
    converted to float64, so integer and float32 input gives the same result as the equal
    float64 array. Refused, with a message ``"<name> <what it is>; expected <rule>."``
    (``"X[3] has shape (120, 2); expected (n_points, 3)."``): strings, None, sparse
    matrices, complex or non-numeric dtypes (``TypeError``); ragged rows, a number of axes
    other than 2, no rows, more than 6 or no columns, another ``dim`` than asked for, NaN or
    infinite coordinates (``ValueError``).

    Parameters
    ----------
    points : array-like of shape (rows, dim)
    name : str, default="points"
        How the input is named in messages (``"X[3]"``, ``"landmarks"``).
    rows : str, default="n_points"
        How the rows are named in messages.
    dim : int, optional
        The number of columns required (default: any in [1, 6]).
    why : str, default=""
        Said after the rule when ``dim`` does not match (``"as in fit"``).

    Returns
    -------
    points : ndarray of float64, shape (rows, dim)

    Examples
    --------
    >>> check_points([[0, 1], [2, 3]]).dtype
    dtype('float64')
    >>> check_points(np.zeros((120, 2)), name="X[3]", dim=3)
    Traceback (most recent call last):
    ...
    ValueError: X[3] has shape (120, 2); expected (n_points, 3).
    """
    shape = f"({rows}, {'dim' if dim is None else dim})"
    if isinstance(points, (str, bytes)) or points is None:
        raise _refusal(
            TypeError, name, f"is a {type(points).__name__}", f"an array-like of shape {shape}"
        )
    if hasattr(points, "toarray") and hasattr(points, "nnz"):
        raise _refusal(
            TypeError,
            name,
            f"is a sparse {type(points).__name__}",
            f"a dense array-like of shape {shape} (call .toarray() first)",
        )
    try:
        arr = np.asarray(points)
    except ValueError:  # ragged nested sequences
        raise _refusal(
            ValueError, name, "is a ragged sequence (rows of different lengths)", shape
        ) from None
    if np.iscomplexobj(arr):
        raise _refusal(TypeError, name, f"has complex dtype {arr.dtype}", "real numbers")
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            value = f"is an object array that does not convert to float ({exc})"
            raise _refusal(TypeError, name, value, "real numbers") from None
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise _refusal(TypeError, name, f"has dtype {arr.dtype}", "real numbers")
    value = f"has shape {arr.shape}"
    if arr.ndim != 2:
        raise _refusal(ValueError, name, value, shape)
    if dim is not None and arr.shape[1] != dim:
        raise _refusal(ValueError, name, value, f"{shape} {why}".strip())
    if not 1 <= arr.shape[1] <= MAX_DIM:
        raise _refusal(ValueError, name, value, f"{shape} with 1 <= dim <= {MAX_DIM}")
    if arr.shape[0] == 0:
        raise _refusal(ValueError, name, value, f"{shape} with {rows} >= 1")
    arr = np.asarray(arr, dtype=np.float64)
    # min and max pass NaN on: two reductions without a temporary find the rare bad input
    if not (np.isfinite(arr.min()) and np.isfinite(arr.max())):
        bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
        value = (
            f"has {len(bad)} row(s) with NaN or infinity (first: row {bad[0]}: "
            f"{arr[bad[0]].tolist()})"
        )
        raise _refusal(ValueError, name, value, "finite coordinates")
    return arr


def check_clouds(X, name="X", dim=None, why=""):
    """A list of point clouds of one dimension, each checked by :func:`check_points`.

    Parameters
    ----------
    X : sequence of array-like of shape (n_points_i, dim), or array-like of shape \
(n_samples, n_points, dim)
        The clouds; their sizes may differ, their dimension may not.
    name : str, default="X"
        How the input is named in messages; cloud ``i`` is ``"X[i]"``.
    dim : int, optional
        The dimension every cloud must have (default: that of ``X[0]``).
    why : str, default=""
        Said after the rule when a cloud's dimension is not ``dim`` (``"as in fit"``).

    Returns
    -------
    clouds : list of ndarray of float64, shape (n_points_i, dim)

    Examples
    --------
    >>> [c.shape for c in check_clouds([[[0, 0, 0]], [[1, 2, 3], [4, 5, 6]]])]
    [(1, 3), (2, 3)]
    >>> check_clouds([np.zeros((5, 3)), np.zeros((120, 2))])
    Traceback (most recent call last):
    ...
    ValueError: X[1] has shape (120, 2); expected (n_points, 3) as X[0].
    """
    d = "dim" if dim is None else dim
    rule = (
        f"a sequence of point clouds of shape (n_points, {d}) or an array of shape "
        f"(n_samples, n_points, {d})"
    )
    if X is None or isinstance(X, (str, bytes, dict)) or not hasattr(X, "__iter__"):
        raise _refusal(TypeError, name, f"is a {type(X).__name__}", rule)
    ndim = getattr(X, "ndim", None)
    if ndim is not None and ndim != 3 and not (ndim == 1 and np.asarray(X).dtype == object):
        hint = f" (pass [{name}] for a single cloud)" if ndim == 2 else ""
        raise _refusal(ValueError, name, f"has shape {np.shape(X)}", rule + hint)
    clouds = []
    for i, cloud in enumerate(X):
        clouds.append(check_points(cloud, name=f"{name}[{i}]", dim=dim, why=why))
        if dim is None:
            dim, why = clouds[0].shape[1], f"as {name}[0]"
    if not clouds:
        raise _refusal(ValueError, name, "holds no point clouds", "at least one point cloud")
    return clouds


def check_n_points(n_points, dim, name="points"):
    """Refuse clouds with fewer than ``dim + 1`` rows (they cannot span a d-D triangulation).

    Flat clouds with enough rows (duplicates, collinear or coplanar points) are accepted:
    :func:`flood.flood_complex` triangulates them in their affine hull.
    """
    if n_points < dim + 1:
        raise ValueError(
            f"{n_points} landmark(s) cannot span a {dim}-D Delaunay triangulation: {name} "
            f"has only {n_points} point(s); a {dim}-D cloud needs at least dim + 1 = "
            f"{dim + 1} points."
        )


def check_landmarks(landmarks, n_points, dim):
    """An int in [dim + 1, inf) (clamped to ``n_points`` with a warning) or coordinates.

    Parameters
    ----------
    landmarks : int or array-like of shape (n_landmarks, dim)
        A count, or landmark coordinates (any points of R^dim: they need not be points of
        the cloud; then a vertex's filtration value is its distance to the cloud).
    n_points, dim : int
        Size and dimension of the cloud.

    Returns
    -------
    landmarks : int or ndarray of float64, shape (n_landmarks, dim)
    """
    if isinstance(landmarks, numbers.Integral) and not isinstance(landmarks, (bool, np.bool_)):
        if landmarks < 1:
            raise ValueError(
                "The 'landmarks' parameter must be an int in the range [1, inf) "
                f"or an array of shape (n_landmarks, {dim}). Got {landmarks} "
                "instead."
            )
        if landmarks > n_points:
            warnings.warn(
                f"landmarks={landmarks} exceeds the number of points ({n_points}); "
                f"using all {n_points} points as landmarks.",
                UserWarning,
                stacklevel=3,
            )
            landmarks = n_points
        if landmarks < dim + 1:
            raise ValueError(
                f"{landmarks} landmark(s) cannot span a {dim}-D Delaunay triangulation; "
                f"the 'landmarks' parameter must be at least dim + 1 = {dim + 1}. "
                f"Got {landmarks} instead."
            )
        return int(landmarks)
    if isinstance(landmarks, (bool, np.bool_, numbers.Real, str, bytes)) or landmarks is None:
        raise TypeError(
            "The 'landmarks' parameter must be an int in the range [1, inf) or an "
            f"array of shape (n_landmarks, {dim}). Got {landmarks!r} instead."
        )
    arr = check_points(
        landmarks, name="landmarks", rows="n_landmarks", dim=dim, why="to match points"
    )
    if len(arr) < dim + 1:
        raise ValueError(
            f"{len(arr)} landmark(s) cannot span a {dim}-D Delaunay triangulation; "
            f"landmarks has shape {arr.shape}; expected at least dim + 1 = {dim + 1} rows."
        )
    return arr


def distinct_rows(rows, name):
    """Indices of the first occurrence of each distinct row, in order; warn about duplicates.

    Duplicate landmarks would be dropped by Qhull and left as isolated vertices (spurious
    essential H0 classes), so they are removed here.
    """
    rows = np.asarray(rows)
    column = np.sort(rows[:, 0]) if rows.ndim == 2 and len(rows) > 1 else None
    if column is not None and not (column[1:] == column[:-1]).any():
        return np.arange(len(rows))  # all first coordinates differ (a sort, ~10x unique's)
    _, first = np.unique(rows, axis=0, return_index=True)
    first = np.sort(first)
    if len(first) < len(rows):
        warnings.warn(
            f"{name} holds {len(rows)} landmarks but only {len(first)} distinct points; "
            f"using the {len(first)} distinct ones.",
            UserWarning,
            stacklevel=3,
        )
    return first


def check_tol(tol):
    if tol is None:
        return None
    if (
        isinstance(tol, bool)
        or not isinstance(tol, numbers.Real)
        or not np.isfinite(tol)
        or tol < 0
    ):
        raise ValueError(
            f"The 'tol' parameter must be a float in the range [0, inf) or None (0: exact). "
            f"Got {tol!r} instead."
        )
    return float(tol)


def check_device(device):
    """Resolve ``None`` to ``cpu``; refuse unknown devices.

    CUDA is opt-in (``device="cuda"``) while its values are unvalidated: the kernels compile
    for sm_90 (the AOT test) but have never run on a GPU next to the CPU. The default turns
    to ``cuda:0`` when present once ``benchmarks/gpu_check.py`` has passed on one (its
    intervals agree with the CPU's) and its output is recorded in benchmarks/RESULTS.md.
    """
    import warp as wp

    from flood._warp import init_warp

    init_warp()
    if device is None:
        return "cpu"
    if not isinstance(device, str):
        raise TypeError(
            f"The 'device' parameter must be a str such as 'cpu' or 'cuda:0' or "
            f"None. Got {device!r} instead."
        )
    if device.startswith("cuda"):
        if not wp.is_cuda_available():
            raise ValueError(
                f"device={device!r} was requested but no CUDA device is "
                "available; use device='cpu'."
            )
        return "cuda:0" if device == "cuda" else device
    if device != "cpu":
        raise ValueError(
            f"The 'device' parameter must be 'cpu', 'cuda' or 'cuda:<n>'. Got {device!r} instead."
        )
    return device


#: The filtration methods of :func:`flood.flood_complex` (the first is the default).
METHODS = ("certified", "grid")
#: Threads sharing the certified refinement of one cloud on the CPU (this machine's cores).
DEFAULT_N_THREADS = 2


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_method(method, owner="The 'method' parameter"):
    """One of :data:`METHODS`; ``owner`` names the parameter or option in the message."""
    if not isinstance(method, str) or method not in METHODS:
        choices = " or ".join(repr(m) for m in METHODS)
        raise ValueError(f"{owner} must be {choices}. Got {method!r} instead.")
    return method


def check_n_threads(n_threads, owner="The 'n_threads' parameter"):
    """An int in [1, inf): the threads sharing the work (0 threads would do nothing)."""
    if not _is_int(n_threads) or n_threads < 1:
        raise ValueError(
            f"{owner} must be an int in the range [1, inf). Got {n_threads!r} instead."
        )
    return int(n_threads)


def check_min_persistence(value, owner="The 'min_persistence' parameter"):
    """A float in [0, inf): pairs with ``death - birth <= value`` are left out."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{owner} must be a float in the range [0, inf). Got {value!r} instead.")
    return float(value)


def check_homology_dimensions(dims, dim=None, owner="The 'homology_dimensions' parameter"):
    """Distinct ints in [0, inf), in the order given; a bare int ``q`` means ``(q,)``.

    The rule for every owner (:meth:`flood.FloodResult.diagrams`, :class:`flood.FloodComplex`
    and ``flood compute --dims``): an empty sequence, a value that is not an int (bools
    included), a negative value or a repeated value is refused with a ValueError. A
    dimension ``q >= dim`` of ``dim``-D points is allowed with a warning: H_q of a subset of
    R^dim is 0 for q >= dim, so its diagram is empty.

    Parameters
    ----------
    dims : int or sequence of int
    dim : int, optional
        Dimension of the points; None skips the warning.
    owner : str
        Who takes ``dims``, as it starts the message (a parameter or a CLI option).

    Returns
    -------
    dims : tuple of int
    """
    values = [dims] if _is_int(dims) else dims
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__") or np.ndim(values) > 1:
        values = None
    else:
        values = list(values)
    if not values or not all(_is_int(q) and q >= 0 for q in values):
        raise ValueError(
            f"{owner} must be an int or a non-empty sequence of distinct ints in the range "
            f"[0, inf). Got {dims!r} instead."
        )
    repeated = sorted({int(q) for q in values if values.count(q) > 1})
    if repeated:
        raise ValueError(
            f"{owner} must hold distinct ints; {repeated[0]} is repeated. Got {dims!r} instead."
        )
    values = tuple(int(q) for q in values)
    high = [q for q in values if dim is not None and q >= dim]
    if high:
        warnings.warn(
            f"homology dimension(s) {', '.join(map(str, high))} of {dim}-D points: H_q of a "
            f"subset of R^{dim} is 0 for q >= {dim}, so their diagrams are empty.",
            UserWarning,
            stacklevel=3,
        )
    return values
