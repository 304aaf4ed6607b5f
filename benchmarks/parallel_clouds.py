"""Wall time of FloodComplex over many clouds: n_jobs=1 against n_jobs=2 (joblib/loky).

Twenty 100k-point clouds (10 tori, 10 spheres), 300 landmarks each, H0-H2, CPU device.
Both runs are measured once, after a small warm-up that compiles the kernels and starts the
loky workers, and the two outputs are checked to be identical. Prints a markdown table::

    python benchmarks/parallel_clouds.py                 # 20 clouds of 100k points
    python benchmarks/parallel_clouds.py --quick         # 4 clouds of 10k points
"""

import argparse
import os
import pathlib
import time

os.environ.setdefault(
    "WARP_CACHE_PATH", str(pathlib.Path(__file__).resolve().parents[1] / "build" / "warp-cache")
)

import numpy as np  # noqa: E402

from flood import FloodComplex  # noqa: E402
from flood.datasets import make_sphere, make_torus  # noqa: E402


def _clouds(n_clouds, n_points, seed=0):
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**32, size=n_clouds)
    return [
        (make_torus if i % 2 else make_sphere)(n_points, noise=0.01, random_state=s)
        for i, s in enumerate(seeds)
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clouds", type=int, default=20)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--landmarks", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="4 clouds of 10k points")
    args = parser.parse_args()
    if args.quick:
        args.clouds, args.points = 4, 10_000
    X = _clouds(args.clouds, args.points)

    def estimator(n_jobs):
        return FloodComplex(
            n_landmarks=args.landmarks, device="cpu", n_jobs=n_jobs, random_state=0
        ).fit(X[:1])

    warm = _clouds(2, 2_000, seed=1)
    for n_jobs in (1, 2):  # compile kernels here and in the loky workers
        estimator(n_jobs).transform(warm)

    rows, outputs = [], {}
    for n_jobs in (1, 2):
        t0 = time.perf_counter()
        outputs[n_jobs] = estimator(n_jobs).transform(X)
        rows.append((n_jobs, time.perf_counter() - t0))
        print(f"n_jobs={n_jobs}: {rows[-1][1]:.1f} s", flush=True)
    same = all(
        np.array_equal(a, b)
        for s, t in zip(outputs[1], outputs[2], strict=True)
        for a, b in zip(s, t, strict=True)
    )
    base = rows[0][1]
    print(
        f"{args.clouds} clouds x {args.points:,} points, {args.landmarks} landmarks, H0-H2, "
        f"{os.cpu_count()} CPUs; identical outputs: {same}\n"
    )
    print("| n_jobs | wall s | s / cloud | ratio to n_jobs=1 |")
    print("|---|---|---|---|")
    for n_jobs, t in rows:
        print(f"| {n_jobs} | {t:.1f} | {t / args.clouds:.2f} | {t / base:.2f} |")


if __name__ == "__main__":
    main()
