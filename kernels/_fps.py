"""Farthest point sampling on the k-d tree (:mod:`flood.kernels._tree`), in float32.

Each new landmark ``q`` lowers the squared distance ``d(x)`` of the points nearer to it than
to every earlier landmark. The tree keeps, per node, the largest ``d`` below it and where it
is: a node whose box is no nearer to ``q`` than that largest ``d`` holds no point to lower
and is skipped, so landmark ``k`` touches about ``n / k`` points, and the next landmark is
read at the root. The arithmetic is fpsample's (``fpsample.bucket_fps_kdline_sampling``):
float32 coordinates, ``d`` the float32 sum over the axes, in order, of the squared
differences. Boxes are the float64 boxes rounded to float32 (rounding is monotone, so they
bound the rounded points) and a box distance is summed in the same order, so it never
exceeds the distance of a point inside: the skips are exact and the landmarks are exact FPS
of the float32 points; only the choice among exactly equal distances may differ from
fpsample's (here the first in tree order).

fpsample starts from the point at ``start_idx`` of its own k-d ordered copy of the points
(its tree build partitions them in place first). :func:`fpsample_start` finds the point
that ``start_idx=0`` names by repeating that build along its leftmost path only (float32
box, float32 running sum for the mean split, the same partition loop): 0.03 s for a 1M
cloud where fpsample's whole build takes 0.10 s.
"""

import numpy as np
import warp as wp

from flood.kernels._tree import LEAF_SIZE, host_array
from flood.kernels._tree_query import MAX_TREE_DEPTH

wp.set_module_options({"enable_backward": False})

FLOAT32_MAX = 3.4028234663852886e38  # fpsample's empty box: numeric_limits<float>::max()


vec6f = wp.types.vector(length=6, dtype=wp.float32)  # a landmark, dim <= 6


@wp.func
def _dist2(points: wp.array2d(dtype=wp.float32), p: int, q: vec6f):
    """fpsample's squared distance: the squared differences summed axis by axis."""
    if points.shape[1] == 3:  # the common case, unrolled (the same sums in the same order)
        t0 = points[p, 0] - q[0]
        t1 = points[p, 1] - q[1]
        t2 = points[p, 2] - q[2]
        return (t0 * t0 + t1 * t1) + t2 * t2
    s = wp.float32(0.0)
    for j in range(points.shape[1]):
        t = points[p, j] - q[j]
        s = s + t * t
    return s


@wp.func
def _box_dist2(
    lo: wp.array2d(dtype=wp.float32), hi: wp.array2d(dtype=wp.float32), node: int, q: vec6f
):
    """The squared distance of ``q`` to a box, summed as :func:`_dist2` sums: never more than
    :func:`_dist2` of a point in the box (rounding is monotone)."""
    zero = wp.float32(0.0)
    if lo.shape[1] == 3:
        e0 = wp.max(wp.max(lo[node, 0] - q[0], q[0] - hi[node, 0]), zero)
        e1 = wp.max(wp.max(lo[node, 1] - q[1], q[1] - hi[node, 1]), zero)
        e2 = wp.max(wp.max(lo[node, 2] - q[2], q[2] - hi[node, 2]), zero)
        return (e0 * e0 + e1 * e1) + e2 * e2
    s = wp.float32(0.0)
    for j in range(lo.shape[1]):
        t = wp.max(wp.max(lo[node, j] - q[j], q[j] - hi[node, j]), zero)
        s = s + t * t
    return s


@wp.func
def _update_leaf(
    points: wp.array2d(dtype=wp.float32),
    first_leaf: int,
    node: int,
    q: vec6f,
    d: wp.array(dtype=wp.float32),
    node_max: wp.array(dtype=wp.float32),
    node_arg: wp.array(dtype=wp.int32),
):
    """Lower ``d`` over the leaf's points by landmark ``q``; store the leaf's largest ``d``
    and its first point."""
    start = (node - first_leaf) * LEAF_SIZE
    stop = wp.min(start + LEAF_SIZE, points.shape[0])
    best = wp.float32(-1.0)
    arg = int(start)
    for p in range(start, stop):
        v = wp.min(d[p], _dist2(points, p, q))
        d[p] = v
        if v > best:
            best = v
            arg = p
    node_max[node] = best
    node_arg[node] = wp.int32(arg)


@wp.kernel
def fps_kernel(
    points: wp.array2d(dtype=wp.float32),
    lo: wp.array2d(dtype=wp.float32),
    hi: wp.array2d(dtype=wp.float32),
    first_leaf: int,
    start: int,
    d: wp.array(dtype=wp.float32),
    node_max: wp.array(dtype=wp.float32),
    node_arg: wp.array(dtype=wp.int32),
    visited: wp.array(dtype=wp.int32),
    stack: wp.array(dtype=wp.int32),
    out: wp.array(dtype=wp.int32),
):
    """All landmarks, one after the other (one thread): ``out[k]`` is a tree position."""
    r = start
    for k in range(out.shape[0]):
        out[k] = wp.int32(r)
        q = vec6f()
        for j in range(points.shape[1]):
            q[j] = points[r, j]
        sp = int(1)
        stack[0] = 0
        n_visited = int(0)
        while sp > 0:
            sp -= 1
            node = int(stack[sp])
            if node_max[node] > _box_dist2(lo, hi, node, q):
                if node >= first_leaf:
                    _update_leaf(points, first_leaf, node, q, d, node_max, node_arg)
                else:
                    visited[n_visited] = wp.int32(node)
                    n_visited += 1
                    stack[sp] = wp.int32(2 * node + 2)
                    stack[sp + 1] = wp.int32(2 * node + 1)
                    sp += 2
        for v in range(n_visited - 1, -1, -1):  # children before parents
            node = int(visited[v])
            left = 2 * node + 1
            right = left + 1
            if node_max[right] > node_max[left]:
                left = right
            node_max[node] = node_max[left]
            node_arg[node] = node_arg[left]
        r = int(node_arg[0])


@wp.kernel
def fpsample_start_kernel(
    points: wp.array2d(dtype=wp.float32),
    ids: wp.array(dtype=wp.int32),
    height: int,
    out: wp.array(dtype=wp.int32),
):
    """fpsample's k-d build (``KDTreeBase::divideTree``) on the node holding position 0,
    down to ``height`` levels or one point: split at the float32 mean along the axis of
    the widest float32 box (the first on ties), partition from both ends; ``out[0]`` is
    the id left at position 0. Permutes ``points`` and ``ids``."""
    dim = points.shape[1]
    right = points.shape[0]
    high = int(0)
    while high != height and right != 1:
        axis = int(0)
        widest = wp.float32(0.0)
        for j in range(dim):
            lo = wp.float32(FLOAT32_MAX)
            hi = wp.float32(-FLOAT32_MAX)
            for i in range(right):
                lo = wp.min(lo, points[i, j])
                hi = wp.max(hi, points[i, j])
            if hi - lo > widest:
                widest = hi - lo
                axis = j
        total = wp.float32(0.0)
        for i in range(right):
            total = total + points[i, axis]
        split = total / wp.float32(right)
        start = int(0)
        end = right - 1
        while start <= end:
            while start <= end and points[start, axis] < split:
                start += 1
            while start <= end and points[end, axis] >= split:
                end -= 1
            if start < end:
                for j in range(dim):
                    t = points[start, j]
                    points[start, j] = points[end, j]
                    points[end, j] = t
                k = ids[start]
                ids[start] = ids[end]
                ids[end] = k
                start += 1
                end -= 1
        if start == 0:
            start = 1
        if start == right:
            start = right - 1
        right = start
        high += 1
    out[0] = ids[0]


def fpsample_start(points, height):
    """The index of the point where ``fpsample.bucket_fps_kdline_sampling(points, n, h=height,
    start_idx=0)`` starts.

    Parameters
    ----------
    points : ndarray of float32, shape (n_points, dim)
        C-contiguous; it is reordered in place.
    height : int
        fpsample's ``h``.

    Returns
    -------
    index : int
    """
    out = wp.zeros(1, dtype=wp.int32, device="cpu")
    ids = wp.array(np.arange(len(points), dtype=np.int32), dtype=wp.int32, device="cpu")
    pts = wp.array(points, dtype=wp.float32, device="cpu", copy=False)
    wp.launch(fpsample_start_kernel, dim=1, inputs=[pts, ids, int(height)], outputs=[out])
    return int(out.numpy()[0])


def fpsample_start_reference(points, height):
    """fpsample itself: its first sample from ``start_idx=0``."""
    import fpsample

    return int(fpsample.bucket_fps_kdline_sampling(points, 1, h=height, start_idx=0)[0])


def farthest_points(tree, n_samples, start, launched=None, record=None):
    """Farthest point sampling of the points of ``tree`` from tree position ``start``.

    Parameters
    ----------
    tree : PointTree
        On the CPU (one thread walks the tree for all samples).
    n_samples : int
        ``1 <= n_samples <= tree.n_points``.
    start : int
        Tree position of the first sample.
    launched : threading.Event, optional
        Set just before the kernel starts, once its launch is recorded (it runs ~0.05 s at
        1M points and 1,000 samples on one core, the GIL released: what another thread may
        do meanwhile, even load Warp modules).
    record : dict, optional
        Receives ``"sq_distances"``: per tree position, the float32 squared distance (as
        the sampling sums it) to the nearest sample, the array the kernel kept up to date
        (:func:`flood._landmarks.covering_radius_from_fps` reads the covering radius off it).

    Returns
    -------
    positions : ndarray of int32, shape (n_samples,)
        Tree positions of the samples (``tree.order[positions]`` in input order).
    """
    device = tree.device
    lo = tree.lo.numpy().astype(np.float32)
    hi = tree.hi.numpy().astype(np.float32)
    # a padding node (empty box) is never visited; every other node is, the first time
    node_max = np.where(lo[:, 0] > hi[:, 0], -np.inf, np.inf).astype(np.float32)
    points = tree.points.numpy().astype(np.float32)
    out = wp.empty(n_samples, dtype=wp.int32, device=device)

    copy = not wp.get_device(device).is_cpu  # on the CPU the kernel uses NumPy's arrays

    def shared(a):
        return (
            wp.array(a, dtype=wp.dtype_from_numpy(a.dtype), device=device)
            if copy
            else host_array(a)
        )

    sq_distances = np.full(tree.n_points, np.inf, dtype=np.float32)
    inputs = [  # held here until the kernel has run
        shared(points),
        shared(lo),
        shared(hi),
        tree.first_leaf,
        int(start),
        shared(sq_distances),
        shared(node_max),
        wp.zeros(len(lo), dtype=wp.int32, device=device),
        wp.empty(max(tree.first_leaf, 1), dtype=wp.int32, device=device),
        wp.empty(2 * MAX_TREE_DEPTH + 2, dtype=wp.int32, device=device),
    ]
    # recorded first: the launch itself then needs neither the GIL for long nor Warp's
    # code-generation lock (which a module load in another thread may hold)
    cmd = wp.launch(fps_kernel, dim=1, inputs=inputs, outputs=[out], device=device, record_cmd=True)
    if launched is not None:
        launched.set()
    cmd.launch()
    if record is not None:
        record["sq_distances"] = sq_distances if not copy else inputs[5].numpy()
    return out.numpy()


def farthest_points_reference(points, n_samples, start):
    """NumPy reference of :func:`farthest_points`: input-order indices, float32 distances
    summed axis by axis, the first index on exact ties."""
    pts = np.asarray(points, dtype=np.float32)
    d = np.full(len(pts), np.inf, dtype=np.float32)
    out = [int(start)]
    for _ in range(n_samples - 1):
        diff = pts - pts[out[-1]]
        s = np.zeros(len(pts), dtype=np.float32)
        for j in range(pts.shape[1]):
            s = s + diff[:, j] * diff[:, j]
        d = np.minimum(d, s)
        out.append(int(np.argmax(d)))
    return np.array(out)
