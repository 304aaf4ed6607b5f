"""Landmark selection by farthest point sampling, and the exact landmark covering radius."""

import numpy as np

from flood.kernels import PointTree, build_tree
from flood.kernels._fps import farthest_points, fpsample_start
from flood.kernels._nearest import max_nearest_distance

#: From this many landmarks on, FPS runs on flood's k-d tree (:mod:`flood.kernels._fps`) when
#: one is given: on a 1M cheese, CPU s for 10^3 / 10^4 / 10^5 landmarks, fpsample 0.16 /
#: 0.34 / 1.51, the tree 0.12 / 0.23 / 0.65 (its start 0.03 included). Fewer landmarks keep
#: fpsample, whose choice among equal distances small tests (grids) were written against.
TREE_FPS_MIN_LANDMARKS = 1000


def _rotation(n, random_state):
    """The start's rotation of the array and fpsample's ``h`` for ``n`` points."""
    rng = np.random.default_rng(random_state)
    shift = int(rng.integers(n))  # a rotation moves the start; cheaper than a permutation
    h = 9 if n > 200_000 else 7 if n > 80_000 else 5
    return shift, max(1, min(h, int(np.log2(max(n, 2))) - 1))


def _rolled(points, shift):
    """``points`` rotated by ``shift`` rows, as float32 (fpsample's precision)."""
    n = len(points)
    rolled = np.empty(np.shape(points), dtype=np.float32)
    rolled[: n - shift] = points[shift:]
    rolled[n - shift :] = points[:shift]
    return rolled


def tree_fps_start(points, random_state=None):
    """The input index where :func:`farthest_point_sampling` starts on a tree (fpsample's
    own start, behind the ``random_state``-seeded rotation). Needs no tree: flood_complex
    computes it while the tree is built."""
    points = np.asarray(points)
    shift, h = _rotation(len(points), random_state)
    return (fpsample_start(_rolled(points, shift), h) + shift) % len(points)


def farthest_point_sampling(
    points, n_landmarks, random_state=None, tree=None, start=None, launched=None
):
    """Indices of ``n_landmarks`` points of ``points`` chosen by farthest point sampling.

    Uses ``fpsample``'s bucket FPS (QuickFPS) on the float32 points. It starts from the
    point at ``start_idx=0`` of its own k-d ordered copy of the array it is given, so the
    start is randomized by a ``random_state``-seeded rotation of that array. From
    :data:`TREE_FPS_MIN_LANDMARKS` landmarks on, with a ``tree``,
    :func:`flood.kernels._fps.fpsample_start` finds that start and
    :func:`flood.kernels._fps.farthest_points` samples on the tree: the same float32
    arithmetic, so the same landmarks except where two points are exactly equally far
    (fpsample takes the first in its own order, the tree the first in tree order).

    Parameters
    ----------
    points : ndarray of shape (n_points, dim)
    n_landmarks : int
        ``1 <= n_landmarks <= n_points``.
    random_state : int, Generator or None
    tree : PointTree, optional
        A tree over ``points`` on the CPU.
    start : int, optional
        :func:`tree_fps_start` of these points and ``random_state``, when computed
        beforehand (used only on the tree; ``random_state`` is then not drawn from).
    launched : threading.Event, optional
        Set as the sampling on the tree starts (:func:`flood.kernels._fps.farthest_points`);
        never set otherwise.

    Returns
    -------
    indices : ndarray of int64, shape (n_landmarks,)
    """
    import fpsample

    points = np.asarray(points)
    n = len(points)
    if n_landmarks >= n:
        return np.arange(n)
    if tree is None or not samples_on_tree(n_landmarks, tree.device):
        # fpsample works in float32: rotate while converting, one pass and half the bytes
        shift, h = _rotation(n, random_state)
        rolled = _rolled(points, shift)
        idx = fpsample.bucket_fps_kdline_sampling(rolled, int(n_landmarks), h=h, start_idx=0)
        return (np.asarray(idx, dtype=np.int64) + shift) % n
    first = tree_fps_start(points, random_state) if start is None else int(start)
    position = int(np.flatnonzero(tree.order == first)[0])
    return tree.order[farthest_points(tree, int(n_landmarks), position, launched)]


def samples_on_tree(n_landmarks, device):
    """Whether :func:`farthest_point_sampling`, given a tree on ``device`` and fewer
    landmarks than points, samples on it (a CPU tree, from :data:`TREE_FPS_MIN_LANDMARKS`
    landmarks on) and so starts from :func:`tree_fps_start`."""
    return n_landmarks >= TREE_FPS_MIN_LANDMARKS and str(device).startswith("cpu")


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
