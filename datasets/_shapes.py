"""Sampled manifolds with known topology: circle, figure eight, annulus, sphere, torus, genus-g.

Every generator draws its points in a few vectorized batches (rejection sampling where the
density is not uniform in the parameters), so millions of points take well under a second.
"""

import math

import numpy as np

from flood.datasets._validation import check_float, check_int, check_random_state

__all__ = [
    "make_annulus",
    "make_circle",
    "make_figure_eight",
    "make_genus_surface",
    "make_sphere",
    "make_torus",
]


def _add_noise(points, noise, rng):
    if noise > 0:
        points += rng.normal(scale=noise, size=points.shape)
    return points


def make_circle(n_points=1000, *, radius=1.0, noise=0.0, random_state=None):
    """Sample points uniformly (by arc length) on a circle in the plane.

    Parameters
    ----------
    n_points : int, default=1000
        Number of points.
    radius : float, default=1.0
        Radius of the circle, centred at the origin.
    noise : float, default=0.0
        Standard deviation of isotropic Gaussian noise added to each point.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator; the same seed gives the same points.

    Returns
    -------
    points : ndarray of shape (n_points, 2)

    Examples
    --------
    >>> from flood.datasets import make_circle
    >>> X = make_circle(100, radius=2.0, random_state=0)
    >>> X.shape, bool(np.allclose(np.linalg.norm(X, axis=1), 2.0))
    ((100, 2), True)
    """
    n_points = check_int(n_points, "n_points", "make_circle", low=1)
    radius = check_float(radius, "radius", "make_circle", low=0.0, low_open=True)
    noise = check_float(noise, "noise", "make_circle", low=0.0)
    rng = check_random_state(random_state)
    t = rng.uniform(0.0, 2.0 * np.pi, n_points)
    points = radius * np.column_stack([np.cos(t), np.sin(t)])
    return _add_noise(points, noise, rng)


def make_figure_eight(n_points=1000, *, radius=1.0, noise=0.0, random_state=None):
    """Sample points on a figure eight: two circles touching at the origin.

    The circles have radius ``radius`` and centres ``(-radius, 0)`` and ``(radius, 0)``; points
    are uniform by arc length, so each loop gets half of them on average. The shape is a wedge
    of two circles: one connected component and two independent loops (Betti numbers 1, 2).

    Parameters
    ----------
    n_points : int, default=1000
        Number of points.
    radius : float, default=1.0
        Radius of each loop.
    noise : float, default=0.0
        Standard deviation of isotropic Gaussian noise added to each point.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator.

    Returns
    -------
    points : ndarray of shape (n_points, 2)

    Examples
    --------
    >>> from flood.datasets import make_figure_eight
    >>> X = make_figure_eight(200, random_state=0)
    >>> X.shape, bool(X[:, 0].min() < -1.9 and X[:, 0].max() > 1.9)
    ((200, 2), True)
    """
    n_points = check_int(n_points, "n_points", "make_figure_eight", low=1)
    radius = check_float(radius, "radius", "make_figure_eight", low=0.0, low_open=True)
    noise = check_float(noise, "noise", "make_figure_eight", low=0.0)
    rng = check_random_state(random_state)
    t = rng.uniform(0.0, 2.0 * np.pi, n_points)
    side = np.where(rng.random(n_points) < 0.5, -1.0, 1.0)
    # Each circle passes through the origin at t = pi (left of its centre on the right loop).
    points = np.column_stack([side * radius * (1.0 + np.cos(t)), radius * np.sin(t)])
    return _add_noise(points, noise, rng)


def make_annulus(n_points=1000, *, inner_radius=0.5, outer_radius=1.0, random_state=None):
    """Sample points uniformly (by area) in a planar annulus.

    Parameters
    ----------
    n_points : int, default=1000
        Number of points.
    inner_radius : float, default=0.5
        Radius of the hole, ``0 <= inner_radius < outer_radius``.
    outer_radius : float, default=1.0
        Outer radius.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator.

    Returns
    -------
    points : ndarray of shape (n_points, 2)

    Examples
    --------
    >>> from flood.datasets import make_annulus
    >>> X = make_annulus(500, inner_radius=1.0, outer_radius=2.0, random_state=0)
    >>> r = np.linalg.norm(X, axis=1)
    >>> bool(r.min() >= 1.0 and r.max() <= 2.0)
    True
    """
    func = "make_annulus"
    n_points = check_int(n_points, "n_points", func, low=1)
    outer_radius = check_float(outer_radius, "outer_radius", func, low=0.0, low_open=True)
    inner_radius = check_float(inner_radius, "inner_radius", func, low=0.0)
    if inner_radius >= outer_radius:
        raise ValueError(
            f"The 'inner_radius' parameter of {func} must be smaller than 'outer_radius' "
            f"({outer_radius!r}). Got {inner_radius!r} instead."
        )
    rng = check_random_state(random_state)
    # The area inside radius s grows like s^2: sample s^2 uniformly.
    s = np.sqrt(rng.uniform(inner_radius**2, outer_radius**2, n_points))
    t = rng.uniform(0.0, 2.0 * np.pi, n_points)
    return np.column_stack([s * np.cos(t), s * np.sin(t)])


def make_sphere(n_points=1000, *, dim=3, radius=1.0, noise=0.0, random_state=None):
    """Sample points uniformly on the sphere ``S^(dim-1)`` of R^dim.

    Parameters
    ----------
    n_points : int, default=1000
        Number of points.
    dim : int, default=3
        Ambient dimension (``dim=3`` gives the ordinary 2-sphere), at least 2.
    radius : float, default=1.0
        Radius of the sphere, centred at the origin.
    noise : float, default=0.0
        Standard deviation of isotropic Gaussian noise added to each point.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator.

    Returns
    -------
    points : ndarray of shape (n_points, dim)

    Examples
    --------
    >>> from flood.datasets import make_sphere
    >>> X = make_sphere(100, dim=4, radius=3.0, random_state=0)
    >>> X.shape, bool(np.allclose(np.linalg.norm(X, axis=1), 3.0))
    ((100, 4), True)
    """
    n_points = check_int(n_points, "n_points", "make_sphere", low=1)
    dim = check_int(dim, "dim", "make_sphere", low=2)
    radius = check_float(radius, "radius", "make_sphere", low=0.0, low_open=True)
    noise = check_float(noise, "noise", "make_sphere", low=0.0)
    rng = check_random_state(random_state)
    points = rng.standard_normal((n_points, dim))
    norms = np.linalg.norm(points, axis=1, keepdims=True)
    # A standard normal vector is zero with probability 0; guard anyway.
    norms[norms == 0] = 1.0
    points *= radius / norms
    return _add_noise(points, noise, rng)


def _torus_angles(n, R, r, rng):
    """Angles (phi, theta) distributed uniformly by area on the torus (rejection on theta)."""
    phis, thetas, have = [], [], 0
    accept_rate = R / (R + r)  # mean of (R + r cos theta) / (R + r)
    while have < n:
        m = int(math.ceil((n - have) / accept_rate * 1.05)) + 16
        theta = rng.uniform(0.0, 2.0 * np.pi, m)
        keep = rng.random(m) * (R + r) < R + r * np.cos(theta)
        theta = theta[keep][: n - have]
        thetas.append(theta)
        phis.append(rng.uniform(0.0, 2.0 * np.pi, theta.size))
        have += theta.size
    return np.concatenate(phis), np.concatenate(thetas)


def _torus_points(phi, theta, R, r):
    ring = R + r * np.cos(theta)
    return np.column_stack([ring * np.cos(phi), ring * np.sin(phi), r * np.sin(theta)])


def make_torus(n_points=1000, *, R=1.0, r=0.3, noise=0.0, random_state=None):
    """Sample points uniformly (by area) on a torus of revolution in R^3.

    The core circle has radius ``R`` and lies in the plane ``z = 0`` around the origin; the
    tube has radius ``r``. The area element is ``r (R + r cos(theta)) dtheta dphi``, so the
    tube angle ``theta`` is drawn by rejection sampling against that weight.

    Parameters
    ----------
    n_points : int, default=1000
        Number of points.
    R : float, default=1.0
        Radius of the core circle.
    r : float, default=0.3
        Radius of the tube, ``0 < r <= R``.
    noise : float, default=0.0
        Standard deviation of isotropic Gaussian noise added to each point.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator.

    Returns
    -------
    points : ndarray of shape (n_points, 3)

    Examples
    --------
    >>> from flood.datasets import make_torus
    >>> X = make_torus(1000, R=2.0, r=0.5, random_state=0)
    >>> dist_to_core = np.hypot(np.hypot(X[:, 0], X[:, 1]) - 2.0, X[:, 2])
    >>> X.shape, bool(np.allclose(dist_to_core, 0.5))
    ((1000, 3), True)
    """
    func = "make_torus"
    n_points = check_int(n_points, "n_points", func, low=1)
    R = check_float(R, "R", func, low=0.0, low_open=True)
    r = check_float(r, "r", func, low=0.0, low_open=True)
    if r > R:
        raise ValueError(
            f"The 'r' parameter of {func} must be at most 'R' ({R!r}) so that the torus does "
            f"not intersect itself. Got {r!r} instead."
        )
    noise = check_float(noise, "noise", func, low=0.0)
    rng = check_random_state(random_state)
    phi, theta = _torus_angles(n_points, R, r, rng)
    return _add_noise(_torus_points(phi, theta, R, r), noise, rng)


def make_genus_surface(n_points=1000, *, genus=2, R=1.0, r=0.3, noise=0.0, random_state=None):
    """Sample points on a closed surface of genus ``genus``: the boundary of a chain of tori.

    The solid is the union of ``genus`` solid tori (core radius ``R``, tube radius ``r``)
    whose core circles lie in the plane ``z = 0`` with centres ``2 R`` apart along the x axis,
    so consecutive cores touch at one point. Consecutive solid tori then overlap in a small
    contractible region, and the union is a handlebody of genus ``genus``: its boundary has
    Betti numbers ``(1, 2 * genus, 1)`` and Euler characteristic ``2 - 2 * genus``. Points are
    uniform by area on the boundary: each is drawn on a torus chosen uniformly at random and
    kept only if it lies outside every other solid torus.

    Parameters
    ----------
    n_points : int, default=1000
        Number of points.
    genus : int, default=2
        Number of handles, at least 1 (``genus=1`` is :func:`make_torus`).
    R : float, default=1.0
        Core radius of each torus.
    r : float, default=0.3
        Tube radius, ``0 < r < R``.
    noise : float, default=0.0
        Standard deviation of isotropic Gaussian noise added to each point.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator.

    Returns
    -------
    points : ndarray of shape (n_points, 3)
        The chain is centred at the origin; it spans ``[-genus R - r, genus R + r]`` along x.

    Examples
    --------
    >>> from flood.datasets import make_genus_surface
    >>> X = make_genus_surface(2000, genus=3, random_state=0)
    >>> X.shape, bool(X[:, 0].max() <= 3.3 + 1e-9)
    ((2000, 3), True)
    """
    func = "make_genus_surface"
    n_points = check_int(n_points, "n_points", func, low=1)
    genus = check_int(genus, "genus", func, low=1)
    R = check_float(R, "R", func, low=0.0, low_open=True)
    r = check_float(r, "r", func, low=0.0, low_open=True)
    if r >= R:
        raise ValueError(
            f"The 'r' parameter of {func} must be smaller than 'R' ({R!r}). Got {r!r} instead."
        )
    noise = check_float(noise, "noise", func, low=0.0)
    rng = check_random_state(random_state)
    centres = 2.0 * R * (np.arange(genus) - (genus - 1) / 2.0)
    chunks, have = [], 0
    while have < n_points:
        m = int(1.1 * (n_points - have)) + 16
        phi, theta = _torus_angles(m, R, r, rng)
        which = rng.integers(0, genus, m)
        pts = _torus_points(phi, theta, R, r)
        pts[:, 0] += centres[which]
        keep = np.ones(m, dtype=bool)
        for k, cx in enumerate(centres):
            core = np.hypot(np.hypot(pts[:, 0] - cx, pts[:, 1]) - R, pts[:, 2])
            keep &= (which == k) | (core >= r)
        pts = pts[keep][: n_points - have]
        chunks.append(pts)
        have += len(pts)
    return _add_noise(np.concatenate(chunks), noise, rng)
