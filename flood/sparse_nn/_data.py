"""Point-cloud batches for the networks: validation, resampling, normalisation, splits."""

import math

import numpy as np
import torch

from flood._validation import check_clouds as _check_clouds

__all__ = ["POOL_FACTOR", "augment_clouds", "check_clouds", "normalize_clouds", "stratified_split"]

#: With augmentation, each cloud keeps this many times ``n_points`` points (fewer if it has
#: fewer), and every epoch draws a fresh random ``n_points`` of them.
POOL_FACTOR = 4
#: PointNet's jitter: Gaussian noise of this standard deviation, clipped at JITTER_CLIP, in
#: the unit-ball coordinates the networks see.
JITTER, JITTER_CLIP = 0.01, 0.05
#: Isotropic random scaling range (PointNet++ / DGCNN practice).
SCALE_RANGE = (0.8, 1.25)


def check_clouds(X, name: str = "X") -> list[np.ndarray]:
    """Validate point clouds: a list of (n_i, 3) arrays or one (n_clouds, n_points, 3) array.

    The networks' rule is flood's cloud rule (:func:`flood._validation.check_clouds`, same
    messages) with three coordinates per point.

    Parameters
    ----------
    X : list of array-like of shape (n_i, 3), or array-like of shape (n_clouds, n_points, 3)
        Point clouds; each needs at least one point and finite coordinates.
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    list of ndarray of shape (n_i, 3), dtype float64

    Examples
    --------
    >>> [c.shape for c in check_clouds([[[0, 0, 0]], [[1, 2, 3], [4, 5, 6]]])]
    [(1, 3), (2, 3)]
    """
    return _check_clouds(X, name=name, dim=3)


def normalize_clouds(
    clouds: list[np.ndarray], n_points: int, rng: np.random.Generator
) -> np.ndarray:
    """Resample every cloud to ``n_points`` points, centre it and scale it into the unit ball.

    Clouds with at least ``n_points`` points are subsampled without replacement, smaller ones
    with replacement. Each is centred on its full centroid and divided by the largest norm of
    its sample (a one-point cloud becomes the origin).

    Parameters
    ----------
    clouds : list of ndarray of shape (n_i, 3)
        Validated clouds (:func:`check_clouds`).
    n_points : int
        Points per resampled cloud.
    rng : numpy.random.Generator
        Source of the resampling.

    Returns
    -------
    ndarray of shape (n_clouds, n_points, 3), dtype float32

    Examples
    --------
    >>> import numpy as np
    >>> out = normalize_clouds([np.eye(3) * 10 + 5], 4, np.random.default_rng(0))
    >>> out.shape, bool(np.linalg.norm(out, axis=-1).max() <= 1 + 1e-6)
    ((1, 4, 3), True)
    """
    out = np.empty((len(clouds), n_points, 3), dtype=np.float32)
    for i, cloud in enumerate(clouds):
        index = rng.choice(len(cloud), size=n_points, replace=len(cloud) < n_points)
        sample = cloud[index] - cloud.mean(axis=0)
        radius = np.linalg.norm(sample, axis=1).max()
        out[i] = sample / radius if radius > 0 else sample
    return out


def stratified_split(
    y: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices into (train, validation), ``floor(fraction * n_c)`` per class.

    Every class keeps at least one training sample.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Encoded labels.
    fraction : float in [0, 1)
        Share of each class held out.
    rng : numpy.random.Generator
        Source of the split.

    Returns
    -------
    train, validation : ndarray of int
        Sorted indices.

    Examples
    --------
    >>> import numpy as np
    >>> train, val = stratified_split(np.array([0] * 10 + [1] * 5), 0.2, np.random.default_rng(0))
    >>> len(train), len(val)
    (12, 3)
    """
    train, validation = [], []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n_val = min(int(np.floor(fraction * len(members))), len(members) - 1)
        validation.append(members[:n_val])
        train.append(members[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(validation))


def augment_clouds(
    batch: torch.Tensor, n_points: int, generator: torch.Generator | None
) -> torch.Tensor:
    """A random ``n_points`` of each cloud's pool, rotated about z, scaled and jittered.

    Every cloud of the batch gets its own random subset (without replacement), rotation
    angle about the z axis, isotropic scale in :data:`SCALE_RANGE` and per-point Gaussian
    jitter (:data:`JITTER`, clipped at :data:`JITTER_CLIP`).

    Parameters
    ----------
    batch : torch.Tensor of shape (batch, pool, 3)
        Normalised clouds, ``pool >= n_points``.
    n_points : int
        Points per augmented cloud.
    generator : torch.Generator or None
        CPU source of the randomness (None: torch's global one).

    Returns
    -------
    torch.Tensor of shape (batch, n_points, 3)

    Examples
    --------
    >>> import torch
    >>> out = augment_clouds(torch.zeros(2, 8, 3), 5, torch.Generator().manual_seed(0))
    >>> out.shape, bool(out.abs().max() <= 0.05)
    (torch.Size([2, 5, 3]), True)
    """
    size, pool, _ = batch.shape
    if pool > n_points:
        index = torch.rand(size, pool, generator=generator).argsort(dim=1)[:, :n_points]
        index = index.to(batch.device).unsqueeze(-1).expand(-1, -1, 3)
        batch = torch.gather(batch, 1, index)
    angle = torch.rand(size, generator=generator) * (2 * math.pi)
    cos, sin, zero, one = angle.cos(), angle.sin(), torch.zeros(size), torch.ones(size)
    rotation = torch.stack([cos, -sin, zero, sin, cos, zero, zero, zero, one], dim=1).reshape(
        size, 3, 3
    )
    low, high = SCALE_RANGE
    scale = low + (high - low) * torch.rand(size, 1, 1, generator=generator)
    noise = (torch.randn(size, n_points, 3, generator=generator) * JITTER).clamp(
        -JITTER_CLIP, JITTER_CLIP
    )
    transform = (rotation.transpose(1, 2) * scale).to(batch)
    return batch @ transform + noise.to(batch)
