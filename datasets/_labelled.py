"""Labelled sets of point clouds for classification and regression pipelines."""

import numpy as np

from flood.datasets._rocks import make_rock
from flood.datasets._shapes import make_circle, make_figure_eight, make_sphere, make_torus
from flood.datasets._swiss_cheese import make_swiss_cheese
from flood.datasets._validation import check_int, check_option, check_random_state

__all__ = ["make_rocks_dataset", "make_shapes_dataset", "make_swiss_cheese_dataset"]


def _balanced_labels(n_samples, n_classes, rng):
    """Labels ``0..n_classes-1`` as balanced as possible, in random order, and a seed each."""
    labels = rng.permutation(np.arange(n_samples) % n_classes)
    seeds = rng.integers(0, 2**32, size=n_samples)
    return labels, seeds


def make_swiss_cheese_dataset(
    n_samples=100,
    n_points=10_000,
    *,
    n_voids=(10, 20),
    box=(0.0, 5.0),
    radii=(0.1, 0.5),
    random_state=None,
):
    """Swiss cheese clouds labelled by their number of voids (the paper's benchmark).

    Parameters
    ----------
    n_samples : int, default=100
        Number of clouds; the classes are balanced (they differ by at most one).
    n_points : int, default=10_000
        Points per cloud (the paper uses 1,000,000).
    n_voids : sequence of int, default=(10, 20)
        Number of voids of each class: a cloud with label ``j`` has ``n_voids[j]`` voids.
    box, radii
        Passed to :func:`make_swiss_cheese`.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator; the same seed gives the same clouds and labels.

    Returns
    -------
    X : list of ndarray of shape (n_points, 3)
        The clouds.
    y : ndarray of shape (n_samples,), dtype int
        Class labels, indices into ``n_voids``.

    Examples
    --------
    >>> from flood.datasets import make_swiss_cheese_dataset
    >>> X, y = make_swiss_cheese_dataset(4, 500, random_state=0)
    >>> len(X), X[0].shape, sorted(y.tolist())
    (4, (500, 3), [0, 0, 1, 1])
    """
    func = "make_swiss_cheese_dataset"
    n_samples = check_int(n_samples, "n_samples", func, low=1)
    n_points = check_int(n_points, "n_points", func, low=1)
    try:
        voids = [check_int(v, "n_voids", func, low=0) for v in n_voids]
    except TypeError:
        raise TypeError(
            f"The 'n_voids' parameter of {func} must be a sequence of ints. "
            f"Got {n_voids!r} instead."
        ) from None
    if not voids:
        raise ValueError(f"The 'n_voids' parameter of {func} must not be empty. Got {n_voids!r}.")
    rng = check_random_state(random_state)
    y, seeds = _balanced_labels(n_samples, len(voids), rng)
    X = [
        make_swiss_cheese(n_points, n_voids=voids[label], box=box, radii=radii, random_state=s)
        for label, s in zip(y, seeds, strict=True)
    ]
    return X, y.astype(np.int64)


def make_rocks_dataset(
    n_samples=100,
    n_points=5_000,
    *,
    resolution=32,
    target="class",
    jitter=0.0,
    random_state=None,
):
    """Rock surfaces (see :func:`make_rock`) labelled by kind, or with area/volume targets.

    Half the rocks (up to one) are ``"blob"`` (label 0), the others ``"fractal"`` (label 1),
    in random order, whatever the target.

    Parameters
    ----------
    n_samples : int, default=100
        Number of rocks.
    n_points : int, default=5_000
        Surface points per rock.
    resolution : int, default=32
        Voxels per axis of each solid.
    target : {"class", "area", "volume"}, default="class"
        What ``y`` holds: the kind (0 blob, 1 fractal), the surface area or the volume.
    jitter : float, default=0.0
        Gaussian noise on the points, in voxel units (see :func:`make_rock`).
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator.

    Returns
    -------
    X : list of ndarray of shape (n_points, 3)
        The surface clouds, in ``[0, 1]^3``.
    y : ndarray of shape (n_samples,)
        int64 labels for ``target="class"``, float64 areas or volumes otherwise.

    Examples
    --------
    >>> from flood.datasets import make_rocks_dataset
    >>> X, y = make_rocks_dataset(4, 200, resolution=16, target="volume", random_state=0)
    >>> len(X), X[0].shape, y.dtype.kind, bool(np.all(y > 0))
    (4, (200, 3), 'f', True)
    """
    func = "make_rocks_dataset"
    n_samples = check_int(n_samples, "n_samples", func, low=1)
    target = check_option(target, "target", func, ("class", "area", "volume"))
    rng = check_random_state(random_state)
    labels, seeds = _balanced_labels(n_samples, 2, rng)
    X, y = [], []
    for label, seed in zip(labels, seeds, strict=True):
        rock = make_rock(
            n_points,
            kind=("blob", "fractal")[label],
            resolution=resolution,
            jitter=jitter,
            random_state=seed,
        )
        X.append(rock.points)
        y.append(label if target == "class" else rock[target])
    return X, np.asarray(y, dtype=np.int64 if target == "class" else np.float64)


def make_shapes_dataset(n_samples=100, n_points=500, *, dim=2, noise=0.0, random_state=None):
    """A quick two-class set: circles vs figure eights (``dim=2``) or spheres vs tori (``dim=3``).

    Each class differs in its first (``dim=2``: one loop vs two) or first and second
    (``dim=3``: sphere H1 = 0, H2 = 1; torus H1 = 2, H2 = 1) Betti numbers, so persistence
    features separate them perfectly at low noise.

    Parameters
    ----------
    n_samples : int, default=100
        Number of clouds; classes balanced.
    n_points : int, default=500
        Points per cloud.
    dim : {2, 3}, default=2
        Dimension of the clouds.
    noise : float, default=0.0
        Gaussian noise passed to the generators.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator.

    Returns
    -------
    X : list of ndarray of shape (n_points, dim)
    y : ndarray of shape (n_samples,), dtype int
        0 for circle/sphere, 1 for figure eight/torus.

    Examples
    --------
    >>> from flood.datasets import make_shapes_dataset
    >>> X, y = make_shapes_dataset(6, 100, dim=3, random_state=0)
    >>> len(X), X[0].shape, int(y.sum())
    (6, (100, 3), 3)
    """
    func = "make_shapes_dataset"
    n_samples = check_int(n_samples, "n_samples", func, low=1)
    dim = check_int(dim, "dim", func, low=2, high=3)
    rng = check_random_state(random_state)
    labels, seeds = _balanced_labels(n_samples, 2, rng)
    makers = (make_circle, make_figure_eight) if dim == 2 else (make_sphere, make_torus)
    X = [
        makers[label](n_points, noise=noise, random_state=seed)
        for label, seed in zip(labels, seeds, strict=True)
    ]
    return X, labels.astype(np.int64)
