"""CPU seconds of the certified filtration alone, at many landmarks.

Usage::

    python benchmarks/filtration_time.py --n 1000000 --landmarks 10000,100000 --repeats 2

Builds the cloud (benchmarks/_peers.make_cloud), its tree, the landmarks and their Delaunay
complex once per landmark count (cached under ``--cache`` between runs: only the tree is
rebuilt), then times flood's filtration stage (``certified_bounds``, then the propagation
and the maximizers, as :func:`flood.flood_complex` runs them) ``--repeats`` times after one
untimed run that compiles the kernels. Prints per run the wall and CPU seconds (process
time: both cores' work), the CPU of ``certified_bounds`` alone, and the sums of the bounds
(``repr``: the same-values check of benchmarks/certified_sums.py at these sizes).

Measured (issue 30, 1M cheese, 2 threads, CPU seconds of ``certified_bounds``; 32c9e0e ->
f309381, alternated runs): 100,000 landmarks 27.6-34.5 -> 22.5-24.6 (load 1-4.7; peak RSS of
this script 6.3 GB -> 1.14 GB), 10,000 landmarks 6.8-7.1 -> 6.7-7.0, 1,000 landmarks 4.8-4.9
-> 4.6-4.7; sums identical.
"""

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def inputs(cloud, n, landmarks, seed, cache):
    """(X centered, landmarks, sites, simplices, facets, vertex values, tol), from the cache
    when a run made them before."""
    from _peers import make_cloud

    from flood._complex import _index, _landmarks
    from flood._landmarks import covering_radius
    from flood._stages import default_tol, triangulate_landmarks

    X = make_cloud(cloud, n, seed)
    Xc = X - X.mean(axis=0)
    path = os.path.join(cache, f"{cloud}_{n}_{landmarks}_{seed}.npz") if cache else None
    if path and os.path.exists(path):
        z = np.load(path)
        depth = int(z["depth"])
        simplices = [z[f"s{k}"] for k in range(depth)]
        facets = [z[f"f{k}"] if f"f{k}" in z.files else None for k in range(depth)]
        return Xc, z["L"], z["sites"], simplices, facets, z["values"], float(z["tol"])
    tree, inverse = _index(Xc, "cpu")
    L, sites, values, _ = _landmarks(Xc, 0.0, tree, inverse, landmarks, seed)
    cover = covering_radius(tree, L, device="cpu", n_threads=2)
    simplices, facets = triangulate_landmarks(L, Xc, 3)
    tol = default_tol(cover, L, simplices)
    if path:
        os.makedirs(cache, exist_ok=True)
        arrays = {f"s{k}": s for k, s in enumerate(simplices)}
        arrays.update({f"f{k}": f for k, f in enumerate(facets) if f is not None})
        np.savez(path, L=L, sites=sites, values=values, tol=tol, depth=len(simplices), **arrays)
    return Xc, L, sites, simplices, facets, values, tol


def run_once(tree, L, sites, simplices, facets, values, tol, n_threads):
    """(wall s, CPU s, CPU s of certified_bounds and its system share, lower, upper) of
    one filtration stage."""
    from flood._certify import certified_bounds, maximizers
    from flood._stages import certified_filtration

    w0, c0, s0 = time.perf_counter(), time.process_time(), os.times().system
    lower, upper, stats = certified_bounds(
        tree, L, sites, simplices, facets, tol, vertex_values=values, n_threads=n_threads
    )
    c1, s1 = time.process_time(), os.times().system
    certified_filtration(lower, upper, facets, stats.queries, simplices)
    maximizers(L, lower, stats.witness, simplices, facets)
    return time.perf_counter() - w0, time.process_time() - c0, c1 - c0, s1 - s0, lower, upper


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cloud", default="cheese", help="cloud of benchmarks/_peers.make_cloud")
    p.add_argument("--n", type=int, default=1_000_000, help="points")
    p.add_argument("--landmarks", default="10000", help="comma-separated landmark counts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1, help="timed runs per landmark count")
    p.add_argument("--n-threads", type=int, default=2)
    p.add_argument("--cache", default="/tmp/flood_filtration_inputs", help="'' for none")
    args = p.parse_args()
    sys.path.insert(0, HERE)
    from flood.kernels import build_tree

    for m in (int(v) for v in args.landmarks.split(",")):
        Xc, L, sites, simplices, facets, values, tol = inputs(
            args.cloud, args.n, m, args.seed, args.cache
        )
        tree = build_tree(Xc, device="cpu")
        sizes = "/".join(str(len(s)) for s in simplices[1:])
        run_once(tree, L, sites, simplices, facets, values, tol, args.n_threads)  # compiles
        for r in range(args.repeats):
            wall, cpu, cpu_bounds, sys_bounds, lower, upper = run_once(
                tree, L, sites, simplices, facets, values, tol, args.n_threads
            )
            print(
                f"{args.cloud} n={args.n} landmarks={m} simplices={sizes} run {r}: "
                f"wall {wall:.3f} s, cpu {cpu:.3f} s (certified_bounds {cpu_bounds:.3f} s, "
                f"of it system {sys_bounds:.3f} s)",
                flush=True,
            )
        for k in range(1, len(simplices)):
            print(
                f"  dim {k}: sum_lower={float(lower[k].sum())!r} "
                f"sum_upper={float(upper[k].sum())!r}"
            )


if __name__ == "__main__":
    main()
