"""Neural baselines: a dense and a pruned PointNet on spheres vs tori (needs torch).

Fits :class:`flood.sparse_nn.SparsePointCloudClassifier` twice on a small generated set, once
dense and once with gradual magnitude pruning to 80% sparsity, and prints test accuracy,
achieved sparsity and fit time. Tiny networks and few epochs, so it finishes in seconds::

    python examples/sparse_baselines.py
"""

import time

import numpy as np
from sklearn.model_selection import train_test_split

from flood.datasets import make_shapes_dataset


def main(n_samples=60, n_points=256, epochs=8, random_state=0):
    """Fit both networks; return a dict of results per model."""
    import torch

    from flood.sparse_nn import SparsePointCloudClassifier

    torch.set_num_threads(1)
    X, y = make_shapes_dataset(n_samples, n_points, dim=3, noise=0.03, random_state=random_state)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=random_state
    )
    results = {}
    for name, pruning in (("dense", None), ("gradual 0.8", "gradual")):
        clf = SparsePointCloudClassifier(
            architecture="pointnet",
            pruning=pruning,
            sparsity=0.8,
            n_points=128,
            width=8,
            epochs=epochs,
            batch_size=16,
            learning_rate=3e-3,
            validation_fraction=0.0,
            random_state=random_state,
        )
        start = time.perf_counter()
        clf.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        results[name] = {
            "accuracy": float(clf.score(X_test, y_test)),
            "sparsity": float(clf.sparsity_report_.sparsity),
            "fit_s": seconds,
            "model": clf,
        }
        print(
            f"{name:>12}: test accuracy {results[name]['accuracy']:.3f}, sparsity "
            f"{results[name]['sparsity']:.2f}, fit {seconds:.1f} s "
            f"(chance {np.bincount(y_test).max() / len(y_test):.2f})"
        )
    return results


if __name__ == "__main__":
    main()
