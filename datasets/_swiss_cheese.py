"""Swiss cheese: points uniform in a box minus disjoint spherical voids (the paper's benchmark)."""

import math

import numpy as np

from flood.datasets._validation import (
    check_int,
    check_random_state,
    check_range_pair,
)

__all__ = ["make_swiss_cheese"]


def _check_box(box, dim, func):
    try:
        low, high = box
        low = np.broadcast_to(np.asarray(low, dtype=float), (dim,)).copy()
        high = np.broadcast_to(np.asarray(high, dtype=float), (dim,)).copy()
    except (TypeError, ValueError):
        raise ValueError(
            f"The 'box' parameter of {func} must be a pair (low, high) of floats or of "
            f"length-{dim} arrays. Got {box!r} instead."
        ) from None
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(low < high)):
        raise ValueError(
            f"The 'box' parameter of {func} must satisfy low < high on every axis with finite "
            f"bounds. Got {box!r} instead."
        )
    return low, high


def _place_voids(n_voids, low, high, radii, rng, max_batches=200, batch=256):
    """Draw radii uniformly in ``radii`` and place each void inside the box, disjoint from the
    previous ones (rejection sampling on the centre, ``batch`` candidates at a time)."""
    dim = low.size
    rad = rng.uniform(radii[0], radii[1], n_voids)
    # Place the big voids first: it makes a dense packing far less likely to get stuck.
    rad = np.sort(rad)[::-1]
    centres = np.empty((n_voids, dim))
    for i, ri in enumerate(rad):
        if np.any(high - low <= 2.0 * ri):
            raise ValueError(
                f"The 'radii' parameter of make_swiss_cheese allows a void of radius {ri:.4g} "
                f"that does not fit in the box of side lengths {(high - low).tolist()}."
            )
        for _ in range(max_batches):
            cand = rng.uniform(low + ri, high - ri, size=(batch, dim))
            if i:
                gap = np.linalg.norm(cand[:, None, :] - centres[None, :i, :], axis=2)
                ok = np.all(gap >= ri + rad[None, :i], axis=1)
            else:
                ok = np.ones(batch, dtype=bool)
            if ok.any():
                centres[i] = cand[np.argmax(ok)]
                break
        else:
            raise ValueError(
                f"make_swiss_cheese could not place {n_voids} disjoint voids with radii in "
                f"{tuple(radii)} inside the box (placed {i}); use fewer or smaller voids or a "
                "larger box."
            )
    return centres, rad


def _outside_voids(coords, centres, radii):
    """Mask of the columns of ``coords`` (shape (dim, m)) outside every void: a cheap slab test
    on the first coordinate, then the exact test on the few points in the slab."""
    keep = np.ones(coords.shape[1], dtype=bool)
    x = coords[0]
    for c, rv in zip(centres, radii, strict=True):
        idx = np.flatnonzero(np.abs(x - c[0]) < rv)
        diff = coords[:, idx] - c[:, None]
        keep[idx[np.einsum("ij,ij->j", diff, diff) < rv * rv]] = False
    return keep


def make_swiss_cheese(
    n_points=100_000,
    *,
    n_voids=10,
    box=(0.0, 5.0),
    radii=(0.1, 0.5),
    dim=3,
    return_voids=False,
    random_state=None,
):
    """Sample points uniformly in a box with disjoint spherical voids cut out.

    First ``n_voids`` radii are drawn uniformly from ``radii``; each void is then placed
    uniformly at random where it lies entirely inside the box and is disjoint from the voids
    placed before (the largest first). Then points are drawn uniformly in the box and those
    inside a void are rejected, in vectorized batches, until ``n_points`` remain. Each void is
    an essential 2-sphere of the complement: the cloud has ``n_voids`` long H2 features.
    The cost is ``O(n_points * n_voids)``: one million points with 20 voids take a fraction
    of a second.

    Parameters
    ----------
    n_points : int, default=100_000
        Number of points (the paper uses 1,000,000).
    n_voids : int, default=10
        Number of spherical voids (the paper's two classes use 10 and 20).
    box : pair of float or pair of array-like of shape (dim,), default=(0.0, 5.0)
        Lower and upper corner of the box; scalars apply to every axis.
    radii : pair of float, default=(0.1, 0.5)
        Range ``(low, high)`` of the void radii, ``0 < low <= high``.
    dim : int, default=3
        Ambient dimension.
    return_voids : bool, default=False
        If True, also return the void centres and radii.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator; the same seed gives the same voids and points.

    Returns
    -------
    points : ndarray of shape (n_points, dim)
        The points, float64.
    centres : ndarray of shape (n_voids, dim)
        Void centres; only when ``return_voids=True``.
    void_radii : ndarray of shape (n_voids,)
        Void radii, in the same order; only when ``return_voids=True``.

    Examples
    --------
    >>> from flood.datasets import make_swiss_cheese
    >>> X, centres, rad = make_swiss_cheese(10_000, n_voids=5, return_voids=True,
    ...                                     random_state=0)
    >>> X.shape, centres.shape, rad.shape
    ((10000, 3), (5, 3), (5,))
    >>> d = np.linalg.norm(X[:, None, :] - centres[None], axis=2)
    >>> bool(np.all(d >= rad))
    True
    """
    func = "make_swiss_cheese"
    n_points = check_int(n_points, "n_points", func, low=1)
    n_voids = check_int(n_voids, "n_voids", func, low=0)
    dim = check_int(dim, "dim", func, low=1)
    radii = check_range_pair(radii, "radii", func)
    low, high = _check_box(box, dim, func)
    rng = check_random_state(random_state)

    centres, rad = _place_voids(n_voids, low, high, radii, rng)
    ball = math.pi ** (dim / 2) / math.gamma(dim / 2 + 1)
    accept = max(1.0 - ball * np.sum(rad**dim) / np.prod(high - low), 1e-3)
    chunks, have = [], 0
    while have < n_points:
        m = int(math.ceil((n_points - have) / accept * 1.02)) + 64
        # Coordinates as rows (dim, m): every test below reads contiguous memory.
        coords = rng.uniform(low[:, None], high[:, None], size=(dim, m))
        coords = coords[:, _outside_voids(coords, centres, rad)][:, : n_points - have]
        chunks.append(coords)
        have += coords.shape[1]
    points = np.ascontiguousarray(np.concatenate(chunks, axis=1).T)
    if return_voids:
        return points, centres, rad
    return points
