"""Plots of persistence diagrams, barcodes and Flood complexes.

Needs matplotlib (``pip install flood-tda[plot]``); it is imported only when a function
here is called, so ``import flood`` never pulls it in.
"""

import numpy as np

__all__ = ["plot_barcode", "plot_complex", "plot_diagrams", "plot_features"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install flood-tda[plot]") from exc
    return plt


#: The infinity line sits this fraction of the largest finite value above it.
INF_MARGIN = 0.1
#: Label of the infinity line's tick.
INF_LABEL = "\u221e"


def _dimensions(diagrams, homology_dimensions, owner):
    """Labels of the diagrams: given, else their own ``homology_dimensions``, else 0, 1, ..."""
    if homology_dimensions is None:
        homology_dimensions = getattr(diagrams, "homology_dimensions", None)
    if homology_dimensions is None:
        return list(range(len(diagrams)))
    dims = [homology_dimensions] if np.ndim(homology_dimensions) == 0 else homology_dimensions
    dims = list(dims)
    if len(dims) != len(diagrams):
        raise ValueError(
            f"The 'homology_dimensions' parameter of {owner} must hold one dimension per "
            f"diagram ({len(diagrams)}). Got {homology_dimensions!r} instead."
        )
    return dims


def _as_pairs(diagrams):
    return [np.asarray(d, dtype=float).reshape(-1, 2) for d in diagrams]


def _infinity_level(diagrams):
    """Where to draw infinite deaths: ``INF_MARGIN`` above the largest finite value."""
    finite = [d[np.isfinite(d)] for d in diagrams]
    top = max((float(f.max()) for f in finite if len(f)), default=0.0)
    return top * (1 + INF_MARGIN) if top > 0 else 1.0


def _ticks_with_infinity(axis_ticks, inf_level):
    """The axis's own ticks below the infinity line, then the line itself, labelled."""
    ticks = [t for t in axis_ticks if 0 <= t < inf_level * (1 - INF_MARGIN / 2)]
    return ticks + [inf_level], [f"{t:g}" for t in ticks] + [INF_LABEL]


def plot_diagrams(diagrams, homology_dimensions=None, ax=None, title=None):
    """Scatter the persistence diagrams of several dimensions on one pair of axes.

    Births and deaths are radii. The diagonal is drawn; infinite deaths (essential
    classes) sit on a dashed infinity line just above the largest finite value, whose tick
    reads "\u221e".

    Parameters
    ----------
    diagrams : list of ndarray of shape (n_pairs, 2)
        As returned by :meth:`flood.FloodResult.diagrams` (which records their homology
        dimensions) or one sample of :class:`flood.FloodComplex`.
    homology_dimensions : sequence of int, optional
        The dimension of each entry of ``diagrams``, for the legend. Default: the
        ``homology_dimensions`` the diagrams carry, else 0, 1, 2, ...
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
        One scatter collection per diagram, labelled ``"H<q> (<n_pairs>)"``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from flood import flood_complex
    >>> from flood.datasets import make_circle
    >>> from flood.plotting import plot_diagrams
    >>> result = flood_complex(make_circle(200, random_state=0), 20, device="cpu")
    >>> ax = plot_diagrams(result.diagrams((1,), min_persistence=0.1))
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['H1 (1)']
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    dims = _dimensions(diagrams, homology_dimensions, "plot_diagrams")
    diagrams = _as_pairs(diagrams)
    inf_y = _infinity_level(diagrams)
    has_inf = any(np.isinf(d[:, 1]).any() for d in diagrams)
    for q, d in zip(dims, diagrams):
        y = np.where(np.isinf(d[:, 1]), inf_y, d[:, 1])
        ax.scatter(d[:, 0], y, s=12, label=f"H{q} ({len(d)})", alpha=0.8, zorder=3)
    top = inf_y * (1 + INF_MARGIN / 2)
    ax.plot([0, top], [0, top], color="gray", lw=0.8, zorder=1)
    ax.set_xlim(-0.02 * inf_y, top)
    ax.set_ylim(-0.02 * inf_y, top)
    if has_inf:
        ax.axhline(inf_y, color="gray", lw=0.8, ls="--", zorder=1)
        ticks, labels = _ticks_with_infinity(ax.get_yticks(), inf_y)
        ax.set_yticks(ticks, labels)
        ax.set_ylim(-0.02 * inf_y, top)
    ax.set_xlabel("birth (radius)")
    ax.set_ylabel("death (radius)")
    ax.set_aspect("equal")
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    return ax


def plot_barcode(diagrams, homology_dimensions=None, ax=None, max_bars=50, title=None):
    """Horizontal bars for the ``max_bars`` longest intervals of each dimension.

    Bars of infinite classes end with an arrow at the infinity line (tick "\u221e"), just
    right of the largest finite value.

    Parameters
    ----------
    diagrams : list of ndarray of shape (n_pairs, 2)
        As for :func:`plot_diagrams`.
    homology_dimensions : sequence of int, optional
        As for :func:`plot_diagrams`.
    ax : matplotlib Axes, optional
    max_bars : int, default=50
        Longest bars drawn per dimension.
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    dims = _dimensions(diagrams, homology_dimensions, "plot_barcode")
    diagrams = _as_pairs(diagrams)
    inf_x = _infinity_level(diagrams)
    has_inf = any(np.isinf(d[:, 1]).any() for d in diagrams)
    row = 0
    for i, (q, d) in enumerate(zip(dims, diagrams)):
        death = np.where(np.isinf(d[:, 1]), inf_x, d[:, 1])
        order = np.argsort(d[:, 0] - death, kind="stable")[:max_bars]
        for j in order:
            ax.plot([d[j, 0], death[j]], [row, row], color=f"C{i}", lw=2)
            if np.isinf(d[j, 1]):
                ax.plot([inf_x], [row], marker=">", color=f"C{i}", ms=6)
            row += 1
        ax.plot([], [], color=f"C{i}", lw=2, label=f"H{q} ({len(d)})")
    ax.set_xlim(-0.02 * inf_x, inf_x * (1 + INF_MARGIN / 2))
    if has_inf:
        ax.axvline(inf_x, color="gray", lw=0.8, ls="--")
        ticks, labels = _ticks_with_infinity(ax.get_xticks(), inf_x)
        ax.set_xticks(ticks, labels)
        ax.set_xlim(-0.02 * inf_x, inf_x * (1 + INF_MARGIN / 2))
    ax.set_xlabel("radius")
    ax.set_yticks([])
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    return ax


def _check_simplex_dims(dims, result):
    values = list(np.ravel(dims))
    top = len(result.simplices) - 1
    if not values or not all(
        isinstance(q, (int, np.integer)) and not isinstance(q, bool) and 0 <= q <= min(top, 2)
        for q in values
    ):
        raise ValueError(
            "The 'dims' parameter of plot_complex must be a non-empty sequence of simplex "
            f"dimensions in [0, {min(top, 2)}]. Got {dims!r} instead."
        )
    return sorted({int(q) for q in values})


def plot_complex(
    result,
    ax=None,
    dims=(0, 1),
    cmap="viridis",
    max_filtration=None,
    colorbar=True,
    title=None,
):
    """Draw the landmarks and Delaunay simplices of a Flood complex, coloured by filtration.

    Parameters
    ----------
    result : flood.FloodResult
        As returned by :func:`flood.flood_complex` on a 2-D or 3-D cloud.
    ax : matplotlib Axes, optional
        A 2-D axes for 2-D clouds, a 3-D axes (``projection="3d"``) for 3-D clouds;
        created when omitted.
    dims : sequence of int, default=(0, 1)
        Simplex dimensions to draw: 0 landmarks, 1 edges, 2 triangles (drawn translucent).
    cmap : str or Colormap, default="viridis"
        Colour map of the filtration values (radii), shared by all dimensions.
    max_filtration : float, optional
        Draw only the simplices with filtration value ``<= max_filtration``: the complex
        at that radius. Default: all simplices.
    colorbar : bool, default=True
        Add a colour bar of the filtration values.
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
        Its collections labelled ``"0-simplices"``, ``"1-simplices"`` and ``"2-simplices"``
        hold the drawn simplices; ``collection.get_array()`` gives their filtration
        values, in the order of ``result.simplices[k]`` (restricted by ``max_filtration``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from flood import flood_complex
    >>> from flood.datasets import make_circle
    >>> from flood.plotting import plot_complex
    >>> result = flood_complex(make_circle(200, random_state=0), 20, device="cpu")
    >>> ax = plot_complex(result)
    >>> [c.get_label() for c in ax.collections]
    ['1-simplices', '0-simplices']
    """
    plt = _pyplot()
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.colors import Normalize

    landmarks = np.asarray(result.landmarks, dtype=float)
    dim = landmarks.shape[1]
    if dim not in (2, 3):
        raise ValueError(
            f"plot_complex draws 2-D and 3-D complexes; the landmarks have shape {landmarks.shape}."
        )
    dims = _check_simplex_dims(dims, result)
    if ax is None:
        fig = plt.figure(figsize=(5.5, 5))
        ax = fig.add_subplot(projection="3d" if dim == 3 else None)
    is_3d = ax.name == "3d"
    if is_3d != (dim == 3):
        raise ValueError(
            f"plot_complex needs a {'3-D' if dim == 3 else '2-D'} axes for {dim}-D landmarks; "
            f"got a {'3-D' if is_3d else '2-D'} one."
        )
    values = np.concatenate([np.asarray(f, dtype=float) for f in result.filtration if len(f)])
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if len(finite) else 1.0
    if max_filtration is not None:
        top = min(top, float(max_filtration))
    norm = Normalize(vmin=0.0, vmax=top if top > 0 else 1.0)
    mappable = None
    for q in sorted(dims, reverse=True):  # vertices on top
        simplices = np.asarray(result.simplices[q])
        f = np.asarray(result.filtration[q], dtype=float)
        keep = np.ones(len(f), bool) if max_filtration is None else f <= max_filtration
        simplices, f = simplices[keep], f[keep]
        if q == 0:
            xyz = landmarks[simplices[:, 0]]
            artist = (
                ax.scatter(*xyz.T, c=f, cmap=cmap, norm=norm, s=10, depthshade=False)
                if is_3d
                else ax.scatter(*xyz.T, c=f, cmap=cmap, norm=norm, s=10, zorder=3)
            )
        else:
            segments = landmarks[simplices]
            if is_3d:
                from mpl_toolkits.mplot3d.art3d import Line3DCollection, Poly3DCollection

                cls = Line3DCollection if q == 1 else Poly3DCollection
            else:
                cls = LineCollection if q == 1 else PolyCollection
            options = dict(linewidths=0.8) if q == 1 else dict(alpha=0.25, edgecolors="none")
            artist = cls(segments, cmap=cmap, norm=norm, **options)
            artist.set_array(f)
            ax.add_collection(artist)
        artist.set_label(f"{q}-simplices")
        mappable = artist if mappable is None or q == 1 else mappable
    lo, hi = landmarks.min(axis=0), landmarks.max(axis=0)
    pad = 0.05 * (hi - lo).max() if len(landmarks) else 1.0
    ax.set_xlim(lo[0] - pad, hi[0] + pad)
    ax.set_ylim(lo[1] - pad, hi[1] + pad)
    if is_3d:
        ax.set_zlim(lo[2] - pad, hi[2] + pad)
    else:
        ax.set_aspect("equal")
    if colorbar and mappable is not None:
        ax.figure.colorbar(mappable, ax=ax, shrink=0.8, label="filtration value (radius)")
    if title:
        ax.set_title(title)
    return ax


#: Points of the cloud drawn by :func:`plot_features` by default (a random subsample).
FEATURE_PLOT_POINTS = 5_000


def plot_features(result, points=None, features=None, *, top=5, max_points=FEATURE_PLOT_POINTS,
                  ax=None, title=None, random_state=0):  # fmt: skip
    """Draw a 3-D cloud's holes: a subsample of the points, each feature's cycle and centre.

    Parameters
    ----------
    result : flood.FloodResult
        Of a 3-D cloud.
    points : array-like of shape (n_points, 3), optional
        The cloud to draw (a random subsample of ``max_points``); default the landmarks.
    features : structured ndarray, optional
        As returned by :meth:`flood.FloodResult.features`; default
        ``result.features(top=top)``.
    top : int, default=5
    max_points : int, default=5,000
    ax : matplotlib 3-D Axes, optional
    title : str, optional
    random_state : int or None
        Seeds the subsample.

    Returns
    -------
    ax : matplotlib Axes
        Collections labelled ``"cycle i"`` (lines for H1, translucent triangles for H2)
        and a scatter labelled ``"centres"``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from flood import flood_complex
    >>> from flood.datasets import make_torus
    >>> from flood.plotting import plot_features
    >>> X = make_torus(2000, random_state=0)
    >>> ax = plot_features(flood_complex(X, 100, random_state=0, device="cpu"), X, top=3)
    >>> sorted(c.get_label() for c in ax.collections)[:2]
    ['centres', 'cycle 0']
    """
    plt = _pyplot()
    from mpl_toolkits.mplot3d.art3d import Line3DCollection, Poly3DCollection

    landmarks = np.asarray(result.landmarks, dtype=float)
    if landmarks.shape[1] != 3:
        raise ValueError(
            f"plot_features draws 3-D clouds; the landmarks have shape {landmarks.shape}."
        )
    if features is None:
        features = result.features(top=top)
    P = landmarks if points is None else np.asarray(points, dtype=float)
    if len(P) > max_points:
        P = P[np.random.default_rng(random_state).choice(len(P), max_points, replace=False)]
    if ax is None:
        ax = plt.figure(figsize=(6, 5.5)).add_subplot(projection="3d")
    ax.scatter(*P.T, s=0.5, c="0.6", alpha=0.3, depthshade=False, label="points")
    colours = plt.get_cmap("tab10")
    for i, row in enumerate(features):
        cycle = np.asarray(row["cycle"])
        if not cycle.size:
            continue
        colour = colours(i % 10)
        if cycle.shape[1] == 2:
            artist = Line3DCollection(landmarks[cycle], colors=[colour], linewidths=1.5)
        else:
            artist = Poly3DCollection(landmarks[cycle], facecolors=[colour], alpha=0.25,
                                      edgecolors=[colour], linewidths=0.3)  # fmt: skip
        artist.set_label(f"cycle {i}")
        ax.add_collection(artist)
    centres = np.asarray(features["centre"], dtype=float).reshape(-1, 3)
    ax.scatter(*centres.T, s=25, c="k", marker="x", depthshade=False, label="centres")
    lo, hi = P.min(axis=0), P.max(axis=0)
    mid, half = (lo + hi) / 2, (hi - lo).max() / 2 or 1.0
    for setter, m in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), mid):
        setter(m - half, m + half)
    if title:
        ax.set_title(title)
    return ax
