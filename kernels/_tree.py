"""A balanced k-d tree over X in Warp, for exact nearest-point queries.

The tree is a complete binary tree in heap layout (node ``i`` has children ``2i+1`` and
``2i+2``) over leaves of ``LEAF_SIZE`` points, built level by level: each node splits its
points at the median of its widest axis (a quickselect per node, one thread per node; the
points are first put in Z-order, so that each node's quickselect reads nearby memory; on the
CPU, below nodes of ``SUBTREE_POINTS`` points, one thread splits a whole subtree, in cache).
A node's split depends only on its own points, so the tree is the same either way. Each node
stores the axis-aligned bounding box of its points. The queries are in
:mod:`flood.kernels._tree_query` (``@wp.func``s) and :mod:`flood.kernels._nearest` (kernels
and launchers).
"""

from dataclasses import dataclass

import numpy as np
import warp as wp

from flood.kernels._pool import run_shared

wp.set_module_options({"enable_backward": False})

LEAF_SIZE = 8
ZORDER_BITS = 7  # grid bits per axis of the Z-order that precedes the median splits
# On the CPU, the levels below nodes of at most this many points are split one subtree per
# thread: its points and indices (~28 bytes each, ~460 KB) stay in a core's L2 cache
# (1 MiB here) instead of streaming all of X from memory once per level.
SUBTREE_POINTS = 1 << 14


MAX_DIM = 6  # a point of a split or a query is held in a vec6
vec6 = wp.types.vector(length=MAX_DIM, dtype=wp.float64)


@wp.func
def _widest_axis(
    points: wp.array2d(dtype=wp.float64), perm: wp.array(dtype=wp.int32), s: int, e: int
):
    """The axis of largest extent of points ``perm[s:e]``, estimated from at most 512 of
    them (any axis keeps the tree exact); the first such axis on ties."""
    dim = points.shape[1]
    mn = vec6()
    mx = vec6()
    for j in range(dim):
        mn[j] = wp.float64(wp.inf)
        mx[j] = wp.float64(-wp.inf)
    stride = wp.max(1, (e - s) // 512)
    for i in range(s, e, stride):
        p = int(perm[i])
        for j in range(dim):
            v = points[p, j]
            mn[j] = wp.min(mn[j], v)
            mx[j] = wp.max(mx[j], v)
    axis = int(0)
    widest = wp.float64(-1.0)
    for j in range(dim):
        if mx[j] - mn[j] > widest:
            widest = mx[j] - mn[j]
            axis = j
    return axis


@wp.func
def split_node(
    points: wp.array2d(dtype=wp.float64),
    perm: wp.array(dtype=wp.int32),
    s: int,
    e: int,
    mid: int,
):
    """Partition ``perm[s:e]`` so that ``perm[s:mid]`` holds the points with the smaller
    coordinates along the widest axis: a quickselect (Hoare partitions, median-of-three
    pivots) whose result depends only on the entries of its own range."""
    axis = _widest_axis(points, perm, s, e)
    left = s
    right = e - 1
    while right > left:
        a = points[int(perm[left]), axis]
        b = points[int(perm[(left + right) // 2]), axis]
        c = points[int(perm[right]), axis]
        pivot = wp.max(wp.min(a, b), wp.min(wp.max(a, b), c))
        i = left
        j = right
        while i <= j:
            while points[int(perm[i]), axis] < pivot:
                i += 1
            while points[int(perm[j]), axis] > pivot:
                j -= 1
            if i <= j:
                tmp = perm[i]
                perm[i] = perm[j]
                perm[j] = tmp
                i += 1
                j -= 1
        if mid <= j:
            right = j
        elif mid >= i:
            left = i
        else:
            right = left


@wp.func
def split_heap_node(
    points: wp.array2d(dtype=wp.float64),
    perm: wp.array(dtype=wp.int32),
    node: int,
    span: int,
):
    """Split node ``node`` of a level whose nodes hold ``span`` points (``perm[node*span :
    (node+1)*span]``, the last one fewer) at ``span/2``; a node of at most ``span/2`` points
    keeps them all in its left child."""
    s = node * span
    e = wp.min(s + span, perm.shape[0])
    mid = s + span // 2
    if mid < e:
        split_node(points, perm, s, e, mid)


@wp.kernel
def kd_split_kernel(
    points: wp.array2d(dtype=wp.float64),
    perm: wp.array(dtype=wp.int32),
    span: int,
    first_node: int,
):
    """Split node ``tid + first_node`` of one tree level (nodes of ``span`` points)."""
    split_heap_node(points, perm, wp.tid() + first_node, span)


@wp.kernel
def kd_subtree_kernel(
    points: wp.array2d(dtype=wp.float64),
    perm: wp.array(dtype=wp.int32),
    span: int,
    n_levels: int,
    first_node: int,
):
    """Split node ``tid + first_node`` of a level (nodes of ``span`` points) and all its
    descendants on the ``n_levels - 1`` levels below, level by level: the same splits as
    :data:`kd_split_kernel` per level (a node's split reads and moves only its own
    range), while the subtree's points stay in this core's cache."""
    top = wp.tid() + first_node
    for level in range(n_levels):
        width = 1 << level
        for c in range(width):
            split_heap_node(points, perm, top * width + c, span >> level)


@wp.kernel
def leaf_box_kernel(
    points: wp.array2d(dtype=wp.float64),
    first_leaf: int,
    first: int,
    lo: wp.array2d(dtype=wp.float64),
    hi: wp.array2d(dtype=wp.float64),
):
    """The bounding box of leaf ``tid + first`` (points ``LEAF_SIZE`` rows apart, the last
    leaf fewer), into heap row ``first_leaf + tid + first``."""
    f = wp.tid() + first
    s = f * LEAF_SIZE
    e = wp.min(s + LEAF_SIZE, points.shape[0])
    for j in range(points.shape[1]):
        mn = points[s, j]
        mx = mn
        for i in range(s + 1, e):
            mn = wp.min(mn, points[i, j])
            mx = wp.max(mx, points[i, j])
        lo[first_leaf + f, j] = mn
        hi[first_leaf + f, j] = mx


@wp.kernel
def gather_kernel(
    points: wp.array2d(dtype=wp.float64),
    order: wp.array(dtype=wp.int32),
    out: wp.array2d(dtype=wp.float64),
):
    i = wp.tid()
    for j in range(points.shape[1]):
        out[i, j] = points[int(order[i]), j]


@wp.kernel
def kd_leaf_kernel(
    points: wp.array2d(dtype=wp.float64),
    axis: wp.array(dtype=wp.int32),
    value: wp.array(dtype=wp.float64),
    left: wp.array(dtype=wp.int32),
    right: wp.array(dtype=wp.int32),
    leaf: wp.array(dtype=wp.int32),
):
    """The leaf of a k-d tree of cuts (node i splits at ``value[i]`` along ``axis[i]``,
    -1 for a leaf; a point right of the cut, strictly, goes to ``right[i]``) holding point
    ``wp.tid()``, from the root, node 0."""
    i = wp.tid()
    node = int(0)
    a = int(axis[0])
    while a >= 0:
        go_right = points[i, a] > value[node]
        node = wp.where(go_right, int(right[node]), int(left[node]))  # no branch to mispredict
        a = int(axis[node])
    leaf[i] = wp.int32(node)


def kd_leaves(points, axis, value, left, right):
    """Per row of ``points`` (n, dim), the leaf of the cuts' tree holding it (see
    :func:`kd_leaf_kernel`), as int64; one CPU launch, no temporaries of size n beyond the
    result (the NumPy descent made ~4 per level)."""
    pts = np.ascontiguousarray(points, dtype=np.float64)
    leaf = np.zeros(len(pts), dtype=np.int32)
    if len(pts) and len(axis):
        nodes = [
            np.ascontiguousarray(a, dtype=t)
            for a, t in ((axis, np.int32), (value, np.float64), (left, np.int32), (right, np.int32))
        ]
        wp.launch(
            kd_leaf_kernel,
            dim=len(pts),
            inputs=[wp.array(pts, dtype=wp.float64, device="cpu", copy=False)]
            + [wp.array(a, device="cpu", copy=False) for a in nodes],
            outputs=[wp.array(leaf, dtype=wp.int32, device="cpu", copy=False)],
            device="cpu",
        )
    return leaf.astype(np.int64)


@wp.struct
class TreeArrays:
    """A :class:`PointTree`'s arrays, as one argument of a kernel (:meth:`PointTree.arrays`)."""

    points: wp.array2d(dtype=wp.float64)  # (n_points, dim): X in tree order
    lo: wp.array2d(dtype=wp.float64)  # (n_nodes, dim): the nodes' box corners
    hi: wp.array2d(dtype=wp.float64)
    first_leaf: int  # heap index of the first leaf node


@dataclass
class PointTree:
    """A built tree: the points in tree order and the boxes of the heap-ordered nodes.

    Attributes
    ----------
    points : warp.array2d of float64, shape (n_points, dim)
        The points of X in tree order.
    order : ndarray of int64, shape (n_points,)
        ``order[i]`` is the index in the input of the point at tree position ``i``.
    lo, hi : warp.array2d of float64, shape (n_nodes, dim)
        Box corners per node; padding leaves have ``lo = +inf`` and ``hi = -inf``.
    first_leaf : int
        Heap index of the first leaf node.
    device : str
        The Warp device holding the arrays.
    """

    points: wp.array
    order: np.ndarray
    lo: wp.array
    hi: wp.array
    first_leaf: int
    device: str

    @property
    def n_points(self) -> int:
        return self.points.shape[0]

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    def arrays(self) -> TreeArrays:
        """The tree's arrays as one kernel argument."""
        out = TreeArrays()
        out.points, out.lo, out.hi, out.first_leaf = self.points, self.lo, self.hi, self.first_leaf
        return out


@wp.kernel
def morton_key_kernel(
    pts: wp.array2d(dtype=wp.float64),
    shift: wp.array(dtype=wp.float64),
    lo: wp.array(dtype=wp.float64),
    scale: wp.float64,
    spread: wp.array(dtype=wp.int32),
    run: int,
    key: wp.array(dtype=wp.int32),
    index: wp.array(dtype=wp.int32),
):
    """The Morton keys of points ``run * tid`` on (``run`` of them): point i's grid cell
    ``((pts[i] - shift) - lo) * scale``, truncated and clipped into ``[0, len(spread) - 1]``
    per axis, its bits interleaved by ``spread``; and ``index[i] = i``. The cells NumPy's
    ``clip(astype(int32))`` gives, but for cells of 2^31 and more (clipped to the top here;
    NumPy's cast wraps them to 0)."""
    top = spread.shape[0] - 1
    dim = pts.shape[1]
    start = wp.tid() * run
    for i in range(start, wp.min(start + run, pts.shape[0])):
        k = int(0)
        for j in range(dim):
            v = ((pts[i, j] - shift[j]) - lo[j]) * scale  # x - 0.0 is x: no shift
            q = int(0)  # v <= 0 or NaN
            if v >= wp.float64(top):
                q = top
            elif v > wp.float64(0.0):
                q = int(v)  # truncated, as astype(int32)
            k = k | (int(spread[q]) << j)
        key[i] = wp.int32(k)
        index[i] = wp.int32(i)


MORTON_RUN = 256  # points per thread of morton_key_kernel
GATHER_RUN = 1 << 14  # rows a gather takes, then shifts, at a time (384 KB in 3-D)


def _morton_order(pts, shift=None):
    """Indices of the points (``pts - shift``, as NumPy computes it) in a coarse Z-order: the
    Morton key of a grid of at most ``2**ZORDER_BITS`` cells per axis (locality for the
    splits, not the tree itself).
    The keys come from one kernel (no temporaries: ~50 MB of NumPy's at 1M points, which
    on this VM's freshly reported memory cost ~30 ms of page faults); the stable sort is
    Warp's radix sort (~6x NumPy's stable argsort, the same order)."""
    n, dim = pts.shape
    bits = max(1, min(ZORDER_BITS, 30 // dim))
    shift = np.zeros(dim) if shift is None else np.asarray(shift, dtype=np.float64)
    sample = pts[:: max(1, n // 4096)] - shift  # any box will do: keys are clipped to the grid
    lo = sample.min(axis=0)
    span = float((sample.max(axis=0) - lo).max())
    scale = ((1 << bits) - 1) / span if span > 0 else 0.0
    spread = np.zeros(1 << bits, dtype=np.int32)  # bit b of i -> bit b * dim
    for b in range(bits):
        spread |= ((np.arange(1 << bits) >> b) & 1).astype(np.int32) << (b * dim)
    # Warp's radix sort wants room for 2n keys; sorting (key, index) pairs by key is stable
    key = host_array(np.empty(2 * n, dtype=np.int32))
    index = host_array(np.empty(2 * n, dtype=np.int32))
    inputs = [
        wp.array(pts, dtype=wp.float64, device="cpu", copy=False),
        wp.array(shift, dtype=wp.float64, device="cpu"),
        wp.array(lo, dtype=wp.float64, device="cpu"),
        float(scale),
        wp.array(spread, dtype=wp.int32, device="cpu"),
        MORTON_RUN,
    ]
    threads = -(-n // MORTON_RUN)
    wp.launch(morton_key_kernel, dim=threads, inputs=inputs, outputs=[key, index], device="cpu")
    wp.utils.radix_sort_pairs(key, index, n)
    return index.numpy()[:n]


def _gather(src, order, device, n_threads=1, shift=None):
    """``src[order] - shift`` (each row as NumPy's ``src - shift`` has it; no shift: None)
    as a Warp array on ``device`` (``src``: a NumPy array on the CPU, where NumPy's take
    beats a launch of one thread per row and the result is not copied again, in
    ``n_threads`` row ranges at once (take releases the GIL); else a Warp array on the
    device, already shifted)."""
    if str(device).startswith("cpu"):  # take: ~3x faster than src[order] for rows
        src = np.asarray(src)
        out = np.empty((len(order), *src.shape[1:]), dtype=src.dtype)
        step = -(-len(order) // max(n_threads, 1))
        parts = [(a, min(a + step, len(order))) for a in range(0, len(order), max(step, 1))]

        def take(p):
            # mode="clip": with "raise", take buffers a given out (the indices are valid)
            rows = out[p[0] : p[1]]
            for a in range(0, len(rows), GATHER_RUN):  # shifted while in cache
                b = min(a + GATHER_RUN, len(rows))
                np.take(src, order[p[0] + a : p[0] + b], axis=0, out=rows[a:b], mode="clip")
                if shift is not None:
                    np.subtract(rows[a:b], shift, out=rows[a:b])

        run_shared(take, parts, len(parts))
        return wp.array(out, dtype=wp.float64, device=device, copy=False)
    assert shift is None  # a device's source is shifted before it is copied there
    out = wp.empty(src.shape, dtype=wp.float64, device=device)
    idx = wp.array(np.ascontiguousarray(order, dtype=np.int32), dtype=wp.int32, device=device)
    wp.launch(gather_kernel, dim=len(order), inputs=[src, idx], outputs=[out], device=device)
    return out


def _split_levels(points, perm, depth, device):
    """The median splits of all ``depth`` levels: one launch per level (two CPU threads share
    its nodes) down to nodes of ``SUBTREE_POINTS`` points, then, on the CPU, one launch with
    a thread per subtree for all the levels below (the same splits, in cache)."""
    n = perm.shape[0]
    cpu = str(device).startswith("cpu")
    for level in range(depth):
        span = LEAF_SIZE << (depth - level)
        n_nodes = -(-n // span)
        if cpu and span <= SUBTREE_POINTS:
            inputs = [points, perm, span, depth - level]
            _launch_shared(kd_subtree_kernel, n_nodes, inputs, [], device, 2)
            return
        _launch_shared(kd_split_kernel, n_nodes, [points, perm, span], [], device, 2)


@wp.kernel
def column_sums_kernel(points: wp.array2d(dtype=wp.float64), out: wp.array(dtype=wp.float64)):
    """Each column's sum, row after row from the first row (one thread)."""
    dim = points.shape[1]
    s = vec6()
    for j in range(dim):
        s[j] = points[0, j]
    if dim == 3:  # the common case, unrolled (the same additions in the same order)
        s0 = s[0]
        s1 = s[1]
        s2 = s[2]
        for i in range(1, points.shape[0]):
            s0 = s0 + points[i, 0]
            s1 = s1 + points[i, 1]
            s2 = s2 + points[i, 2]
        s[0] = s0
        s[1] = s1
        s[2] = s2
    else:
        for i in range(1, points.shape[0]):
            for j in range(dim):
                s[j] = s[j] + points[i, j]
    for j in range(dim):
        out[j] = s[j]


def column_means(points):
    """``points.mean(axis=0)`` to the last bit, ~9x faster for C-contiguous float64 rows of 2
    to 6 columns (1M x 3: 1.1 against 10.7 ms): NumPy adds such an array's rows one after the
    other (one column is a contiguous run, which NumPy sums pairwise), and a kernel does the
    same additions in the same order; other arrays go to NumPy."""
    points = np.asarray(points)
    contiguous = points.dtype == np.float64 and points.flags.c_contiguous
    if not (contiguous and points.ndim == 2 and len(points) and 2 <= points.shape[1] <= MAX_DIM):
        return points.mean(axis=0)
    out = wp.empty(points.shape[1], dtype=wp.float64, device="cpu")
    rows = wp.array(points, dtype=wp.float64, device="cpu", copy=False)
    wp.launch(column_sums_kernel, dim=1, inputs=[rows], outputs=[out], device="cpu")
    return out.numpy() / len(points)


def host_array(a):
    """A Warp array on the CPU over the NumPy array ``a`` (not copied). NumPy asks the
    kernel for transparent huge pages for arrays of 4 MiB and more (``madvise``); Warp's
    allocator does not, and the tree's boxes (~13 MB at 1M points) are read all over by
    every query. Right after an 8 GB process exited, two alternated runs of `flood_complex`
    on the 1M cheese took 1.27-1.35 s with the boxes here against 1.49-1.63 s in Warp's
    memory; a third such run, and a quiet machine, showed no difference."""
    return wp.array(a, dtype=wp.dtype_from_numpy(a.dtype), device="cpu", copy=False)


def build_tree(points, device="cpu", shift=None):
    """Build a :class:`PointTree` over ``points`` (over ``points - shift``, when given).

    Parameters
    ----------
    points : ndarray of shape (n_points, dim)
        Finite coordinates, ``1 <= dim <= 6``; converted to float64.
    device : str, default="cpu"
        Warp device for the arrays and later queries.
    shift : ndarray of shape (dim,), optional
        The tree is over ``points - shift``, the same floats as NumPy's, without that copy
        of the points (on the CPU the gathers shift the rows they take: 24 MB less fresh
        memory at 1M points, which this VM hands out at ~2 ms per MB once its host took
        it back).

    Returns
    -------
    tree : PointTree
    """
    pts = np.ascontiguousarray(points, dtype=np.float64)
    n, dim = pts.shape
    if not 1 <= dim <= MAX_DIM:
        rule = f"(n_points, dim) with 1 <= dim <= {MAX_DIM}"
        raise ValueError(f"points has shape {pts.shape}; expected {rule}.")
    if shift is not None:
        shift = np.asarray(shift, dtype=np.float64)
        if shift.shape != (dim,):
            raise ValueError(f"shift must have shape ({dim},); got {shift.shape}.")
        if not str(device).startswith("cpu"):  # the device gets the shifted points
            pts, shift = pts - shift, None
    n_leaves = -(-n // LEAF_SIZE)
    depth = max(0, int(n_leaves - 1).bit_length())
    # the CPU gathers from pts itself; a GPU from one copy on the device
    src = pts if str(device).startswith("cpu") else wp.array(pts, dtype=wp.float64, device=device)
    # Z-order first: the median splits below then read nearby memory
    morton = _morton_order(pts, shift)
    z_pts = _gather(src, morton, device, shift=shift)
    perm = np.arange(n, dtype=np.int32)
    perm = host_array(perm) if str(device).startswith("cpu") else wp.array(perm, device=device)
    _split_levels(z_pts, perm, depth, device)
    del z_pts  # peak memory: the Z-ordered copy goes before the tree-ordered one comes
    order = morton[perm.numpy()]
    del morton, perm
    sorted_wp = _gather(src, order, device, 2, shift)  # nothing else runs now: two threads
    del src

    n_pow2 = 1 << depth
    first = n_pow2 - 1
    # the leaves' boxes in a kernel (~10x NumPy's min over a middle axis of 8), two threads
    if str(device).startswith("cpu"):  # NumPy's memory: advised for huge pages (see below)
        lo_wp = host_array(np.full((2 * n_pow2 - 1, dim), np.inf))
        hi_wp = host_array(np.full((2 * n_pow2 - 1, dim), -np.inf))
    else:
        lo_wp = wp.full((2 * n_pow2 - 1, dim), np.inf, dtype=wp.float64, device=device)
        hi_wp = wp.full((2 * n_pow2 - 1, dim), -np.inf, dtype=wp.float64, device=device)
    _launch_shared(leaf_box_kernel, n_leaves, [sorted_wp, first], [lo_wp, hi_wp], device, 2)
    node_lo, node_hi = lo_wp.numpy(), hi_wp.numpy()
    start, width = first, n_pow2
    while width > 1:
        parent = start - width // 2
        node_lo[parent:start] = np.minimum(
            node_lo[start : start + width : 2], node_lo[start + 1 : start + width : 2]
        )
        node_hi[parent:start] = np.maximum(
            node_hi[start : start + width : 2], node_hi[start + 1 : start + width : 2]
        )
        start, width = parent, width // 2
    if not str(device).startswith("cpu"):  # the parents' boxes were made on the host
        lo_wp = wp.array(node_lo, dtype=wp.float64, device=device)
        hi_wp = wp.array(node_hi, dtype=wp.float64, device=device)
    return PointTree(
        points=sorted_wp,
        order=order.astype(np.int64, copy=False),
        lo=lo_wp,
        hi=hi_wp,
        first_leaf=first,
        device=device,
    )


def _launch_shared(kernel, n_items, inputs, outputs, device, n_threads, run=1):
    """Launch ``kernel`` over ``ceil(n_items / run)`` threads split among CPU threads; the
    kernel takes the index of its first thread as its last input."""
    n = -(-n_items // run)
    parts = [(0, n)]
    if n_threads > 1 and n > 1 and str(device).startswith("cpu"):
        step = -(-n // n_threads)
        parts = [(a, min(a + step, n)) for a in range(0, n, step)]

    def launch(p):
        a, e = p
        wp.launch(kernel, dim=e - a, inputs=[*inputs, a], outputs=outputs, device=device)

    if n:
        run_shared(launch, parts, len(parts))
