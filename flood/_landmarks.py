"""Landmark selection by farthest point sampling, and the exact landmark covering radius."""

import numpy as np

from flood.kernels import build_tree, nearest


def farthest_point_sampling(points, n_landmarks, random_state=None):
    """Indices of ``n_landmarks`` points of ``points`` chosen by farthest point sampling.

    Uses ``fpsample``'s bucket FPS (QuickFPS). It always starts from the same point of a
    given array, so the start is randomized by a ``random_state``-seeded permutation.

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

    n = len(points)
    if n_landmarks >= n:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    perm = rng.permutation(n)
    h = 9 if n > 200_000 else 7 if n > 80_000 else 5
    h = max(1, min(h, int(np.log2(max(n, 2))) - 1))
    idx = fpsample.bucket_fps_kdline_sampling(points[perm], int(n_landmarks), h=h, start_idx=0)
    return perm[np.asarray(idx, dtype=np.int64)]


def covering_radius(points, landmarks, device="cpu"):
    """Exact ``max over x in X of min over l in L |x - l|`` and each point's nearest landmark.

    Returns
    -------
    radius : float
    nearest_landmark : ndarray of int64, shape (n_points,)
    """
    tree = build_tree(landmarks, device=device)
    index, dist = nearest(tree, points)
    return float(dist.max()), tree.order[index]
