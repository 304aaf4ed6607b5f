"""A topological loss in torch: close the spurious loops of a noisy ring, keep the real one.

A ring of points with noise and a few outliers has one long H1 bar (the ring) and short
spurious ones (loops of the noise). ``flood.torch.flood_persistence`` gives the diagrams
as tensors with gradients to the points; gradient descent on

    loss = sum of the spurious H1 bars' lengths - length of the longest H1 bar

moves only the few points that witness each bar's birth and death (a k-d tree finds them
per critical simplex; the others get exactly zero gradient). It saves a figure of the
cloud and its H1 diagram before and after::

    python examples/topological_loss.py [OUT_DIR]

The figure goes to ``OUT_DIR``, else to ``$FLOOD_EXAMPLES_OUT``, else to a new temporary
folder.
"""

import os
import pathlib
import sys
import tempfile

import numpy as np


def output_dir(out_dir=None):
    """``out_dir``, else ``$FLOOD_EXAMPLES_OUT``, else a new temporary folder (created)."""
    out = out_dir or os.environ.get("FLOOD_EXAMPLES_OUT") or tempfile.mkdtemp(prefix="flood-")
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def noisy_ring(n_points, random_state=0):
    """A unit ring with Gaussian noise, 5% of the points scattered in the disk."""
    rng = np.random.default_rng(random_state)
    t = rng.uniform(0, 2 * np.pi, n_points)
    ring = np.c_[np.cos(t), np.sin(t)] * rng.normal(1.0, 0.08, n_points)[:, None]
    n_out = n_points // 20
    ring[:n_out] = rng.uniform(-0.8, 0.8, (n_out, 2))
    return ring


def main(out_dir=None, n_points=600, n_landmarks=80, steps=40, lr=0.02):
    """Run the example; return the losses, the diagrams before and after, the figure."""
    import torch

    from flood.torch import flood_persistence, persistence

    x = torch.tensor(noisy_ring(n_points), requires_grad=True)
    start = x.detach().clone()
    optimizer = torch.optim.SGD([x], lr=lr)
    losses, diagrams = [], []
    for step in range(steps + 1):
        (h1,) = flood_persistence(x, n_landmarks, homology_dimensions=1, random_state=0)
        bars = persistence(h1)
        loss = bars[1:].sum() - bars[0]
        losses.append(loss.item())
        if step in (0, steps):
            diagrams.append(h1.detach().numpy())
            print(
                f"step {step:3d}: loss {loss.item():+.4f}, ring bar {bars[0].item():.3f}, "
                f"{len(bars) - 1} spurious bars of total length {bars[1:].sum().item():.3f}"
            )
        if step < steps:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    figure = _figure(output_dir(out_dir), start.numpy(), x.detach().numpy(), diagrams, losses)
    print("figure:", figure)
    return {
        "losses": losses,
        "before": diagrams[0],
        "after": diagrams[1],
        "points": (start.numpy(), x.detach().numpy()),
        "figure": figure,
    }


def _figure(out, before, after, diagrams, losses):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 5.5), layout="constrained")
    moved = np.linalg.norm(after - before, axis=1)
    axes[0].scatter(before[:, 0], before[:, 1], s=4)
    dots = axes[1].scatter(after[:, 0], after[:, 1], s=5, c=moved, cmap="viridis")
    fig.colorbar(dots, ax=axes[1], location="bottom", shrink=0.7, label="distance moved")
    for ax, title in zip(axes[:2], ("before", f"after {len(losses) - 1} steps")):
        ax.set_aspect("equal")
        ax.set_title(f"points, {title}")
    top = max(float(d[:, 1].max()) for d in diagrams) * 1.05
    axes[2].plot([0, top], [0, top], "k--", lw=0.8)
    for d, label, marker in zip(diagrams, ("before", "after"), ("o", "x")):
        axes[2].scatter(d[:, 0], d[:, 1], marker=marker, label=f"H1 {label}")
    axes[2].set_xlabel("birth")
    axes[2].set_ylabel("death")
    axes[2].set_title("H1 diagram: spurious loops close, the ring grows")
    axes[2].legend(loc="lower right")
    path = out / "topological_loss.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
