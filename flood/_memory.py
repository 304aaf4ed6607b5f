"""What a dask worker needs, predicted before the tasks run, against its memory limit.

A worker of a dask run holds, besides its own baseline (Python, NumPy, SciPy, Warp and
gudhi imported: ``WORKER_BASELINE``), one task at a time (single-threaded workers; a worker
with t threads holds up to t):

- a chunk task (survey, then partition) holds the chunk and its copies: the centred copy
  and the QR workspace of the survey, fpsample's rotated copy, the partition's sorted copy,
  tile numbers and sort order (``CHUNK_BYTES`` per coordinate of a row);
- a block task holds its halo, read tile by tile and concatenated (twice 8 bytes per
  coordinate at the concatenation), and the k-d tree over it (``INDEXED_BYTES`` per
  coordinate): at most ``BLOCK_BYTES`` per coordinate of each row it reads, and the rows
  it reads are known exactly from the tile counts before it runs.

:func:`check_chunk_memory` and :func:`check_block_memory` compare these with a share
(``MEMORY_SHARE``) of the smallest worker's limit and raise a ValueError naming what to
change, instead of letting the tasks kill workers. Blocks are planned to fit
(:func:`block_rows_cap`): the cell of space of a block whose tiles hold more rows is halved
(:mod:`flood._cells`), so only a block that halving no longer shrinks (around a big
simplex or a large void) makes a run refuse.
"""

import math

from flood._blocks import INDEXED_BYTES

#: Bytes a worker process holds besides a task's arrays: Python with NumPy, SciPy, dask,
#: Warp and gudhi imported (VmHWM of a LocalCluster worker before its first task: 190 MiB),
#: Warp's loaded kernels and the kernel's per-simplex buffers. Calibrated on 2026-12-05: a
#: 1.5M-point shuffled swiss cheese, 1,000 landmarks, 2 workers of 600 MiB, largest block
#: 737k rows read: VmHWM 462 MiB, this model 478 MiB.
WORKER_BASELINE = 360 * 2**20
#: Bytes per coordinate of a chunk's row that a chunk task holds at its peak: the chunk
#: (8), its centred copy for the R factor (8), fpsample's rotated copy (8), and in the
#: partition the sorted copy (8), tile numbers and order (16 per row), with room to spare.
CHUNK_BYTES = 64
#: Bytes per coordinate of each row a block task reads: the halo kept (8) and its
#: concatenation (8), and the tree over it (``INDEXED_BYTES``).
BLOCK_BYTES = 16 + INDEXED_BYTES
#: Share of a worker's memory limit the tasks may plan for: dask restarts a worker at 95%
#: of it, and the allocator returns freed memory late.
MEMORY_SHARE = 0.8


def worker_memory_limit(client):
    """The smallest memory limit (bytes) of the Client's workers; None without a client,
    without workers, or when a worker has no limit."""
    if client is None:
        return None
    workers = client.scheduler_info().get("workers", {})
    limits = [w.get("memory_limit") or 0 for w in workers.values()]
    if not limits or min(limits) <= 0:
        return None
    return min(limits)


def _budget(limit):
    return MEMORY_SHARE * limit - WORKER_BASELINE


def block_rows_cap(limit, dim):
    """The most rows a block task may read on a worker with memory limit ``limit`` (bytes),
    None for no limit."""
    if limit is None:
        return None
    return max(1, math.floor(_budget(limit) / (BLOCK_BYTES * dim)))


def _mib(n_bytes):
    return f"{n_bytes / 2**20:,.0f} MiB"


def _no_room(limit):
    return ValueError(
        f"points: a dask worker holds about {_mib(WORKER_BASELINE)} before its first task "
        f"(Python, NumPy, SciPy, Warp, gudhi), which leaves no room for the tasks within "
        f"{MEMORY_SHARE:.0%} of the workers' memory limit {_mib(limit)}. Give the workers "
        "more memory (--memory-limit, LocalCluster(memory_limit=...))."
    )


def check_chunk_memory(limit, chunk_rows, dim):
    """Refuse, before any chunk is read, chunks too large for the workers' memory limit.

    Raises
    ------
    ValueError
        Naming the chunk size, the need, the limit and what to change.
    """
    if limit is None:
        return
    if _budget(limit) <= 0:
        raise _no_room(limit)
    if chunk_rows is None:
        return
    need = WORKER_BASELINE + CHUNK_BYTES * dim * chunk_rows
    if need > MEMORY_SHARE * limit:
        fits = max(1, math.floor(_budget(limit) / (CHUNK_BYTES * dim)))
        raise ValueError(
            f"points: a chunk of {chunk_rows:,} rows needs about {_mib(need)} on a dask worker "
            f"(baseline {_mib(WORKER_BASELINE)} + {CHUNK_BYTES * dim} bytes per row), over "
            f"{MEMORY_SHARE:.0%} of the workers' memory limit {_mib(limit)}. Read the cloud in "
            f"chunks of at most {fits:,} rows (the chunks of read_point_cloud, --chunks) or "
            "give the workers more memory (--memory-limit)."
        )


def check_block_memory(limit, rows, dim):
    """Refuse, before any block task runs, a block whose halo tiles hold more rows than a
    worker can index (the plan halves cells of space until their blocks fit: only a block
    that halving no longer shrinks, around a big simplex or a large void, is left over).

    Parameters
    ----------
    limit : int or None
    rows : int
        Rows the largest block reads.
    dim : int
    """
    if limit is None:
        return
    need = WORKER_BASELINE + BLOCK_BYTES * dim * rows
    if need > MEMORY_SHARE * limit:
        raise ValueError(
            f"points: the smallest block of the Flood complex needs {rows:,} points of X (the "
            f"tiles its halo meets), about {_mib(need)} on a dask worker (baseline "
            f"{_mib(WORKER_BASELINE)} + {BLOCK_BYTES * dim} bytes per point), over "
            f"{MEMORY_SHARE:.0%} of the workers' memory limit {_mib(limit)}: the halo of a "
            "big simplex across empty space or of a large void. Use more landmarks (smaller "
            "simplices) or give the workers more memory (--memory-limit)."
        )
