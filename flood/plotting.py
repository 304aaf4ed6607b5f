"""Plots of persistence diagrams and barcodes (needs ``pip install flood-tda[plot]``)."""

import numpy as np


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install flood-tda[plot]") from exc
    return plt


def plot_diagrams(diagrams, homology_dimensions=None, ax=None, title=None):
    """Scatter the persistence diagrams of several dimensions on one pair of axes.

    Parameters
    ----------
    diagrams : list of ndarray of shape (n_pairs, 2)
        As returned by :meth:`flood.FloodResult.diagrams`; ``inf`` deaths are drawn on a
        dashed line above the largest finite value.
    homology_dimensions : sequence of int, optional
        Labels for the entries of ``diagrams`` (default 0, 1, 2, ...).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    dims = list(range(len(diagrams))) if homology_dimensions is None else homology_dimensions
    finite = [d[np.isfinite(d)] for d in diagrams if len(d)]
    top = max((float(f.max()) for f in finite if len(f)), default=1.0)
    inf_y = top * 1.1 if top > 0 else 1.0
    for q, d in zip(dims, diagrams):
        d = np.asarray(d, dtype=float).reshape(-1, 2)
        y = np.where(np.isinf(d[:, 1]), inf_y, d[:, 1])
        ax.scatter(d[:, 0], y, s=12, label=f"H{q} ({len(d)})", alpha=0.8)
    ax.plot([0, inf_y], [0, inf_y], color="gray", lw=0.8)
    ax.axhline(inf_y, color="gray", lw=0.8, ls="--")
    ax.set_xlabel("birth (radius)")
    ax.set_ylabel("death (radius)")
    ax.set_xlim(-0.02 * inf_y, inf_y * 1.05)
    ax.set_ylim(-0.02 * inf_y, inf_y * 1.05)
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    return ax


def plot_barcode(diagrams, homology_dimensions=None, ax=None, max_bars=50, title=None):
    """Horizontal bars for the ``max_bars`` longest intervals of each dimension.

    Returns
    -------
    ax : matplotlib Axes
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    dims = list(range(len(diagrams))) if homology_dimensions is None else homology_dimensions
    finite = [d[np.isfinite(d)] for d in diagrams if len(d)]
    top = max((float(f.max()) for f in finite if len(f)), default=1.0) * 1.1
    row = 0
    for i, (q, d) in enumerate(zip(dims, diagrams)):
        d = np.asarray(d, dtype=float).reshape(-1, 2)
        death = np.where(np.isinf(d[:, 1]), top, d[:, 1])
        order = np.argsort(d[:, 0] - death)[:max_bars]
        for j in order:
            ax.plot([d[j, 0], death[j]], [row, row], color=f"C{i}", lw=2)
            row += 1
        ax.plot([], [], color=f"C{i}", lw=2, label=f"H{q}")
    ax.set_xlabel("radius")
    ax.set_yticks([])
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    return ax
