"""Certified filtration vs flooder's grid rule on one cloud (100k torus, 1,000 landmarks).

The grid values come from flood's ``method="grid"``, which reproduces flooder's estimate
(30 points per edge, each face the maximum over its grid points; checked against a NumPy
brute force in tests/test_complex.py and against flooder itself in benchmarks/accuracy.py).

    python benchmarks/certified_vs_grid.py
"""

import time

import gudhi
import numpy as np

import flood
from flood.datasets import make_torus

X = make_torus(100_000, random_state=0)
t = time.perf_counter()
c = flood.flood_complex(X, 1000, random_state=0)
tc = time.perf_counter() - t
t = time.perf_counter()
g = flood.flood_complex(X, 1000, random_state=0, method="grid")
tg = time.perf_counter() - t
assert np.array_equal(c.landmark_indices, g.landmark_indices)
print(f"certified {tc:.1f} s {c.timings}; grid (30/edge) {tg:.1f} s")
evals = {k: round(v, 1) for k, v in c.evaluations.items()}
print("evaluations per simplex: certified", evals, "grid", g.evaluations)
print("tol", c.tol, "max gap", c.max_gap, "covering radius", c.covering_radius)
for k in range(1, 4):
    d = g.filtration[k] - c.filtration[k]
    below = (g.filtration[k] < c.lower[k]).mean()
    print(
        f"dim {k}: max |grid - certified| {np.abs(d).max():.4g}, mean {np.abs(d).mean():.4g}, "
        f"grid below certified lower: {below:.3f}, "
        f"max(lower - grid) {(c.lower[k] - g.filtration[k]).max():.4g}, "
        f"grid above upper: {(g.filtration[k] > c.upper[k]).mean():.3f}"
    )
for q, (a, b) in enumerate(zip(c.diagrams((0, 1, 2)), g.diagrams((0, 1, 2)))):
    print(f"H{q} bottleneck certified vs grid {gudhi.bottleneck_distance(a, b):.4g}")
