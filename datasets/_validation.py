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
