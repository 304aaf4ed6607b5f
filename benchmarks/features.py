"""Which diagram vectorizer learns: PersistenceFeatures' vectorizers on the same diagrams.

Issue 31, point 2: the README's pipeline ``PersistenceFeatures() -> StandardScaler ->
LogisticRegression`` on Flood diagrams (H0-H2) of generated clouds, scored by 3-fold
cross-validation (``cross_val_score(..., cv=3)``) for several seeds of the vectorizer.
Tasks, as in ``benchmarks/classification.py``:

- **swiss_cheese**: ``make_swiss_cheese`` with ``--voids`` (default 8 vs 16) voids;
- **rocks**: ``make_rock`` blob vs fractal (voxel resolution 32).

Each cloud's diagrams are computed once (``flood_complex``, library defaults, one thread per
worker) and cached in ``--cache`` (a pickle per task and size), so vectorizers are compared on
the same diagrams::

    python benchmarks/features.py --task swiss_cheese --n-points 100000   # ~6 min on 2 cores
    python benchmarks/features.py --task rocks --n-points 20000

prints a Markdown table: accuracy mean and min-max over the ``--seeds`` vectorizer seeds
(deterministic vectorizers are scored once), and the seconds of the 3 fits per seed.
"""

import argparse
import os
import pathlib
import pickle
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # k-means threads oversubscribe the jobs' cores
os.environ.setdefault(
    "WARP_CACHE_PATH", str(pathlib.Path(__file__).resolve().parents[1] / "build" / "warp-cache")
)

import numpy as np  # noqa: E402

#: Candidates: name -> PersistenceFeatures parameters (``random_state`` added per seed).
CANDIDATES = {
    "default (betti)": {},
    "weighted_atol": {"vectorizer": "weighted_atol"},
    "atol (paper)": {"vectorizer": "atol"},
    "atol, 16 centres": {"vectorizer": "atol", "n_centers": 16},
    "stats": {"vectorizer": "stats"},
    "image": {"vectorizer": "image"},
    "landscape": {"vectorizer": "landscape"},
}
#: Vectorizers without randomness: scored once, not once per seed.
DETERMINISTIC = ("default (betti)", "stats", "image", "landscape")


def cloud_diagrams(task, label, n_points, landmarks, voids, seed):
    """Flood diagrams (H0-H2) of one generated cloud."""
    from flood import flood_complex
    from flood.datasets import make_rock, make_swiss_cheese

    if task == "swiss_cheese":
        cloud = make_swiss_cheese(n_points, n_voids=voids[label], random_state=seed)
    else:
        kind = ("blob", "fractal")[label]
        cloud = make_rock(n_points, kind=kind, resolution=32, random_state=seed).points
    result = flood_complex(cloud, landmarks, device="cpu", random_state=seed % 2**31, n_threads=1)
    return result.diagrams((0, 1, 2))


def load_or_compute(args):
    """``(diagrams, y)`` of the task, from the cache when there."""
    from joblib import Parallel, delayed

    voids = "-".join(map(str, args.voids)) if args.task == "swiss_cheese" else "kinds"
    name = f"{args.task}_{voids}_{args.n_points}_{args.n_clouds}_{args.landmarks}_{args.seed}.pkl"
    path = args.cache / name
    if path.exists():
        with path.open("rb") as f:
            return pickle.load(f)
    rng = np.random.default_rng(args.seed)
    y = rng.permutation(np.arange(args.n_clouds) % 2)
    seeds = rng.integers(0, 2**32, size=args.n_clouds)
    start = time.perf_counter()
    diagrams = Parallel(n_jobs=args.jobs)(
        delayed(cloud_diagrams)(args.task, int(lab), args.n_points, args.landmarks, args.voids, s)
        for lab, s in zip(y, seeds.tolist(), strict=True)
    )
    print(f"diagrams: {time.perf_counter() - start:.0f} s wall")
    args.cache.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pickle.dump((diagrams, y), f)
    return diagrams, y


def score(params, diagrams, y, seeds):
    """3-fold cross-validated accuracy of the README's pipeline, one per vectorizer seed."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from flood import PersistenceFeatures

    out = []
    for seed in seeds:
        pipe = make_pipeline(
            PersistenceFeatures(**params, random_state=seed),
            StandardScaler(),
            LogisticRegression(max_iter=1000),
        )
        out.append(cross_val_score(pipe, diagrams, y, cv=3).mean())
    return np.array(out)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("swiss_cheese", "rocks"), default="swiss_cheese")
    parser.add_argument("--n-points", type=int, default=100_000)
    parser.add_argument("--n-clouds", type=int, default=48)
    parser.add_argument("--landmarks", type=int, default=1_000)
    parser.add_argument("--voids", type=int, nargs=2, default=(8, 16))
    parser.add_argument(
        "--seeds", type=int, default=5, help="vectorizer seeds 0..seeds-1 (at least 1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the clouds")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache", type=pathlib.Path, default=pathlib.Path("/tmp/flood-features"))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    diagrams, y = load_or_compute(args)
    print(
        f"\n{args.task}, {len(y)} clouds of {args.n_points:,} points, {args.landmarks:,} landmarks"
    )
    print("\n| vectorizer | accuracy mean | min-max | s per seed |\n|---|---|---|---|")
    for name, params in CANDIDATES.items():
        seeds = range(1 if name in DETERMINISTIC else args.seeds)
        start = time.perf_counter()
        acc = score(params, diagrams, y, seeds)
        seconds = (time.perf_counter() - start) / len(seeds)
        row = f"| {name} | {acc.mean():.3f} | {acc.min():.3f}-{acc.max():.3f} | {seconds:.0f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
