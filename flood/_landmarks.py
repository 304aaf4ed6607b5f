"""Landmark selection by farthest point sampling, and the exact landmark covering radius."""

import numpy as np

from flood.kernels import PointTree, build_tree
from flood.kernels._nearest import max_nearest_distance


def farthest_point_sampling(points, n_landmarks, random_state=None):
    """Indices of ``n_landmarks`` points of ``points`` chosen by farthest point sampling.

    Uses ``fpsample``'s bucket FPS (QuickFPS). It always starts from the first point of the
    array it is given, so the start is randomized by a ``random_state``-seeded rotation.

    Parameters
    ----------
    points : ndarray of shape (n_points, dim)
    n_landmarks : int
        ``1 <= n_landmarks <= n_points``.
    random_state : int, Generator or None

    Returns
    -------
    indices : ndarray of int64, shape (n_landmarks,)
    """
    import fpsample

    points = np.asarray(points)
    n = len(points)
    if n_landmarks >= n:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    shift = int(rng.integers(n))  # a rotation moves the start; cheaper than a permutation
    h = 9 if n > 200_000 else 7 if n > 80_000 else 5
    h = max(1, min(h, int(np.log2(max(n, 2))) - 1))
    # fpsample works in float32: rotate while converting, one pass and half the bytes
    rolled = np.empty(np.shape(points), dtype=np.float32)
    rolled[: n - shift] = points[shift:]
    rolled[n - shift :] = points[:shift]
    idx = fpsample.bucket_fps_kdline_sampling(rolled, int(n_landmarks), h=h, start_idx=0)
    return (np.asarray(idx, dtype=np.int64) + shift) % n


def covering_radius(points, landmarks, device="cpu", n_threads=2):
    """Exact ``max over x in X of min over l in L |x - l|``.

    Parameters
    ----------
    points : ndarray of shape (n_points, dim) or PointTree
        X (a tree over X is reused; else one is built).
    landmarks : ndarray of shape (n_landmarks, dim)
    device : str
    n_threads : int
        CPU threads sharing the queries.

    Returns
    -------
    radius : float
    """
    tree = points if isinstance(points, PointTree) else build_tree(points, device=device)
    return max_nearest_distance(build_tree(landmarks, device=device), tree, n_threads=n_threads)
