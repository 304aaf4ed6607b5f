"""Input rules in one place, shared by flood_complex, FloodComplex and the command line."""

import numbers
import warnings

import numpy as np

MAX_DIM = 6


def check_points(points, name="points"):
    """A finite float64 array of shape (n_points, dim) with 1 <= dim <= 6 and n_points >= 1.

    Integer and float32 input is converted to float64; anything else is refused with a
    message naming ``name``, the rule and the value received.
    """
    if isinstance(points, (str, bytes)) or points is None:
        raise TypeError(
            f"{name} must be an array-like of shape (n_points, dim); got {type(points).__name__}."
        )
    arr = np.asarray(points)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must hold real numbers; got an array of dtype {arr.dtype}.")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must hold real numbers; got complex dtype {arr.dtype}.")
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_points, dim); got an array "
            f"with shape {arr.shape}."
        )
    n, dim = arr.shape
    if n == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); a point cloud needs points.")
    if not 1 <= dim <= MAX_DIM:
        raise ValueError(
            f"{name} must have between 1 and {MAX_DIM} coordinates per point; "
            f"got shape {arr.shape}."
        )
    arr = np.asarray(arr, dtype=np.float64)
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"{name} has {len(rows)} row(s) with NaN or infinite coordinates "
            f"(first: row {rows[0]}); drop or fix them first."
        )
    return arr


def check_landmarks(landmarks, n_points, dim):
    """An int in [1, inf) (clamped to n_points with a warning) or an array (n_landmarks, dim)."""
    if isinstance(landmarks, numbers.Integral) and not isinstance(landmarks, bool):
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
            return int(n_points)
        return int(landmarks)
    if isinstance(landmarks, (bool, float, str)) or landmarks is None:
        raise TypeError(
            "The 'landmarks' parameter must be an int in the range [1, inf) or an "
            f"array of shape (n_landmarks, {dim}). Got {landmarks!r} instead."
        )
    arr = check_points(landmarks, name="landmarks")
    if arr.shape[1] != dim:
        raise ValueError(
            f"landmarks has shape {arr.shape}; expected (n_landmarks, {dim}) to match points."
        )
    return arr


def check_tol(tol):
    if tol is None:
        return None
    if (
        isinstance(tol, bool)
        or not isinstance(tol, numbers.Real)
        or not np.isfinite(tol)
        or tol <= 0
    ):
        raise ValueError(
            f"The 'tol' parameter must be a float in the range (0, inf) or None. "
            f"Got {tol!r} instead."
        )
    return float(tol)


def check_device(device):
    """Resolve ``None`` to ``cuda:0`` when present, else ``cpu``; refuse unknown devices."""
    import warp as wp

    wp.init()
    if device is None:
        return "cuda:0" if wp.is_cuda_available() else "cpu"
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
