"""Where the holes are, at scale: time of FloodResult.features (pairs, centres, cycles) and
of the report against flood_complex itself on a swiss cheese (issue 29's target: <= 1x).
The features' time is split: Oineus (the cell list, the reduction) and the rest (pairs,
centres, cycles: loops, shells).

    python benchmarks/holes.py [--points 1000000] [--voids 20] [--landmarks 1000]
"""

import argparse
import os
import tempfile
import time

import numpy as np

from flood import flood_complex, write_report
from flood._cycles import OineusReducer
from flood.datasets import make_swiss_cheese


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--points", type=int, default=1_000_000)
    p.add_argument("--voids", type=int, default=20)
    p.add_argument("--landmarks", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    X, centres, radii = make_swiss_cheese(
        a.points, n_voids=a.voids, return_voids=True, random_state=a.seed
    )
    flood_complex(X[:20_000], 100, random_state=0)  # compile / warm the kernels
    t0, c0 = time.perf_counter(), time.process_time()
    res = flood_complex(X, a.landmarks, random_state=a.seed)
    t1, c1 = time.perf_counter(), time.process_time()
    res._reducer = OineusReducer(res.simplices, res.filtration)  # what features() builds
    t_oineus, c_oineus = time.perf_counter() - t1, time.process_time() - c1
    f = res.features(top=a.voids)  # pairs, centres, cycles
    t2, c2 = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as d:
        size = write_report(res, os.path.join(d, "r.html"), X, features=f)
    t3 = time.perf_counter()
    h2 = f[f["dimension"] == 2]
    dist = np.linalg.norm(h2["centre"][:, None] - centres[None], axis=2)
    match = dist.argmin(axis=1)
    load = os.getloadavg()[0]
    print(f"points {a.points:,}  voids {a.voids}  landmarks {a.landmarks}  load {load:.1f}")
    n_simplices = sum(len(s) for s in res.simplices)
    print("wall s (CPU s of this process, all its threads: the machine may be shared)")
    print(f"flood_complex      {t1 - t0:7.2f} s ({c1 - c0:.2f})")
    ratio, cpu_ratio = (t2 - t1) / (t1 - t0), (c2 - c1) / (c1 - c0)
    top = f"features(top={a.voids})"
    print(f"{top} {t2 - t1:7.2f} s ({c2 - c1:.2f})   ratio {ratio:.3f} ({cpu_ratio:.3f})")
    print(f"  Oineus (cells, reduction) {t_oineus:7.2f} s ({c_oineus:.2f}), {n_simplices:,} cells")
    print(f"  pairs, centres, cycles    {t2 - t1 - t_oineus:7.2f} s ({c2 - c1 - c_oineus:.2f})")
    print(f"write_report       {t3 - t2:7.2f} s   {size / 1e3:.0f} kB")
    print(f"H2 rows in top {a.voids}: {len(h2)}, distinct voids matched: {len(set(match))}")
    err = dist[np.arange(len(h2)), match]
    dr = h2["radius"] - radii[match]
    print(f"centre error max {err.max():.4f}, radius - R in [{dr.min():.4f}, {dr.max():.4f}]")


if __name__ == "__main__":
    main()
