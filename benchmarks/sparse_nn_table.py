"""Accuracy vs sparsity of a pruned PointNet on spheres vs tori (flood.sparse_nn baselines).

Trains :class:`flood.sparse_nn.SparsePointCloudClassifier` (PointNet) on a generated two-class
set, noisy randomly rotated spheres vs tori, at sparsities 0, 0.5, 0.8, 0.9 and 0.95 with
gradual magnitude pruning (Zhu & Gupta), random pruning with uniform densities and random
pruning with ERK densities (Liu et al. 2022), and prints a markdown table of test accuracy,
achieved sparsity and training seconds per epoch. Sparsity 0 is one dense run shared by all
methods. Defaults finish in a few minutes on a 2-core CPU::

    python benchmarks/sparse_nn_table.py            # full table
    python benchmarks/sparse_nn_table.py --quick    # smoke run
"""

import argparse
import time

import numpy as np
import torch

from flood.sparse_nn import SparsePointCloudClassifier

SPARSITIES = (0.0, 0.5, 0.8, 0.9, 0.95)
METHODS = {"gradual magnitude": "gradual", "random (uniform)": "random", "random (ERK)": "erk"}


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


def spheres_and_tori(n_per_class: int, n_points: int, seed: int):
    """Noisy spheres (label 0) and tori (label 1), random size, pose and point count."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for _ in range(n_per_class):
        n = n_points + int(rng.integers(-n_points // 8, n_points // 8))
        sphere = rng.normal(size=(n, 3))
        sphere /= np.linalg.norm(sphere, axis=1, keepdims=True)
        u, v = rng.uniform(0, 2 * np.pi, size=(2, n))
        tube = rng.uniform(0.3, 0.6)
        ring = 1 + tube * np.cos(v)
        torus = np.stack([ring * np.cos(u), ring * np.sin(u), tube * np.sin(v)], axis=1)
        for cloud, label in ((sphere, 0), (torus, 1)):
            cloud = cloud + rng.normal(scale=0.05, size=cloud.shape)
            X.append(rng.uniform(0.5, 2.0) * cloud @ _rotation(rng) + rng.normal(size=3))
            y.append(label)
    return X, np.array(y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-per-class", type=int, default=150, help="training clouds per class")
    parser.add_argument("--n-points", type=int, default=512)
    parser.add_argument("--width", type=int, default=16, help="PointNet base width")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    args = parser.parse_args()
    if args.quick:
        args.n_per_class, args.n_points, args.width, args.epochs = 20, 128, 8, 3
    torch.set_num_threads(args.threads)
    train = spheres_and_tori(args.n_per_class, args.n_points, args.seed)
    test = spheres_and_tori(max(10, args.n_per_class // 3), args.n_points, args.seed + 1)
    params = dict(
        architecture="pointnet",
        n_points=args.n_points,
        width=args.width,
        epochs=args.epochs,
        batch_size=32,
        learning_rate=3e-3,
        validation_fraction=0.1,
        random_state=args.seed,
    )

    def run(pruning, sparsity):
        start = time.perf_counter()
        clf = SparsePointCloudClassifier(pruning=pruning, sparsity=sparsity, **params)
        clf.fit(*train)
        total = time.perf_counter() - start
        per_epoch = float(np.mean([row["time"] for row in clf.history_]))
        return clf.score(*test), clf.sparsity_report_.sparsity, per_epoch, total

    print(
        f"# PointNet (width {args.width}), spheres vs tori: {2 * args.n_per_class} training "
        f"clouds, {len(test[1])} test clouds, {args.n_points} points, {args.epochs} epochs, "
        f"torch {torch.__version__}, {args.threads} thread(s)\n"
    )
    print("| method | target sparsity | achieved | test accuracy | s/epoch | fit s |")
    print("|---|---|---|---|---|---|")
    warm_up = {**params, "epochs": 1}
    SparsePointCloudClassifier(**warm_up).fit(train[0][:8], train[1][:8])  # first-call costs
    clock = time.perf_counter()
    dense = run(None, 0.0)
    for label, pruning in METHODS.items():
        for sparsity in SPARSITIES:
            accuracy, achieved, per_epoch, total = (
                dense if sparsity == 0 else run(pruning, sparsity)
            )
            print(
                f"| {label} | {sparsity:.2f} | {achieved:.4f} | {accuracy:.3f} | "
                f"{per_epoch:.3f} | {total:.1f} |",
                flush=True,
            )
    print(f"\ntotal wall time: {time.perf_counter() - clock:.0f} s")


if __name__ == "__main__":
    main()
