"""The working memory of :func:`flood.kernels._voronoi.certify_tasks`: one launch's
per-task scratch (the current piece's polytope, the stack of pieces, the candidates and the
gathered seeds), its size in bytes, and how many tasks a launch holds on each device.
"""

import numpy as np
import warp as wp

from flood.kernels._candidates import EXTRA_CANDIDATES
from flood.kernels._counters import counters
from flood.kernels._pieces import MAX_DEPTH, META_COLS, PieceStack
from flood.kernels._polytope import (
    MAX_CORNERS,
    MAX_POLY_VERTICES,
    N_BITS,
    N_COLS,
    N_WORDS,
    Polytope,
)
from flood.kernels._tree import host_array
from flood.kernels._tree_query import K_NEAREST

#: Seeds a task gathers at most: its corners' own sites and every site of its faces.
MAX_SEEDS = MAX_CORNERS * (1 + max(N_BITS, K_NEAREST))
#: Tasks per CPU launch by default (one core runs a launch's tasks in turn).
CPU_LAUNCH_SIZE = 4096
#: Tasks per CUDA launch per multiprocessor: up to 2,048 threads stay resident on one (sm_90),
#: and more tasks than resident threads let a launch's long tasks overlap many short ones.
CUDA_TASKS_PER_SM = 2048
#: Share of a GPU's free memory that one launch's scratch may take (~250 KiB per task).
CUDA_SCRATCH_SHARE = 0.25


def scratch_bytes(max_vertices=MAX_POLY_VERTICES):
    """Bytes of :class:`TaskScratch` per task (250,064 at 256 vertices)."""
    words = -(-max_vertices // 64)
    poly = max_vertices * (8 * N_COLS + 8 * N_WORDS + 8 + 4 + 4) + 8 * (N_BITS + 1) * words
    poly += 4 * N_BITS
    stack = MAX_DEPTH * (max_vertices * (8 * N_COLS + 8 * N_WORDS) + 4 * N_BITS + 8 * META_COLS + 4)
    return poly + stack + 4 * EXTRA_CANDIDATES + 4 * MAX_SEEDS


def launch_size(device, max_vertices=MAX_POLY_VERTICES):
    """Tasks per launch of :func:`certify_kernel` on ``device``: ``CPU_LAUNCH_SIZE`` on the
    CPU; on a GPU ``CUDA_TASKS_PER_SM`` per multiprocessor, as far as ``CUDA_SCRATCH_SHARE``
    of its free memory holds their scratch (:func:`scratch_bytes`)."""
    dev = wp.get_device(device)
    if not dev.is_cuda:
        return CPU_LAUNCH_SIZE
    fit = int(CUDA_SCRATCH_SHARE * dev.free_memory) // scratch_bytes(max_vertices)
    return max(1, min(dev.sm_count * CUDA_TASKS_PER_SM, fit))


class TaskScratch:
    """Per-task working arrays of :func:`certify_tasks` for up to ``capacity`` tasks at once
    (about 250 KiB per task, most of it the stack of pieces); reuse one across batches.

    With ``one_row`` (for a CPU launch, whose tasks run one after another on one thread),
    every task's row of the working arrays is the same memory: each array is one row seen
    with stride 0 along the tasks, so a launch of 4,096 tasks touches ~250 KiB, not ~1 GiB,
    and each task finds its polytope's memory in cache. Only ``poly.slots`` (read back per
    task after the launch) and ``seeds`` (filled per task by a launch of their own) keep a
    row per task. A task writes every entry it reads (the kernel is checked against garbage
    left by earlier tasks), so sharing the row changes no result.

    Attributes
    ----------
    poly : Polytope
        The current piece's lifted polytope.
    stack : PieceStack
        The saved pieces (``MAX_DEPTH`` levels).
    extra : warp.array2d of int32, shape (capacity, EXTRA_CANDIDATES)
        The ring of candidates a task's queries found.

    The copies of the seed candidates' coordinates (:meth:`coords`, ``dim`` doubles per seed
    column) grow with the batches' seeds and are not counted in :func:`scratch_bytes`
    (~6 KiB per tetrahedron: 3-D, 250 columns).
    """

    def __init__(self, capacity, device="cpu", max_vertices=MAX_POLY_VERTICES, one_row=False):
        self.capacity = int(capacity)
        self.max_vertices = int(max_vertices)
        self.one_row = bool(one_row)
        self._rows = []  # the single rows behind the stride-0 views (the views do not own them)

        def per_task(shape, dtype):
            return wp.empty(shape, dtype=dtype, device=device)

        def empty(shape, dtype):
            return self._shared(shape, dtype) if self.one_row else per_task(shape, dtype)

        self.device = device

        poly = Polytope()
        poly.pv = empty((capacity, max_vertices, N_COLS), wp.float64)
        poly.pm = empty((capacity, max_vertices, N_WORDS), wp.uint64)
        poly.ps = empty((capacity, max_vertices), wp.float64)
        poly.negs = empty((capacity, max_vertices), wp.int32)
        # per constraint slot, the set of vertices holding it; row FREE_ROW: the free slots
        poly.vs = empty((capacity, N_BITS + 1, -(-max_vertices // 64)), wp.uint64)
        poly.pairs = empty((capacity, max_vertices), wp.int32)
        poly.slots = per_task((capacity, N_BITS), wp.int32)  # read back after the launch
        poly.counts = counters(device)  # written only by a build with the counters on
        stack = PieceStack()
        stack.pv = empty((capacity, MAX_DEPTH, max_vertices, N_COLS), wp.float64)
        stack.pm = empty((capacity, MAX_DEPTH, max_vertices, N_WORDS), wp.uint64)
        stack.slots = empty((capacity, MAX_DEPTH, N_BITS), wp.int32)
        stack.meta = empty((capacity, MAX_DEPTH, META_COLS), wp.float64)
        stack.nv = empty((capacity, MAX_DEPTH), wp.int32)
        self.poly, self.stack = poly, stack
        self.extra = empty((capacity, EXTRA_CANDIDATES), wp.int32)
        # the rows of gathered seeds (~7 MiB at 4,096 tasks): NumPy's memory on the CPU
        self.seeds = (
            host_array(np.empty(capacity * MAX_SEEDS, dtype=np.int32))
            if wp.get_device(device).is_cpu
            else per_task(capacity * MAX_SEEDS, wp.int32)
        )
        self._coords = None  # the buffer behind :meth:`coords` (grown as batches need)
        self._tree = None  # (tree, its arrays): made once, not at every launch

    def _shared(self, shape, dtype):
        """An array of ``shape`` whose rows along axis 0 are all one row (stride 0)."""
        row = wp.empty((1, *shape[1:]), dtype=dtype, device=self.device)
        self._rows.append(row)
        strides = (0, *row.strides[1:])
        return wp.array(ptr=row.ptr, shape=shape, strides=strides, dtype=dtype, device=self.device)

    def tree_arrays(self, tree):
        """``tree.arrays()``, kept for the next launch on the same tree."""
        if self._tree is None or self._tree[0] is not tree:
            self._tree = (tree, tree.arrays())
        return self._tree[1]

    def seed_rows(self, m, width):
        """An (m, width) int32 array for the seeds the kernel gathers (``m <= capacity``)."""
        if not 1 <= width <= MAX_SEEDS:
            raise ValueError(f"seeds per task must be in [1, {MAX_SEEDS}]; got {width}")
        return self.seeds[: m * width].reshape((m, width))

    def coords(self, n_cols, dim):
        """A (capacity, n_cols, dim) float64 array for the tasks' copies of their seed
        candidates' coordinates, on one buffer kept across batches (grown when too small)."""
        rows = 1 if self.one_row else self.capacity
        size = rows * max(n_cols, 1) * dim
        if self._coords is None or self._coords.size < size:
            self._coords = wp.empty(size, dtype=wp.float64, device=self.device)
        shape = (self.capacity, max(n_cols, 1), dim)
        strides = (0 if self.one_row else 8 * max(n_cols, 1) * dim, 8 * dim, 8)
        return wp.array(
            ptr=self._coords.ptr, shape=shape, strides=strides, dtype=wp.float64, device=self.device
        )
