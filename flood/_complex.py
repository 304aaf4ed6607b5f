"""flood_complex: certified Flood persistent homology of one point cloud.

The stages, in data-flow order: check the input, index X, pick the landmarks (and their
covering radius), triangulate them, bound the filtration, and return a FloodResult.
"""

import functools
import sys
import threading
import time

import numpy as np

from flood._certify import certified_bounds, landmark_neighbours, maximizers
from flood._landmarks import (
    covering_radius,
    covering_radius_from_fps,
    samples_on_tree,
    tree_fps_start,
)
from flood._progress import FiltrationBars, compile_kernels
from flood._result import FloodResult
from flood._stages import (
    certified_filtration,
    check_options,
    default_tol,
    grid_filtration,
    pick_landmarks,
    triangulate_landmarks,
)
from flood._validation import (
    DEFAULT_N_THREADS,
    METHODS,
    check_device,
    check_landmarks,
    check_n_points,
    check_points,
    distinct_rows,
)
from flood.kernels import build_tree, grid_interior_max, nearest
from flood.kernels._tree import column_means

__all__ = ["FloodResult", "flood_complex"]

#: From this many landmarks on (and at least one per 100 points), on the CPU, the covering
#: radius and the landmarks' nearest points (the edges' first candidates) are computed in a
#: second thread while Qhull triangulates on this one (it releases the GIL and runs on one
#: core): 1M cheese, 100,000 landmarks: Qhull ~2 s, the two ~0.22 s of two threads, hidden.
#: Below, Qhull is too short to hide them (10,000 landmarks: ~0.1 s), unless the covering
#: radius is read off FPS's distances (:func:`_covering_radius`): then both go beside Qhull
#: at any number of landmarks (1,000: ~2 + ~7 ms of one core beside Qhull's ~9 ms). Never
#: with ``n_threads=1``: the caller asked for one core.
OVERLAP_MIN_LANDMARKS = 10_000
#: The Warp modules that the stages after FPS launch first: loaded in a second thread while
#: FPS runs on the tree on one core. Loading a module that is in the kernel cache costs
#: Warp a hash of its source, in Python (~12 ms for the certified kernel's module); at the
#: filtration's first launch it held up both threads (1M cheese, 1,000 landmarks: the first
#: batch of edges 0.030 s against 0.016 s with the modules loaded).
AFTER_FPS_MODULES = {
    "certified": ("flood.kernels._nearest", "flood.kernels._voronoi", "flood.kernels._seeds"),
    "grid": ("flood.kernels._nearest", "flood.kernels._grid"),
}


def flood_complex(
    points,
    landmarks=1000,
    *,
    max_dimension=None,
    tol=None,
    method=METHODS[0],
    points_per_edge=30,
    device=None,
    random_state=None,
    n_threads=DEFAULT_N_THREADS,
    progress=False,
    block_size=None,
    work_dir=None,
):
    """Flood complex of a point cloud with certified filtration values.

    Picks landmarks L by farthest point sampling, triangulates them (Delaunay), and gives
    each simplex s the covering radius ``f(s) = max over y in conv(s) of min over x in X of
    |y - x|``, bounded to within ``tol`` by restricted Voronoi bounds in Warp kernels
    (:mod:`flood._certify`, :mod:`flood.kernels._voronoi`).

    Parameters
    ----------
    points : array-like or dask.array.Array of shape (n_points, dim)
        The cloud X, ``1 <= dim <= 6``. A dask array chunked by rows is computed chunk by
        chunk, never whole (see Notes).
    landmarks : int or array-like of shape (n_landmarks, dim), default=1000
        How many landmarks to pick by farthest point sampling (clamped to ``n_points`` with
        a warning), or their coordinates.
    max_dimension : int, optional
        Highest simplex dimension; default ``dim`` (needed for H_{dim-1}).
    tol : float, optional
        Certified gap ``upper - lower`` per simplex. Default: 1% of the landmark covering
        radius, but at least 1e-4 times the median Delaunay edge length (the covering radius
        is 0 when the landmarks are all the points). ``tol=0`` gives the exact Flood
        filtration: every value is then the exact maximum of d_X over its simplex up to float
        rounding (``upper - lower`` about 1e-10 of the simplex's scale), found where phi_S
        meets d_X at its maximizer (see :mod:`flood.kernels._voronoi`).
    method : {"certified", "grid"}, default="certified"
        ``"grid"`` reproduces flooder's estimate (``points_per_edge`` grid points per edge,
        each face the maximum over its grid points); it certifies nothing.
    points_per_edge : int, default=30
        Grid resolution for ``method="grid"``.
    device : str, optional
        Warp device, ``"cpu"`` or ``"cuda[:n]"``; default ``"cpu"`` (CUDA is opt-in until
        ``benchmarks/gpu_check.py`` has passed on a GPU).
    random_state : int, numpy Generator or None
        Seeds the farthest point sampling.
    n_threads : int, default=2
        Threads sharing the certified refinement on the CPU.
    progress : bool, default=False
        Show a tqdm bar per simplex dimension of the certified refinement (it advances at
        least ~30 times per dimension, and its total grows when pieces are split for
        another round), and one line on stderr while Warp compiles the kernels for the
        first time on this machine. For dask input: one bar over the blocks.
    block_size : int, optional
        Dask input only: top-dimensional simplices per block task, at most (default
        :data:`flood._blocks.DEFAULT_BLOCK_SIZE`, 4,096). Blocks are also as small as the
        dask workers' memory limit requires (:mod:`flood._memory`), and at most
        :data:`flood._blocks.DEFAULT_BLOCK_ROWS` rows of X each without a limit.
    work_dir : str or path-like, optional
        Dask input only: an existing folder in which the run writes X, tile by tile, in a
        fresh subfolder that is removed when the run ends (also on an error or Ctrl-C).
        Default: the system's temporary folder. On a cluster of several machines, name a
        folder that every worker and the client see.

    Returns
    -------
    result : FloodResult

    Notes
    -----
    Input rules (see :mod:`flood._validation`): ``points`` may be any real array-like
    (integer, bool, float16/32 input is converted to float64 and gives the float64 result);
    NaN/inf rows, ragged rows, non-numeric or complex data, a wrong number of axes, no
    points, or fewer than ``dim + 1`` points are refused with a ValueError or TypeError
    naming the rule and the value. An int ``landmarks`` larger than ``n_points`` is clamped
    with a warning. Landmark coordinates need not be points of X: a vertex then gets
    ``d_X(l)`` and ``landmark_indices`` is None.

    Degenerate geometry: duplicate landmarks (also FPS on a cloud with fewer distinct points
    than landmarks) are reduced to the distinct ones with a warning, so all points equal
    gives one vertex. Landmarks in a flat position (collinear, coplanar, ...) are
    triangulated in their affine hull, which is their Delaunay complex in R^dim; simplices
    above the hull's dimension are then empty, and a warning is given when X itself is not
    flat. Filtration values are always computed in the original coordinates, so they are
    exact for those simplices whether or not X lies in the hull (see
    :mod:`flood._delaunay`).

    Dask input (:mod:`flood._distributed`): a ``dask.array.Array`` of shape (n_points,
    dim) chunked by rows (chunk sizes may be unknown) is read in two passes over its
    chunks: the first checks each chunk (NaN/inf is refused naming the chunk's rows),
    samples FPS candidates in it (one FPS over them gives the landmarks) and a random
    sample (a k-d tiling of space is built from it); the second measures the exact
    covering radius and writes X, tile by tile, to ``work_dir`` (:mod:`flood._tiles`). The
    top simplices are cut into spatial blocks of ``block_size``; each block task reads
    only the tiles meeting its halo (every point of X that can be nearest to a point of its
    simplices), whatever the order of the rows, and runs the same certified kernel on those
    points, so its bounds are certified for X; a face shared by blocks keeps the largest
    lower and the smallest upper bound. With a ``dask.distributed`` Client active the
    tasks run on its workers, else in this process, one chunk at a time. The result equals
    ``flood_complex(X, landmarks=res.landmarks, tol=res.tol)`` on the whole array within
    the certified tolerance; ``work`` also holds, per block, ``"halo_points"``,
    ``"rows_read"``, ``"sub_blocks"`` and ``"block_seconds"`` (read, tree, kernel), and
    the totals ``"bytes_read"``, ``"bytes_written"``, ``"x_bytes"`` (8 bytes per
    coordinate of X), ``"tree_points_per_point"``, ``"evaluations_per_simplex"``,
    ``"tiles"`` and, per chunk, ``"chunk_seconds"`` (survey, partition).

    Examples
    --------
    >>> import numpy as np
    >>> from flood import flood_complex
    >>> t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    >>> circle = np.c_[np.cos(t), np.sin(t)]
    >>> res = flood_complex(circle, landmarks=40, random_state=0, device="cpu")
    >>> h0, h1 = res.diagrams(homology_dimensions=(0, 1))
    >>> int(np.isinf(h1[:, 1]).sum()), bool(h1[:, 1].max() > 0.8)
    (0, True)
    >>> res.max_gap <= res.tol
    True
    """
    if _is_dask_array(points):
        from flood._distributed import dask_flood_complex

        res = dask_flood_complex(
            points,
            landmarks,
            max_dimension=max_dimension,
            tol=tol,
            method=method,
            points_per_edge=points_per_edge,
            device=device,
            random_state=random_state,
            n_threads=n_threads,
            progress=progress,
            block_size=block_size,
            work_dir=work_dir,
        )
        res._points = points  # lazy: features() reads the few neighbourhoods it needs
        return res
    for name, value in (("block_size", block_size), ("work_dir", work_dir)):
        if value is not None:
            raise ValueError(
                f"The '{name}' parameter applies to dask array points only. "
                f"Got {name}={value!r} for a {type(points).__name__}."
            )
    timings = {}
    t0 = time.perf_counter()
    X, landmarks, max_dimension, tol = _check_input(
        points, landmarks, max_dimension, tol, method, points_per_edge, n_threads
    )
    device = check_device(device)
    if progress and compile_kernels(method, device):  # first run: its own stage, not "index"
        timings["compile"] = time.perf_counter() - t0
        t0 = time.perf_counter()
    shift = column_means(X)  # X.mean(axis=0) to the last bit, ~7x faster
    # the centered cloud X - shift is never copied whole: the tree holds it (in tree order),
    # the other stages center the rows they read (the same floats)
    beside = n_threads > 1 and str(device).startswith("cpu")  # a second thread may run
    tree, inverse, fps_start = _index_beside_fps(X, shift, device, landmarks, random_state, beside)
    timings["index"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    preload = AFTER_FPS_MODULES[method] if fps_start is not None else ()
    fps = {}  # FPS's distances, when it ran on the tree
    L, sites, vertex_values, lm_idx = _landmarks(
        X, shift, tree, inverse, landmarks, random_state, fps_start, preload, device, fps
    )
    near = None  # the landmarks' nearest points, when computed beside Qhull
    side = (tree, L, sites, device, 1, method != "grid", fps)  # one thread: Qhull has the other
    cheap_cover = "sq_distances" in fps  # read off FPS: the work beside Qhull is short
    if beside and (cheap_cover or len(L) >= max(OVERLAP_MIN_LANDMARKS, len(X) / 100)):
        timings["landmarks"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        Xc = functools.partial(_centered_rows, tree, X, shift)  # only for flat landmarks
        (simplices, facets), (cover, near) = _triangulate_beside(L, Xc, max_dimension, side)
    else:
        cover = _covering_radius(tree, L, fps, device, n_threads)
        timings["landmarks"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        Xc = functools.partial(_centered_rows, tree, X, shift)
        simplices, facets = triangulate_landmarks(L, Xc, max_dimension)
    timings["delaunay"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    if method == "grid":
        bounds = _grid_filtration(tree, L, sites, simplices, facets, vertex_values, points_per_edge)
    else:
        tol = tol if tol is not None else default_tol(cover, L, simplices)
        bounds = _certified_filtration(
            tree, L, sites, simplices, facets, vertex_values, tol, n_threads, progress, near
        )
    timings["filtration"] = time.perf_counter() - t3
    if bounds.get("maximizers") is not None:
        bounds["maximizers"] = [y + shift for y in bounds["maximizers"]]

    return FloodResult(
        landmarks=X[lm_idx] if lm_idx is not None else L + shift,
        landmark_indices=None if lm_idx is None else np.asarray(lm_idx, dtype=np.int64),
        covering_radius=cover,
        simplices=simplices,
        tol=tol if method != "grid" else float("nan"),
        method=method,
        timings=timings,
        **bounds,
    )


def _is_dask_array(points):
    """Whether ``points`` is a dask array (dask is not imported when nobody loaded it)."""
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(points, dask_array.Array)


def _check_input(points, landmarks, max_dimension, tol, method, points_per_edge, n_threads):
    """The input rules (:mod:`flood._validation`): returns (X, landmarks, max_dimension, tol)."""
    X = check_points(points)
    n, dim = X.shape
    check_n_points(n, dim)
    landmarks = check_landmarks(landmarks, n, dim)
    max_dimension, tol = check_options(dim, max_dimension, tol, method, points_per_edge, n_threads)
    return X, landmarks, max_dimension, tol


def _index(X, device, shift=None):
    """The tree over the centered points ``X - shift`` (``X`` itself without a shift), and
    each point's position in tree order."""
    tree = build_tree(X, device=device, shift=shift)
    inverse = np.empty(len(X), dtype=np.int32)
    inverse[tree.order] = np.arange(len(X), dtype=np.int32)
    return tree, inverse


def _centered_rows(tree, X, shift):
    """A matrix with the singular values of ``X - shift`` (for the flatness warning of
    :func:`triangulate_landmarks`, which asks for it only when the landmarks are flat): the
    tree's points on the CPU (its rows, permuted; no copy), else the difference itself."""
    if str(tree.device).startswith("cpu"):
        return tree.points.numpy()
    return X - shift


def _index_beside_fps(X, shift, device, landmarks, random_state, beside=True):
    """:func:`_index`, and, where FPS will run on the tree (an int of landmarks, fewer than
    the points, :func:`flood._landmarks.samples_on_tree`), its first point found in a
    second thread meanwhile (:func:`flood._landmarks.tree_fps_start`: ~24 ms at 1M
    points, in the time the tree build leaves one core idle); else, or without ``beside``
    (``n_threads=1``: one core), None."""
    n_fps = landmarks if isinstance(landmarks, int) else 0
    if beside and n_fps < len(X) and samples_on_tree(n_fps, device):
        (tree, inverse), start = _beside(
            lambda: _index(X, device, shift), tree_fps_start, X, random_state, shift
        )
        return tree, inverse, start
    tree, inverse = _index(X, device, shift)
    return tree, inverse, None


def _landmarks(
    X,
    shift,
    tree,
    inverse,
    landmarks,
    random_state,
    fps_start=None,
    preload=(),
    device="cpu",
    record=None,
):
    """Distinct landmarks L of ``X`` (the points as given: ``tree`` is over ``X - shift``),
    centered by ``shift``, their sites (tree order), d_X at them,
    and their rows in X (None when given coordinates are not all points of X). The Warp
    modules named in ``preload`` are loaded in a second thread once FPS on the tree has
    started (:func:`_load_when`); ``record`` receives FPS's distances when it ran on the
    tree (:func:`flood._landmarks.farthest_point_sampling`)."""
    if isinstance(landmarks, int):
        pick_args = dict(tree=tree, start=fps_start, record=record, center=shift)
        if preload:
            launched = threading.Event()

            def pick():
                try:
                    return pick_landmarks(
                        X, landmarks, random_state, launched=launched, **pick_args
                    )
                finally:
                    launched.set()  # FPS did not run on the tree, or failed: no wait

            lm_idx, _ = _beside(pick, _load_when, launched, preload, device)
        else:
            lm_idx = pick_landmarks(X, landmarks, random_state, **pick_args)
        L, sites = X[lm_idx] - shift, inverse[lm_idx]
        _check_sites(tree, L, sites)
        return L, sites, np.zeros(len(lm_idx)), lm_idx
    L = landmarks[distinct_rows(landmarks, "landmarks")] - shift
    site_tree, vertex_values = nearest(tree, L)
    lm_idx = tree.order[site_tree] if np.all(vertex_values == 0) else None
    return L, site_tree.astype(np.int32), vertex_values, lm_idx


def _check_sites(tree, L, sites):
    """Raise unless the landmarks ``L`` are the tree's points at ``sites`` (the same floats):
    a caller that passes a centered copy of X together with its shift centers it twice, and
    every bound after it would be wrong without a word. On the CPU only (a read of
    ``len(L)`` rows); a GPU tree is not read back for it."""
    if str(tree.device).startswith("cpu") and not np.array_equal(tree.points.numpy()[sites], L):
        raise RuntimeError(
            "flood internal error: the landmarks are not the tree's points at their sites "
            "(the tree is over X - shift: pass X as given, not a centered copy)"
        )


def _load_when(event, modules, device):
    """Load the Warp ``modules`` on ``device`` once ``event`` is set. Every launch looks its
    module up under Warp's one code-generation lock, which a load holds while it hashes:
    waiting until the FPS kernel runs keeps its launch from waiting behind the loads."""
    import warp as wp

    event.wait()
    for name in modules:
        wp.load_module(name, device=device)


def _covering_radius(tree, L, fps, device, n_threads):
    """The landmarks' covering radius, read off FPS's distances where it ran on the tree
    (``fps``: the record :func:`_landmarks` filled; 1M cheese, 1,000 landmarks: ~2 ms
    against ~16 ms for the search over all points), else searched."""
    if "sq_distances" in fps:
        return covering_radius_from_fps(tree, L, fps["sq_distances"], n_threads)
    return covering_radius(tree, L, device=device, n_threads=n_threads)


def _beside_qhull(tree, L, sites, device, n_threads, certified, fps=None):
    """What needs the landmarks but not their triangulation: the covering radius and (for
    the certified method) the landmarks' nearest points (:func:`landmark_neighbours`)."""
    cover = _covering_radius(tree, L, {} if fps is None else fps, device, n_threads)
    near = landmark_neighbours(tree, L, sites, n_threads) if certified else None
    return cover, near


def _triangulate_beside(L, Xc, max_dimension, side):
    """``triangulate_landmarks`` on this thread and :func:`_beside_qhull` (``side``: its
    arguments) in a second one at the same time; returns both."""
    return _beside(lambda: triangulate_landmarks(L, Xc, max_dimension), _beside_qhull, *side)


def _beside(main, func, *args):
    """``main()`` on this thread (its warnings stay here) and ``func(*args)`` in a second
    thread at the same time (both release the GIL for their long parts); returns both
    results. An error of either is raised once both are done (``main``'s first)."""
    box = {}

    def run():
        try:
            box["out"] = func(*args)
        except BaseException as exc:  # raised on this thread below
            box["error"] = exc

    thread = threading.Thread(target=run, name="flood-beside", daemon=True)
    thread.start()
    try:
        result = main()
    finally:
        thread.join()
    if "error" in box:
        raise box["error"]
    return result, box["out"]


def _grid_filtration(tree, L, sites, simplices, facets, vertex_values, points_per_edge):
    """flooder's rule: each simplex the max over its interior grid points and its faces."""
    inner = [None] + [
        grid_interior_max(tree, L, sites, simplices[k], points_per_edge)
        for k in range(1, len(simplices))
    ]
    return dict(grid_filtration(vertex_values, inner, simplices, facets, points_per_edge), work={})


def _certified_filtration(
    tree, L, sites, simplices, facets, vertex_values, tol, n_threads, progress, near=None
):
    """Certified bounds within ``tol``, tightened by face <= coface, and their midpoints."""
    bars = FiltrationBars() if progress else None
    try:
        lower, upper, stats = certified_bounds(
            tree,
            L,
            sites,
            simplices,
            facets,
            tol,
            vertex_values=vertex_values,
            n_threads=n_threads,
            progress=bars,
            landmark_near=near,
        )
    finally:
        if bars is not None:
            bars.close()
    out = certified_filtration(lower, upper, facets, stats.queries, simplices)
    witness = maximizers(L, lower, stats.witness, simplices, facets)
    work = {"max_sites": stats.max_sites, "splits": stats.splits}
    return dict(out, maximizers=witness, work=work)
