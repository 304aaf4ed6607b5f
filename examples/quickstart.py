"""Quickstart: the Flood complex of one noisy torus, its diagrams, barcode and complex.

Computes certified Flood persistent homology (H0-H2) of a 3,000-point torus with 100
landmarks on the CPU, prints the most persistent classes and saves three figures::

    python examples/quickstart.py [OUT_DIR]

Figures go to ``OUT_DIR``, else to ``$FLOOD_EXAMPLES_OUT``, else to a new temporary folder.
"""

import os
import pathlib
import sys
import tempfile

import numpy as np

from flood import flood_complex
from flood.datasets import make_torus


def output_dir(out_dir=None):
    """``out_dir``, else ``$FLOOD_EXAMPLES_OUT``, else a new temporary folder (created)."""
    out = out_dir or os.environ.get("FLOOD_EXAMPLES_OUT") or tempfile.mkdtemp(prefix="flood-")
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def main(out_dir=None, n_points=3_000, n_landmarks=100):
    """Run the example; return the diagrams, the result and the paths of the figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from flood.plotting import plot_barcode, plot_complex, plot_diagrams

    out = output_dir(out_dir)
    points = make_torus(n_points, R=1.0, r=0.35, noise=0.01, random_state=0)
    result = flood_complex(points, n_landmarks, device="cpu", random_state=0)
    diagrams = result.diagrams((0, 1, 2))
    print(
        f"{n_points} points, {len(result.landmarks)} landmarks, simplices per dimension "
        f"{result.n_simplices}, certified gap <= {result.max_gap:.2e}"
    )
    for q, d in enumerate(diagrams):
        finite = d[np.isfinite(d[:, 1])]
        top = np.sort(finite[:, 1] - finite[:, 0])[::-1][:3]
        print(f"H{q}: {len(d)} pairs, longest finite persistences {np.round(top, 3).tolist()}")

    paths = {}
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    plot_diagrams(diagrams, ax=axes[0], title="Flood persistence diagram")
    plot_barcode(diagrams, ax=axes[1], max_bars=15, title="barcode (15 longest per dimension)")
    paths["diagrams"] = out / "quickstart_diagrams.png"
    fig.savefig(paths["diagrams"], dpi=100)
    ax = plot_complex(result, title="landmarks and Delaunay edges, by filtration value")
    paths["complex"] = out / "quickstart_complex.png"
    ax.figure.savefig(paths["complex"], dpi=100)
    plt.close("all")
    print("figures:", *map(str, paths.values()))
    return {"diagrams": diagrams, "result": result, "figures": paths}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
