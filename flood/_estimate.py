"""flood.estimate: the time and peak memory of each stage of a run, predicted before it.

The model multiplies the counts a run will have (points, landmarks, simplices of Del(L) per
dimension, the kernel's tasks in flight) by the costs measured per point, per landmark and per
simplex in :mod:`flood._costs` (benchmarks/RESULTS.md, issue 31 point 6). Its CPU seconds are
those of this machine class (2 x86-64 cores); ``calibrate=True`` rescales them by a small run
on the machine at hand.
"""

import math
import numbers
import os
import time
from dataclasses import dataclass, field

import numpy as np

from flood import _costs as costs
from flood._certify import MAX_VERTICES, MAX_VERTICES_DEFAULT
from flood._stages import check_options
from flood._validation import DEFAULT_N_THREADS, MAX_DIM, METHODS, check_landmarks

__all__ = ["Estimate", "estimate"]

#: The stages, in run order: those of ``FloodResult.timings``, then the persistence of the
#: first ``FloodResult.diagrams()`` (what ``flood compute`` and ``FloodComplex`` also run).
STAGES = ("index", "landmarks", "delaunay", "filtration", "persistence")
#: The run ``calibrate=True`` times: large enough that the fixed costs of a run (launches,
#: Python) are a small share, small enough to take about a second on this machine class.
CALIBRATION_POINTS = 100_000
CALIBRATION_LANDMARKS = 300
_OWNER = "of flood.estimate"


@dataclass(frozen=True)
class Estimate:
    """Predicted cost of ``flood_complex(X, landmarks, ...)`` and its first ``diagrams()``.

    Attributes
    ----------
    n_points, dim, n_landmarks, max_dimension, n_threads : int
    method : str
    n_simplices : list of int
        Predicted simplices of Del(L) per dimension, 0 to ``max_dimension``.
    cpu_seconds : dict
        CPU seconds per stage (all threads), keys :data:`STAGES`.
    seconds : dict
        Wall seconds per stage with ``n_threads`` free cores.
    peak_bytes : dict
        Per stage, the predicted growth of the process's resident memory while it runs, over
        what the process held before the run (the interpreter, the libraries and X itself).
    input_bytes : int
        X as float64, ``8 * n_points * dim``.
    base_bytes : int
        The Python process with flood loaded, before the run.
    time_scale : float
        Factor applied to the measured CPU costs (1.0 unless calibrated).
    notes : tuple of str
    """

    n_points: int
    dim: int
    n_landmarks: int
    max_dimension: int
    method: str
    n_threads: int
    n_simplices: list
    cpu_seconds: dict
    seconds: dict
    peak_bytes: dict
    input_bytes: int
    base_bytes: int = costs.BASE_BYTES
    time_scale: float = 1.0
    notes: tuple = field(default_factory=tuple)

    @property
    def total_seconds(self):
        """Predicted wall seconds of all stages."""
        return float(sum(self.seconds.values()))

    @property
    def total_cpu_seconds(self):
        """Predicted CPU seconds of all stages."""
        return float(sum(self.cpu_seconds.values()))

    @property
    def run_peak_bytes(self):
        """The largest stage peak: what the run adds to the process at its high-water mark."""
        return max(self.peak_bytes.values())

    @property
    def total_bytes(self):
        """Resident memory the process needs in all: base, input and the run's peak."""
        return self.base_bytes + self.input_bytes + self.run_peak_bytes

    def __str__(self):
        head = (
            f"estimate: {self.n_points:,} points in {self.dim}-D, {self.n_landmarks:,} "
            f"landmarks, simplices up to dimension {self.max_dimension}, {self.method}, "
            f"{self.n_threads} thread(s)"
        )
        lines = [head, "simplices: " + " / ".join(f"{n:,}" for n in self.n_simplices)]
        lines.append(f"{'stage':<12} {'CPU s':>8} {'wall s':>8} {'peak MiB':>9}")
        rows = [(s, self.cpu_seconds[s], self.seconds[s], self.peak_bytes[s]) for s in STAGES]
        rows.append(("total", self.total_cpu_seconds, self.total_seconds, self.run_peak_bytes))
        for name, cpu, wall, peak in rows:
            lines.append(f"{name:<12} {_seconds(cpu):>8} {_seconds(wall):>8} {_mib(peak):>9}")
        lines.append(
            f"memory: {_mib(self.total_bytes)} MiB in all = {_mib(self.base_bytes)} Python and "
            f"libraries + {_mib(self.input_bytes)} input + {_mib(self.run_peak_bytes)} at the "
            "run's peak"
        )
        if self.time_scale == 1.0:
            machine = "times: this machine class (2 x86-64 cores; calibrate=True rescales)"
        else:
            machine = f"times: scaled by {self.time_scale:.3g} by a calibration run here"
        lines.append(
            f"{machine}; wall with {self.n_threads} free core(s); a first run on a machine "
            "also compiles the kernels (10-25 s)"
        )
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


def _seconds(value):
    return f"{value:.2f}" if value >= 0.01 else "< 0.01"


def _mib(value):
    mib = value / 2**20
    return f"{mib:,.0f}" if mib >= 10 else f"{mib:.1f}"


def estimate(
    n_points,
    dim,
    landmarks=1000,
    *,
    max_dimension=None,
    tol=None,
    method=METHODS[0],
    points_per_edge=30,
    n_threads=DEFAULT_N_THREADS,
    calibrate=False,
):
    """Predicted time and peak memory of each stage of :func:`flood.flood_complex`.

    Nothing is computed on a cloud: the counts of a run (points, landmarks, simplices of
    Del(L)) are multiplied by the costs measured per point, per landmark and per simplex on
    uniform clouds (:mod:`flood._costs`, benchmarks/RESULTS.md). The stages are those of
    ``FloodResult.timings`` and the persistence of the first ``FloodResult.diagrams()``.

    Parameters
    ----------
    n_points : int
        Points of the cloud X, at least ``dim + 1``.
    dim : int
        Coordinates per point, in [1, 6].
    landmarks : int or array-like of shape (n_landmarks, dim), default=1000
        As in :func:`flood.flood_complex` (an int larger than ``n_points`` is clamped with a
        warning; coordinates are costed as that many sampled landmarks).
    max_dimension, tol, method, points_per_edge, n_threads
        As in :func:`flood.flood_complex`. ``tol``: None (1% of the covering radius) or 0
        (exact, 1.2x the default's filtration time); a positive tol is costed as the default
        (the estimate does not know the covering radius), with a note.
    calibrate : bool, default=False
        Time a run on ``CALIBRATION_POINTS`` uniform 3-D points on this machine (about a
        second here, plus compiling the kernels on a first run) and scale every predicted
        time by its measured over its predicted CPU seconds.

    Returns
    -------
    estimate : Estimate
        ``print(estimate)`` shows a table; ``peak_bytes`` and ``seconds`` hold the numbers.

    Notes
    -----
    Accuracy, against runs on this machine (benchmarks/RESULTS.md, issue 31 point 6): CPU
    time 0.8-1.2x and peak memory 0.9-1.3x of the measured on volume-filling clouds (uniform,
    normal, swiss cheese; 1.5e5-2e6 points, 2-D to 4-D). Surfaces certify faster than the
    model, which was fitted on volumes: a 500k-point torus took 0.53x the predicted CPU time,
    and a 10M-point torus with 1,000 landmarks ran in 0.4x the predicted wall time (18.5 s at
    c2d1b77, RESULTS.md seventh step). Times are for this machine class
    (2 x86-64 cores, CPU device); for a GPU or another CPU use ``calibrate=True``, which
    rescales CPU time only (a GPU is not modelled). The first run on a machine also compiles
    the Warp kernels (10-25 s here), not counted.

    Examples
    --------
    >>> from flood import estimate
    >>> est = estimate(1_000_000, 3, 1000)
    >>> est.n_simplices
    [1000, 7160, 12250, 6090]
    >>> 50 * 2**20 < est.run_peak_bytes < 500 * 2**20, 1 < est.total_cpu_seconds < 30
    (True, True)
    """
    n_points, dim = _check_shape(n_points, dim)
    landmarks = check_landmarks(landmarks, n_points, dim)
    n_landmarks = landmarks if isinstance(landmarks, int) else len(landmarks)
    max_dimension, tol = check_options(dim, max_dimension, tol, method, points_per_edge, n_threads)
    if not isinstance(calibrate, (bool, np.bool_)):
        raise TypeError(
            f"The 'calibrate' parameter {_OWNER} must be a bool. Got {calibrate!r} instead."
        )
    counts = costs.simplices_per_dimension(n_landmarks, dim, max_dimension)
    cpu, peak, notes = _model(
        n_points, dim, n_landmarks, counts, tol, method, points_per_edge, n_threads
    )
    scale = _calibration_scale() if calibrate else 1.0
    cpu = {s: t * scale for s, t in cpu.items()}
    gain = 1 + costs.THREAD_GAIN * (min(n_threads, os.cpu_count() or 1) - 1)
    wall = {s: t / gain if s == "filtration" and method != "grid" else t for s, t in cpu.items()}
    return Estimate(
        n_points=n_points,
        dim=dim,
        n_landmarks=n_landmarks,
        max_dimension=max_dimension,
        method=method,
        n_threads=n_threads,
        n_simplices=counts,
        cpu_seconds=cpu,
        seconds=wall,
        peak_bytes=peak,
        input_bytes=8 * n_points * dim,
        time_scale=scale,
        notes=tuple(notes),
    )


def _check_shape(n_points, dim):
    """``dim`` an int in [1, MAX_DIM], ``n_points`` an int in [dim + 1, inf)."""
    for name, value in (("dim", dim), ("n_points", n_points)):
        if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
            raise TypeError(
                f"The '{name}' parameter {_OWNER} must be an int. Got {value!r} instead."
            )
    if not 1 <= dim <= MAX_DIM:
        raise ValueError(
            f"The 'dim' parameter {_OWNER} must be an int in the range [1, {MAX_DIM}]. "
            f"Got {dim!r} instead."
        )
    if n_points < dim + 1:
        raise ValueError(
            f"The 'n_points' parameter {_OWNER} must be an int in the range [{dim + 1}, inf) "
            f"for {dim}-D points (dim + 1 points span a {dim}-D triangulation). Got "
            f"{n_points!r} instead."
        )
    return int(n_points), int(dim)


def _model(n_points, dim, n_landmarks, counts, tol, method, points_per_edge, n_threads):
    """CPU seconds and peak bytes per stage, and notes, from the measured costs."""
    n, L, S = n_points, n_landmarks, sum(counts[1:])
    index_ns = costs.INDEX_NS_PER_POINT_LOG2[dim] * math.log2(max(n, 2))
    check_ns = costs.CHECK_NS_PER_COORDINATE * dim
    fps_us = (
        costs.LANDMARKS_US_PER_POINT[dim] * n + costs.LANDMARKS_US_PER_SQRT[dim] * (n * L) ** 0.5
    )
    cpu = {
        "index": 1e-9 * n * (index_ns + check_ns),
        "landmarks": 1e-6 * fps_us,
        "delaunay": 1e-6 * costs.DELAUNAY_US_PER_SIMPLEX[dim] * S,
        "persistence": 1e-6 * costs.PERSISTENCE_US_PER_SIMPLEX[dim] * (S + L),
    }
    index_bytes = (costs.INDEX_BYTES_PER_POINT[0] * dim + costs.INDEX_BYTES_PER_POINT[1]) * n
    landmark_bytes = costs.LANDMARKS_BYTES_PER_POINT[0] * dim + costs.LANDMARKS_BYTES_PER_POINT[1]
    peak = {
        "index": index_bytes,
        "landmarks": landmark_bytes * n,
        # the landmarks stage's heap stays with the process (glibc keeps most of it)
        "delaunay": landmark_bytes * n + costs.DELAUNAY_BYTES_PER_SIMPLEX * S,
        "persistence": costs.PERSISTENCE_BYTES_PER_SIMPLEX * (S + L),
    }
    notes = []
    if method == "grid":
        queries = sum(c * math.comb(points_per_edge - 2, k) for k, c in enumerate(counts) if k)
        cpu["filtration"] = 1e-6 * costs.GRID_US_PER_QUERY * queries
        peak["filtration"] = index_bytes
    else:
        cpu["filtration"] = _certified_seconds(dim, counts, n / L)
        if tol == 0:
            cpu["filtration"] *= costs.EXACT_TOL_FACTOR
        elif tol is not None:
            notes.append(
                f"tol={tol:g} costed as the default tol (1% of the covering radius): a larger "
                "tol is cheaper (10x the default: 0.36x), a smaller one at most 1.2x"
            )
        scratch = _scratch_bytes(counts, n_threads)
        filtration_bytes = costs.FILTRATION_BYTES_PER_SIMPLEX * S + scratch
        peak["filtration"] = peak["delaunay"] + filtration_bytes
    return cpu, {s: int(peak[s]) for s in STAGES}, notes


def _certified_seconds(dim, counts, per_landmark):
    """CPU seconds of the certified refinement: per k-simplex, at the points per landmark."""
    xs = costs.FILTRATION_POINTS_PER_LANDMARK[dim]
    rows = costs.FILTRATION_US_PER_SIMPLEX[dim]
    return 1e-6 * sum(
        counts[k] * costs.loglog(per_landmark, xs, rows[k]) for k in rows if k < len(counts)
    )


def _scratch_bytes(counts, n_threads):
    """The kernel's scratch on the CPU: one row per launching thread, reused by all its tasks
    (:class:`flood.kernels._scratch.TaskScratch`), as large as the largest polytope of the
    dimensions that have simplices."""
    dims = [k for k in range(1, len(counts)) if counts[k]]
    vertices = [MAX_VERTICES.get(k, MAX_VERTICES_DEFAULT) for k in dims]
    return n_threads * max(vertices, default=0) * costs.SCRATCH_BYTES_PER_VERTEX


def _calibration_scale():
    """Measured over predicted CPU seconds of a run of ``CALIBRATION_POINTS`` uniform 3-D points
    (after a tiny run that loads, or first compiles, the kernels)."""
    from flood._complex import flood_complex

    X = np.random.default_rng(0).uniform(size=(CALIBRATION_POINTS, 3))
    flood_complex(X[:300], 8, device="cpu", random_state=0).diagrams()
    start = time.process_time()
    flood_complex(X, CALIBRATION_LANDMARKS, device="cpu", random_state=0).diagrams()
    measured = time.process_time() - start
    predicted = estimate(CALIBRATION_POINTS, 3, CALIBRATION_LANDMARKS).total_cpu_seconds
    return measured / predicted
