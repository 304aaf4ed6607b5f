"""Synthetic "rocks": voxel solids turned into surface point clouds, with area and volume.

Two kinds, told apart by their surface roughness: ``"fractal"`` (a ball perturbed by
power-law spectral noise, then thresholded) and ``"blob"`` (a smoothed union of a few random
ellipsoids). The solid is a boolean voxel grid on ``[0, 1]^3`` reduced to its largest
face-connected component with internal cavities filled; its surface is the union of the
exposed voxel faces, so the returned area and volume are exact for that solid.
"""

import numpy as np
from scipy import ndimage
from sklearn.utils import Bunch

from flood.datasets._validation import check_float, check_int, check_option, check_random_state

__all__ = ["make_rock", "voxel_surface_area", "voxel_volume"]

_KINDS = ("blob", "fractal")


def _grid(resolution):
    c = (np.arange(resolution) + 0.5) / resolution
    return np.meshgrid(c, c, c, indexing="ij", sparse=True)


def _fractal_field(resolution, rng):
    """A ball of random radius plus Gaussian noise with power spectrum ``|k|^(-2 beta)``."""
    white = rng.standard_normal((resolution,) * 3)
    beta = rng.uniform(1.5, 2.0)
    k = [np.fft.fftfreq(resolution) * resolution] * 2 + [np.fft.rfftfreq(resolution) * resolution]
    kx, ky, kz = np.meshgrid(*k, indexing="ij", sparse=True)
    kk = np.sqrt(kx**2 + ky**2 + kz**2)
    kk[0, 0, 0] = np.inf
    noise = np.fft.irfftn(np.fft.rfftn(white) * kk**-beta, s=white.shape, axes=(0, 1, 2))
    noise /= noise.std()
    x, y, z = _grid(resolution)
    rho = rng.uniform(0.25, 0.36)
    dist2 = ((x - 0.5) ** 2 + (y - 0.5) ** 2 + (z - 0.5) ** 2) / rho**2
    return 1.0 - dist2 + rng.uniform(0.25, 0.45) * noise > 0.0


def _blob_field(resolution, rng):
    """A smoothed union of 3 to 6 randomly rotated ellipsoids near the centre."""
    x, y, z = _grid(resolution)
    solid = np.zeros((resolution,) * 3, dtype=bool)
    for _ in range(rng.integers(3, 7)):
        centre = 0.5 + rng.uniform(-0.12, 0.12, 3)
        rot, _r = np.linalg.qr(rng.standard_normal((3, 3)))
        axes = rng.uniform(0.1, 0.22, 3)
        q = np.zeros_like(solid, dtype=float)
        for row, a in zip(rot.T, axes, strict=True):
            proj = row[0] * (x - centre[0]) + row[1] * (y - centre[1]) + row[2] * (z - centre[2])
            q = q + (proj / a) ** 2
        solid |= q <= 1.0
    smooth = ndimage.gaussian_filter(solid.astype(float), sigma=0.04 * resolution)
    return smooth > 0.5


def _clean(solid):
    """Empty border, largest face-connected component, cavities filled."""
    solid[[0, -1], :, :] = solid[:, [0, -1], :] = solid[:, :, [0, -1]] = False
    labels, n = ndimage.label(solid)
    if n > 1:
        solid = labels == np.argmax(np.bincount(labels.ravel())[1:]) + 1
    return ndimage.binary_fill_holes(solid)


def _exposed_faces(solid):
    """Exposed faces of a voxel solid: normal axis (F,) and lower corner (F, 3) in voxels."""
    axes, corners = [], []
    for a in range(3):
        pad = [(0, 0)] * 3
        pad[a] = (1, 1)
        change = np.diff(np.pad(solid, pad).astype(np.int8), axis=a) != 0
        idx = np.argwhere(change)
        axes.append(np.full(len(idx), a))
        corners.append(idx)
    return np.concatenate(axes), np.concatenate(corners)


def voxel_surface_area(solid, voxel_size=1.0):
    """Area of the boundary of a voxel solid: the number of exposed faces times ``h^2``.

    Parameters
    ----------
    solid : array-like of bool, shape (nx, ny, nz)
        Occupancy grid; voxels outside the grid count as empty.
    voxel_size : float, default=1.0
        Edge length ``h`` of a voxel.

    Returns
    -------
    area : float

    Examples
    --------
    >>> from flood.datasets import voxel_surface_area
    >>> voxel_surface_area(np.ones((2, 2, 2), dtype=bool), voxel_size=0.5)
    6.0
    """
    solid = np.asarray(solid, dtype=bool)
    count = 0
    for a in range(3):
        pad = [(0, 0)] * 3
        pad[a] = (1, 1)
        count += int(np.count_nonzero(np.diff(np.pad(solid, pad).astype(np.int8), axis=a)))
    return count * float(voxel_size) ** 2


def voxel_volume(solid, voxel_size=1.0):
    """Volume of a voxel solid: the number of occupied voxels times ``h^3``.

    Parameters
    ----------
    solid : array-like of bool, shape (nx, ny, nz)
        Occupancy grid.
    voxel_size : float, default=1.0
        Edge length ``h`` of a voxel.

    Returns
    -------
    volume : float

    Examples
    --------
    >>> from flood.datasets import voxel_volume
    >>> voxel_volume(np.ones((2, 2, 2), dtype=bool), voxel_size=0.5)
    1.0
    """
    return int(np.count_nonzero(solid)) * float(voxel_size) ** 3


def make_rock(n_points=10_000, *, kind="fractal", resolution=48, jitter=0.0, random_state=None):
    """Make a random rock-like voxel solid and sample points on its surface.

    ``kind="fractal"`` thresholds a ball plus power-law (fractal) Gaussian noise, which gives a
    rough, craggy surface; ``kind="blob"`` thresholds a Gaussian-smoothed union of 3 to 6
    random ellipsoids, which gives a smooth, lumpy one. In both cases the solid is the largest
    face-connected component with cavities filled, inside ``[0, 1]^3`` with an empty border.
    Points are uniform by area on the exposed voxel faces (a face is chosen uniformly, then a
    point uniformly inside it), plus optional Gaussian jitter.

    Parameters
    ----------
    n_points : int, default=10_000
        Number of surface points.
    kind : {"fractal", "blob"}, default="fractal"
        Kind of solid.
    resolution : int, default=48
        Voxels per axis (at least 8); the voxel size is ``1 / resolution``.
    jitter : float, default=0.0
        Standard deviation of Gaussian noise added to each point, in units of the voxel size.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator.

    Returns
    -------
    rock : :class:`sklearn.utils.Bunch`
        ``points`` (ndarray of shape (n_points, 3)); ``area`` (float, area of the voxel
        surface, the staircase, which is larger than that of a smooth surface through it);
        ``volume`` (float); ``solid`` (bool ndarray of shape (resolution,) * 3);
        ``voxel_size`` (float); ``kind`` (str).

    Examples
    --------
    >>> from flood.datasets import make_rock
    >>> rock = make_rock(1000, kind="blob", resolution=24, random_state=0)
    >>> rock.points.shape, rock.area > 0, rock.volume > 0
    ((1000, 3), True, True)
    """
    func = "make_rock"
    n_points = check_int(n_points, "n_points", func, low=1)
    kind = check_option(kind, "kind", func, _KINDS)
    resolution = check_int(resolution, "resolution", func, low=8)
    jitter = check_float(jitter, "jitter", func, low=0.0)
    rng = check_random_state(random_state)
    make_field = _fractal_field if kind == "fractal" else _blob_field
    solid = np.zeros(0, dtype=bool)
    for _ in range(10):  # a solid with less than 8 voxels is a degenerate draw: redraw
        solid = _clean(make_field(resolution, rng))
        if np.count_nonzero(solid) >= 8:
            break
    else:  # pragma: no cover - needs ten degenerate draws in a row
        raise ValueError(f"make_rock could not make a non-trivial {kind!r} solid.")
    h = 1.0 / resolution
    normal, corner = _exposed_faces(solid)
    pick = rng.integers(0, len(normal), n_points)
    offset = rng.random((n_points, 3))
    offset[np.arange(n_points), normal[pick]] = 0.0
    points = (corner[pick] + offset) * h
    if jitter > 0:
        points += rng.normal(scale=jitter * h, size=points.shape)
    return Bunch(
        points=points,
        area=len(normal) * h * h,
        volume=voxel_volume(solid, h),
        solid=solid,
        voxel_size=h,
        kind=kind,
    )
