"""Same values check for a kernel refactor: sums of the certified bounds on a fixed cloud.

Usage::

    python benchmarks/certified_sums.py --n 100000 --landmarks 1000

Runs :func:`flood.flood_complex` (certified, default ``tol``, one fixed seed) and prints, per
simplex dimension, the sums of the lower and upper bounds (``repr``: every digit), the
queries per simplex, the largest ``|S|`` and the splits. Run it before and after a change
that must not change the arithmetic and compare the lines; ``--timing`` adds the stage times.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cloud", default="cheese", help="cloud of benchmarks/_peers.make_cloud")
    p.add_argument("--n", type=int, default=100_000, help="points")
    p.add_argument("--landmarks", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tol", type=float, default=None, help="certified gap (default: flood's)")
    p.add_argument("--timing", action="store_true", help="also print the stage times")
    args = p.parse_args()
    sys.path.insert(0, HERE)
    from _peers import make_cloud

    from flood import flood_complex

    X = make_cloud(args.cloud, args.n, args.seed)
    res = flood_complex(X, args.landmarks, tol=args.tol, random_state=args.seed, device="cpu")
    print(f"{args.cloud} n={args.n} landmarks={args.landmarks} seed={args.seed} tol={res.tol!r}")
    for k in range(1, len(res.simplices)):
        print(
            f"dim {k}: n={len(res.simplices[k])} sum_lower={float(res.lower[k].sum())!r} "
            f"sum_upper={float(res.upper[k].sum())!r} "
            f"queries_per_simplex={res.evaluations[k]!r} "
            f"max_sites={res.work['max_sites'][k]} splits={res.work['splits'][k]}"
        )
    if args.timing:
        print(" ".join(f"{k}={v:.3f}" for k, v in res.timings.items()))


if __name__ == "__main__":
    main()
