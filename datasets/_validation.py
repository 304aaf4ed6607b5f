"""Parameter checks shared by the generators and loaders (messages name parameter, rule, value)."""

import numbers

import numpy as np


def check_random_state(random_state):
    """Turn ``random_state`` into a :class:`numpy.random.Generator`.

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        ``None`` gives fresh OS entropy, an int seeds a new generator, a ``Generator`` is used
        as is, and a legacy ``RandomState`` seeds a new generator from one draw.

    Returns
    -------
    rng : numpy.random.Generator

    Examples
    --------
    >>> from flood.datasets._validation import check_random_state
    >>> check_random_state(0).integers(10) == check_random_state(0).integers(10)
    np.True_
    """
    if random_state is None or isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state)
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(
                f"The 'random_state' parameter must be None, a non-negative int or a "
                f"numpy Generator. Got {random_state!r} instead."
            )
        return np.random.default_rng(int(random_state))
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    raise TypeError(
        "The 'random_state' parameter must be None, a non-negative int, a numpy Generator or "
        f"a RandomState. Got {random_state!r} of type {type(random_state).__name__} instead."
    )


def check_int(value, name, func, low=None, high=None):
    """Return ``value`` as an int after checking ``low <= value <= high``."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(
            f"The '{name}' parameter of {func} must be an int. "
            f"Got {value!r} of type {type(value).__name__} instead."
        )
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(
            f"The '{name}' parameter of {func} must be an int in the range [{lo}, {hi}]. "
            f"Got {value!r} instead."
        )
    return int(value)


def check_float(value, name, func, low=None, high=None, low_open=False):
    """Return ``value`` as a float after checking it is finite and within the bounds."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(
            f"The '{name}' parameter of {func} must be a real number. "
            f"Got {value!r} of type {type(value).__name__} instead."
        )
    value = float(value)
    bad = not np.isfinite(value)
    if low is not None:
        bad |= value <= low if low_open else value < low
    if high is not None:
        bad |= value > high
    if bad:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        bracket = "(" if low_open else "["
        raise ValueError(
            f"The '{name}' parameter of {func} must be a finite float in the range "
            f"{bracket}{lo}, {hi}]. Got {value!r} instead."
        )
    return value


def check_option(value, name, func, options):
    """Check that ``value`` is one of ``options``."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(
            f"The '{name}' parameter of {func} must be one of {sorted(options)}. "
            f"Got {value!r} instead."
        )
    return value


def check_range_pair(value, name, func, low=0.0, low_open=True):
    """Check a pair ``(a, b)`` of floats with ``low <= a <= b``; return it as floats."""
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(
            f"The '{name}' parameter of {func} must be a pair (low, high) of floats. "
            f"Got {value!r} instead."
        ) from None
    if not (np.isfinite(a) and np.isfinite(b)) or a > b or (a <= low if low_open else a < low):
        rule = f"{low} < low <= high" if low_open else f"{low} <= low <= high"
        raise ValueError(
            f"The '{name}' parameter of {func} must be a pair (low, high) with {rule}. "
            f"Got {value!r} instead."
        )
    return a, b


def check_layout(shape, dtype, source, what="array"):
    """Refuse a point cloud by its shape and dtype alone, before any value is read.

    The rule of :func:`~flood.datasets.read_point_cloud`: real numbers (bool, int, float), two
    axes, at least one column and one row. Messages read ``"<source>: <what> has shape
    (5,); expected (n_points, dim)"``.

    Parameters
    ----------
    shape : tuple of int
    dtype : numpy.dtype
    source : str or path-like
        The file or store, named first in messages.
    what : str, default="array"
        How messages name the values (``"array 'points'"``).

    Examples
    --------
    >>> check_layout((5,), np.dtype("f8"), "scan.npy")
    Traceback (most recent call last):
    ...
    ValueError: scan.npy: array has shape (5,); expected (n_points, dim)
    """
    shape = tuple(shape)
    if np.dtype(dtype).kind not in "biuf":
        raise ValueError(f"{source}: {what} has dtype {dtype}; expected real numbers")
    if len(shape) != 2 or shape[1] < 1:
        raise ValueError(f"{source}: {what} has shape {shape}; expected (n_points, dim)")
    if shape[0] == 0:
        raise ValueError(
            f"{source}: {what} has shape {shape}; expected (n_points, dim) with n_points >= 1"
        )


def _rows(start, n_rows):
    """``("rows 1,000-1,999", "")`` (0-based, inclusive) or ``("row 7", "s")``: the rows and
    the verb ending that agrees with them."""
    if n_rows == 1:
        return f"row {start:,}", "s"
    if n_rows == 0:
        return f"the empty block at row {start:,}", "s"
    return f"rows {start:,}-{start + n_rows - 1:,}", ""


def check_chunk(block, row_start, source, *, n_rows=None, dim=None):
    """Check one row block of a chunked point cloud; return it as a float64 ndarray.

    The check every block of ``read_point_cloud(path, chunks=...)`` passes when it is
    computed, public so that code receiving any dask array of points can apply the same rule
    to each block (with ``dask.array.map_blocks`` and ``block_info``). Messages name the
    source and the block's rows (0-based, inclusive), such as ``"scan.npy: rows
    1,000,000-1,999,999 hold NaN or inf (first at row 1,234,567: [nan, 0.0, 1.0]); expected
    finite coordinates"``.

    Parameters
    ----------
    block : array-like of shape (n_rows, dim)
        The block's points.
    row_start : int
        The row of the whole cloud that is the block's first row.
    source : str or path-like
        The file, store or array the block comes from, named first in messages.
    n_rows : int, optional
        The rows the block must have (default: any number, zero included).
    dim : int, optional
        The columns the block must have (default: any number >= 1).

    Returns
    -------
    block : ndarray of shape (n_rows, dim), dtype float64

    Raises
    ------
    TypeError
        If the block does not hold real numbers.
    ValueError
        If the block does not have two axes, ``n_rows`` rows and ``dim`` (or >= 1) columns,
        or holds NaN or infinite values.

    Examples
    --------
    >>> from flood.datasets import check_chunk
    >>> check_chunk([[0, 1], [2, 3]], 1000, "scan.npy").dtype
    dtype('float64')
    >>> check_chunk([[0.0, 1.0], [np.inf, 3.0]], 1000, "scan.npy")
    Traceback (most recent call last):
    ...
    ValueError: scan.npy: rows 1,000-1,001 hold NaN or inf (first at row 1,001: [inf, 3.0]); \
expected finite coordinates
    """
    block = np.asarray(block)
    if n_rows is None:
        n_rows_seen = len(block) if block.ndim else 1
    rows, s = _rows(row_start, n_rows_seen if n_rows is None else n_rows)
    have = "has" if s else "have"
    if block.dtype.kind not in "biuf":
        raise TypeError(f"{source}: {rows} {have} dtype {block.dtype}; expected real numbers")
    expected = f"({'n_rows' if n_rows is None else n_rows}, {'dim' if dim is None else dim})"
    wrong = block.ndim != 2 or (n_rows is not None and block.shape[0] != n_rows)
    if wrong or (block.shape[1] < 1 if dim is None else block.shape[1] != dim):
        raise ValueError(f"{source}: {rows} {have} shape {block.shape}; expected {expected}")
    block = block.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(block).all(axis=1))
    if len(bad):
        first = bad[0]
        raise ValueError(
            f"{source}: {rows} hold{s} NaN or inf (first at row {row_start + first:,}: "
            f"{block[first].tolist()}); expected finite coordinates"
        )
    return block
