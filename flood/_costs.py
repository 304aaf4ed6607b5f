"""The measured costs behind :func:`flood.estimate`: CPU seconds and bytes per point, per
landmark and per simplex of each stage of :func:`flood.flood_complex`, and the size of Del(L).

Every number was measured on this machine class (2 shared x86-64 cores, CPU device) at
commit b8e89bf, on uniform clouds in the unit cube with FPS landmarks and the
default tolerance; the runs, their commands and the load are in benchmarks/RESULTS.md, section
"Issue 31, point 6" (R31 below), which also compares them with the earlier sections. Issue 30
made the stages faster and leaner: the CPU and memory constants were rescaled (R30 below) by
the 9 stage runs of R31's re-measure, run again at 8c7d4bd (``benchmarks/estimate.py --stages``,
benchmarks/RESULTS.md "flood.estimate"); 5-D and 6-D were not re-measured and keep R31's.
Issue 30's later rounds made them ~2x faster again: R29 (f5157b1-d9808f8) re-measured the same
runs, three 5-D ones and one 6-D one, and rescaled them (6-D at 333 points per landmark by
the ratios at 100). CPU
seconds are the process's (all threads); peak bytes are the growth of VmHWM (resident
high-water mark) during a stage over what the process held before the run.
"""

import math

# -- Del(L): simplices per landmark ----------------------------------------------------------
#: Simplices of dimension 1..dim per landmark of Del(L), FPS landmarks of 200,000 uniform
#: points (R31 table "Del(L)", ``benchmarks/estimate.py --delaunay``). The boundary makes
#: small L sparser; in between and beyond the rows, counts are linear in L**(-1/dim), the
#: share of landmarks near the boundary (at L -> inf this gives the interior density, e.g.
#: 7.6 / 13.2 / 6.6 in 3-D).
SIMPLICES_PER_LANDMARK = {
    2: {
        100: (2.84, 1.85),
        1000: (2.98, 1.98),
        10000: (3.0, 2.0),
    },
    3: {
        30: (5.03, 7.53, 3.47),
        100: (6.38, 10.45, 5.06),
        1000: (7.16, 12.25, 6.09),
        10000: (7.4, 12.78, 6.38),
    },
    4: {
        30: (7.8, 20.4, 21.27, 7.7),
        100: (11.67, 35.41, 40.17, 15.44),
        1000: (15.77, 52.59, 62.67, 24.85),
        3000: (16.44, 55.46, 66.52, 26.49),
    },
    5: {
        50: (14.06, 63.8, 121.62, 103.26, 32.36),
        100: (18.81, 93.4, 186.32, 162.9, 52.16),
        300: (25.92, 141.79, 296.14, 265.96, 86.69),
        1000: (31.09, 177.83, 379.92, 346.31, 114.13),
    },
    6: {
        30: (12.17, 64.3, 164.03, 214.6, 139.23, 35.57),
        100: (27.0, 202.0, 623.65, 924.1, 656.24, 179.8),
        300: (41.42, 351.92, 1153.44, 1770.05, 1286.55, 358.44),
    },
}

# -- CPU seconds -----------------------------------------------------------------------------
#: index (centre X, k-d tree, inverse order): nanoseconds per point per log2(n_points), by
#: dimension. R31: 0.42-0.88 us per point over 1e5-3e6 points in 2-6-D (3-D: 0.51 at 1e5,
#: 0.64-0.88 at 1e6, 0.80 at 3e6); RESULTS.md seventh step (c2d1b77): 0.59-0.73 s wall per
#: 1e6 points, 6.85 s per 1e7. Plus the input check and centring, which
#: ``FloodResult.timings["index"]`` also counts: 13 ns per coordinate (40 ms at 1e6 x 3).
#: R30: 0.53-0.73 of R31's CPU over the 9 runs (median 0.62): x 0.6.
#: R29 (issue 30's ninth round, f5157b1; ``estimate.py --stages``, the 12 runs of R30):
#: 3-D 0.61-0.81 of R30 (median 0.67), 2-D 0.79-0.85, 4-D 0.74-0.85, 5-D 0.89 (1e5
#: points); 6-D not re-measured.
INDEX_NS_PER_POINT_LOG2 = {1: 13.0, 2: 13.0, 3: 15.0, 4: 18.0, 5: 20.0, 6: 22.0}
CHECK_NS_PER_COORDINATE = 8.0
#: landmarks (FPS, then the exact covering radius): microseconds per point and per
#: sqrt(n_points * n_landmarks), by dimension: a * n + b * sqrt(n * L) fits R31's runs within
#: 0.6-1.4x (2-D 0.013-0.50 s, 3-D 0.045-0.76 s, 4-D 0.03-0.11 s; 5-D and 6-D from 1e4-5e4
#: points; 1-D taken from 2-D). Seventh step: 0.28-0.38 s wall per 1e6 points with 1,000
#: landmarks, 0.60 s with 10,000.
#: R30 (FPS on the tree): runs led by the per-point term (100-1,000 points per landmark) read
#: 0.80-0.82 of R31, those led by the sqrt term 0.44-0.59: a x 0.8, b x 0.5 (1-4-D).
#: R29: a least-squares fit (relative errors) per dimension of the stage's CPU (FPS on the
#: tree and the exact covering radius): 3-D a 0.113, b 0.843 over 8 runs (each within
#: 0.79-1.32), 2-D 0.108 / 0.281 and 4-D 0.093 / 2.70 from 2 runs each (4-D taken as 0.12 /
#: 2.6: its runs have 2e4-1e5 points); 5-D 0.40-0.43 of R30 on 2e4 and 1e5 points (both
#: terms x 0.42); 6-D not re-measured.
LANDMARKS_US_PER_POINT = {1: 0.11, 2: 0.11, 3: 0.11, 4: 0.12, 5: 0.21, 6: 0.58}
LANDMARKS_US_PER_SQRT = {1: 0.3, 2: 0.3, 3: 0.85, 4: 2.6, 5: 2.1, 6: 4.9}
#: delaunay (Qhull, then the faces of every dimension): microseconds per simplex of Del(L),
#: by dimension (R31: 0.57-1.3 us in 2-4-D, 1.1-1.7 in 5-D, 1.0-2.1 in 6-D, growing with L).
#: R30: 2-D and 3-D 0.72-0.92 of R31, 4-D 0.50-0.61.
#: R29: 3-D 0.34-0.44 us (2.6e4-2.7e5 simplices), 2-D 0.40, 4-D 0.35-0.50, 5-D 0.44, 6-D
#: 0.42 (2.6e5).
DELAUNAY_US_PER_SIMPLEX = {1: 0.4, 2: 0.4, 3: 0.4, 4: 0.5, 5: 0.45, 6: 0.45}
#: filtration, certified method, default tol: microseconds per k-simplex (rows k = 1..dim) at
#: the points per landmark of ``FILTRATION_POINTS_PER_LANDMARK`` (R31, per-dimension CPU of
#: the certified refinement); log-log interpolation in between, the end slopes beyond. The
#: cost grows with the points per landmark (each simplex certifies against more points of X)
#: and most steeply for the top dimension. Seventh step: 3.35 and 2.48 s wall for 1M cheese,
#: 1,000 landmarks, i.e. 4.55 s one-thread CPU: 178 us per simplex (R31: 186 us, uniform).
FILTRATION_POINTS_PER_LANDMARK = {
    1: (10, 100, 1000, 10000),
    2: (10, 100, 1000, 10000),
    3: (10, 100, 1000, 10000),
    4: (10, 100, 1000, 10000),
    5: (10, 100, 1000),
    6: (100, 333),
}
#: R30 (issue 30's kernel): each 1-4-D entry times the ratio of R30's to R31's us per
#: k-simplex at its points per landmark (3-D: edges 0.50 / 0.70 / 0.78 / 0.88 at 10 / 100 /
#: 1,000 / 10^4, triangles 0.61 / 0.79 / 0.84 / 0.86, tetrahedra 0.78 / 0.84 / 0.61 / 0.71;
#: 2-D at 100 and 10^4 points per landmark: edges 0.66 / 0.86, triangles 0.87 / 0.90; 4-D at 10
#: and 1,000: 0.72 / 0.70, 0.58 / 0.68, 0.47 / 0.58, 0.75 / 0.81).
#: R29 (issue 30's ninth round, f5157b1, the kernel ~2x faster than at R30): the entries
#: measured are set to the measurement (3-D at all four; 2-D at 100 and 10^4; 4-D at 10 and
#: 1,000; 5-D at all three; two runs averaged at 3-D 100 and 1,000); the others are R30's
#: times the ratio of their neighbours (2-D at 10: that at 100, at 1,000: the geometric mean
#: of 100 and 10^4; 4-D at 100: the mean of 10 and 1,000, at 10^4: that at 1,000). 6-D
#: measured at 100 points per landmark only (0.38-0.73 of R31; a run at 333 takes ~15 min).
FILTRATION_US_PER_SIMPLEX = {
    1: {1: (4.2, 7.6, 24.1, 99.8)},  # edges of a line: measured on 2-D edges
    2: {1: (4.2, 7.6, 24.1, 99.8), 2: (5.2, 17.8, 163.0, 1500.0)},
    3: {
        1: (2.8, 7.4, 16.3, 48.0),
        2: (3.2, 11.0, 45.5, 240.0),
        3: (5.5, 23.4, 213.0, 2130.0),
    },
    4: {
        1: (4.35, 10.1, 19.6, 47.3),
        2: (4.4, 9.9, 36.1, 162.0),
        3: (6.6, 19.2, 130.0, 1465.0),
        4: (16.7, 72.8, 1060.0, 30180.0),
    },
    5: {  # R29: measured at 10, 100 and 1,000 points per landmark (cube 2e3-1e5 points)
        1: (5.8, 12.3, 26.5),
        2: (5.1, 11.8, 31.8),
        3: (7.4, 21.3, 87.4),
        4: (18.0, 77.7, 679.0),
        5: (47.0, 463.0, 11000.0),
    },
    6: {  # R29: measured at 100 (cube:10000:100:6); at 333 R31's times the same ratios
        1: (19.7, 31.4),
        2: (14.6, 23.8),
        3: (21.5, 48.0),
        4: (73.5, 247.0),
        5: (468.0, 3110.0),
        6: (4720.0, 34000.0),
    },
}
#: tol=0 (exact) against the default tol, filtration CPU (R31: 1.15 and 1.23 at 300k points,
#: 300 landmarks, 3-D). A tol 3x below the default cost 1.10x, 10x above it 0.36x.
EXACT_TOL_FACTOR = 1.2
#: method="grid": microseconds per interior grid point (one nearest-point query; R31: 0.51-0.62
#: at 300k points, 300 landmarks, 2-D and 3-D, points_per_edge 10-30).
GRID_US_PER_QUERY = 0.55
#: persistence (FloodResult.diagrams): microseconds per simplex, by dimension. Up to 3-D
#: flood/_persistence.py's walks (RESULTS.md "Many landmarks", eca9938: 0.25 and 0.37 us on
#: the 1M cheese at 10^4 and 10^5 landmarks); in 4-D to 6-D the middle dimensions need
#: gudhi's SimplexTree, insert_batch and persistence (R31: 1.9-2.2 us for 8e4-1e6 simplices
#: in 2-5-D; DESIGN.md 6: ~1.5 us for 1M simplices).
#: R29: 0.12-0.16 us in 2-D and 3-D (1.8e4-2.8e5 simplices), 1.0 in 4-D (3.3e5), 1.2 in 5-D,
#: 1.3 in 6-D (2.6e5).
PERSISTENCE_US_PER_SIMPLEX = {1: 0.15, 2: 0.15, 3: 0.15, 4: 1.0, 5: 1.2, 6: 1.3}
#: Wall-clock gain of each thread past the first in the certified filtration (RESULTS.md,
#: seventh step: one-thread CPU 4.55 s, two-thread wall 2.48 s on two free cores: 1.83x).
THREAD_GAIN = 0.83

# -- bytes -----------------------------------------------------------------------------------
#: Resident memory of the Python process before the run: the interpreter, NumPy, SciPy,
#: Warp, gudhi and flood's loaded kernels (R31: 298 MiB after import and a first tiny run).
BASE_BYTES = 300 * 2**20
#: index: peak bytes per point, 16 per coordinate (the centred copy and the tree's copy of X)
#: and 45 more (orders, Z-order keys) (R31: 2-D 61-72, 3-D 85-107, 4-D 90-145 B/pt).
#: R29 (f5157b1: no centred copy, the Morton keys without temporaries): 2-D 41-45, 3-D 53-63,
#: 4-D 52-73 B/pt over 2e4-2e6 points: 12 per coordinate (the tree's points and boxes) and 18.
INDEX_BYTES_PER_POINT = (12, 18)
#: landmarks: peak bytes per point, 40 per coordinate and 30 more: the index, a rotated copy
#: of X and fpsample's own (R31: 2-D 100-114, 3-D 132-158, 4-D 159-208 B/pt;
#: tests/test_resources.py: 132 B/pt by VmHWM at d3b6b8c, 3-D).
#: R29 (the index included; FPS's float32 copies): 2-D 70-72, 3-D 82-101, 4-D 126-157 B/pt
#: (2e4-1e5 points): 16 per coordinate and 40.
LANDMARKS_BYTES_PER_POINT = (16, 40)
#: delaunay: bytes per simplex over the index's (Qhull's output, the faces of each dimension
#: and their facet rows; R31: 100 B in 3-D, 140 in 4-D, 175 in 5-D at 2.7e5-1e6 simplices).
#: R29: the landmarks stage's peak stays (glibc keeps its heap), and 110-123 B per simplex over
#: it at 2.7e5-3.2e5 simplices in 3-D and 4-D.
DELAUNAY_BYTES_PER_SIMPLEX = 120
#: filtration: bytes per simplex held through the refinement (corners, edge vectors, seeds,
#: sites, bounds and, since 41285bc, each simplex's maximizer; R31: 2.2-2.7 KB per simplex at
#: b8e89bf, 2.8-3.6 KB at 41285bc, 1e5-1e6 simplices in 3-5-D). Peaks of one run repeated
#: spread up to 1.7x (4-D, 1e5 points, 1,000 landmarks: 430-921 MiB): glibc keeps freed
#: batch arrays in its heap as its mmap threshold grows (with MALLOC_MMAP_THRESHOLD_=131072
#: the 2e5-point run of tests/test_estimate.py peaks at 84 MiB instead of 212-367).
#: R30: a least-squares fit (relative errors) of 12 runs' filtration peaks over the index's
#: bytes (the 9 runs, and 1e6 / 2e6 points with 100 landmarks up to dimension 1 and 2; each
#: within 0.67-1.25) gave 271 B per simplex and 0.65x the scratch of R31's
#: ``SCRATCH_TOUCHED`` (taken into it below).
#: R29: over the Delaunay stage's peak, 164-350 B per simplex (2.6e4-3.2e5 simplices, 3-D
#: and 4-D).
FILTRATION_BYTES_PER_SIMPLEX = 230
#: filtration: the kernel's scratch per polytope vertex (kernels/_voronoi.py TaskScratch:
#: 250,064 bytes per task at 256 vertices). On the CPU one row per launching thread serves
#: all its tasks (issue 30, eighth round): at most 2 x 2,048 x 977 B = 4 MB on two threads.
#: R31's model of a row per task (up to a batch per thread) over-counted ~80 MB of the
#: 175 MB predicted for a 1M cheese at 1,000 landmarks.
SCRATCH_BYTES_PER_VERTEX = 977
#: persistence: bytes per simplex, the result's arrays (simplices, bounds, values) and gudhi's
#: tree and pairs (R31: 50-70 B/simplex of RSS growth for gudhi).
PERSISTENCE_BYTES_PER_SIMPLEX = 130


def piecewise(t, ts, vs):
    """Piecewise linear interpolation of ``vs`` over increasing ``ts`` at ``t``, continued by
    the end segments' slopes beyond the ends (a single row: constant)."""
    if len(ts) == 1:
        return float(vs[0])
    i = 0
    while i < len(ts) - 2 and t > ts[i + 1]:
        i += 1
    return vs[i] + (vs[i + 1] - vs[i]) * (t - ts[i]) / (ts[i + 1] - ts[i])


def loglog(x, xs, ys):
    """:func:`piecewise` in log(x) and log(y): power laws between and beyond the rows."""
    return math.exp(piecewise(math.log(x), [math.log(v) for v in xs], [math.log(v) for v in ys]))


def simplices_per_dimension(n_landmarks, dim, max_dimension):
    """Predicted simplices of Del(L) per dimension 0..max_dimension (vertices first)."""
    L = n_landmarks
    if dim == 1:
        return [L, L - 1][: max_dimension + 1]  # the landmarks of a line: L - 1 edges
    rows = SIMPLICES_PER_LANDMARK[dim]
    sizes = sorted(rows, reverse=True)  # increasing x = L**(-1/dim)
    xs = [size ** (-1.0 / dim) for size in sizes]
    counts = [L]
    for k in range(1, max_dimension + 1):
        per = piecewise(L ** (-1.0 / dim), xs, [rows[size][k - 1] for size in sizes])
        # at least one d-simplex and its faces; at most every (k + 1)-subset of L
        counts.append(max(math.comb(dim + 1, k + 1), min(round(per * L), math.comb(L, k + 1))))
    return counts
