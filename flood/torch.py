"""Flood persistence in torch: diagrams whose coordinates carry gradients to the points.

Install with ``pip install 'flood-tda[nn]'``; ``import flood`` never imports torch, this
module does.

Why this layout. gudhi puts its differentiable layers in ``gudhi.tensorflow``
(``RipsLayer``), torch-topological in ``torch_topological.nn`` (``AlphaComplex``, a
``torch.nn.Module`` called on the points) and Oineus in ``oineus.diff``
(``alpha_filtration`` + ``persistence_diagram``). ``flood.torch`` follows gudhi's name (the
framework it serves) and offers both shapes users know: a function,
:func:`flood_persistence` (like ``oineus.diff``), and a module, :class:`FloodPersistence`
(like torch-topological's, called on the points). Both return flood's one diagram format,
a :class:`flood._diagrams.Diagrams` list of ``(n_pairs, 2)`` tensors, one per homology
dimension, so the losses (:func:`persistence`, :func:`total_persistence`,
:func:`wasserstein_distance`: gudhi's with autodiff; defined in
:mod:`flood._torch_losses`) and, through :func:`to_torch_topological`, torch-topological's
take them as they are.

How the gradient is computed (../shared/DESIGN.md section 8, :mod:`flood._gradients`).
Each finite coordinate is the Flood value of a critical simplex; its derivative involves
only the maximizer's face and the few points of X nearest to the maximizer. The forward
runs :func:`flood.flood_complex` (Warp kernels, on the tensor's device), takes the pairs
from gudhi, and, for the critical simplices only, finds the active points in a k-d tree
over X and solves the small KKT system on the host: it returns the values and keeps a
sparse Jacobian of a few rows per coordinate. The backward is one scatter-add: O(pairs),
not O(N).

``tol`` defaults to 0 (the exact filtration, 1.15-1.23x the time of the default tol of
:func:`flood.flood_complex`): then the value of each critical simplex is polished to
rounding and its gradient is exact wherever f is differentiable (finite differences agree
to ~1e-10). At ``tol > 0`` values are within ``tol`` of the exact ones and the gradient is
that of d_X at the tol-maximizer (see :mod:`flood._gradients`).
"""

import numbers

import numpy as np

try:
    import torch
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "flood.torch needs torch: pip install 'flood-tda[nn]' (or pip install torch)."
    ) from exc

from flood._complex import flood_complex
from flood._diagrams import Diagrams
from flood._gradients import persistence_jacobian
from flood._torch_losses import (
    persistence,
    to_torch_topological,
    total_persistence,
    wasserstein_distance,
)
from flood._validation import (
    DEFAULT_N_THREADS,
    check_homology_dimensions,
    check_min_persistence,
    check_n_threads,
    check_points,
)

__all__ = [
    "FloodPersistence",
    "flood_persistence",
    "persistence",
    "to_torch_topological",
    "total_persistence",
    "wasserstein_distance",
]

_OWNER = "flood.torch.flood_persistence"


def flood_persistence(
    points,
    landmarks=1000,
    *,
    homology_dimensions=None,
    tol=0.0,
    min_persistence=0.0,
    random_state=None,
    n_threads=DEFAULT_N_THREADS,
):
    """Flood persistence diagrams of a point cloud, differentiable in the points.

    Parameters
    ----------
    points : torch.Tensor of shape (n_points, dim)
        Floating point, on the CPU or a CUDA device (the kernels run there). Gradients
        flow to it when it requires them.
    landmarks : int, array-like or torch.Tensor of shape (n_landmarks, dim), default=1000
        How many landmarks to pick from the points by farthest point sampling (a landmark
        is then a point of X: moving that point moves the vertex too, and its gradient has
        both terms), or their coordinates: a tensor receives gradients for the vertex
        terms, an array is held fixed.
    homology_dimensions : int or sequence of int, optional
        Default ``0, ..., dim - 1``. Only simplices up to dimension ``max + 1`` are built.
    tol : float or None, default=0.0
        Certified gap per simplex (see :func:`flood.flood_complex`; None: its default).
        0 gives the exact filtration and exact gradients.
    min_persistence : float, default=0.0
        Leave out the pairs with ``death - birth <= min_persistence`` (and those of zero
        persistence up to rounding, as :meth:`flood.FloodResult.diagrams` does).
    random_state : int, numpy Generator or None
        Seeds the farthest point sampling (fix it in an optimization loop, so the
        landmarks move with the points instead of being drawn anew).
    n_threads : int, default=2
        Threads of the kernels and of the k-d tree queries.

    Returns
    -------
    diagrams : Diagrams
        A list of tensors of shape (n_pairs, 2) (the points' dtype and device), one per
        requested dimension (``homology_dimensions`` attribute). Essential classes die at
        ``inf``; finite coordinates carry gradients.

    Examples
    --------
    >>> import math, torch
    >>> from flood.torch import flood_persistence
    >>> t = torch.linspace(0, 2 * math.pi, 201, dtype=torch.float64)[:-1]
    >>> x = torch.stack([torch.cos(t), torch.sin(t)], dim=1).requires_grad_()
    >>> (h1,) = flood_persistence(x, 20, homology_dimensions=1, random_state=0)
    >>> h1.shape, round(h1[0, 1].item(), 6)  # the loop dies at the radius
    (torch.Size([1, 2]), 1.0)
    >>> h1[0, 1].backward()
    >>> torch.allclose(x.grad, x.detach() / 200)  # all 200 points active: equal weights
    True
    """
    if not isinstance(points, torch.Tensor):
        raise TypeError(
            f"The 'points' parameter of {_OWNER} must be a torch.Tensor of shape "
            f"(n_points, dim). Got a {type(points).__name__} instead."
        )
    if not points.dtype.is_floating_point:
        raise TypeError(
            f"The 'points' parameter of {_OWNER} must be a floating point tensor. "
            f"Got dtype {points.dtype} instead."
        )
    X = check_points(points.detach().cpu().numpy())
    dims = check_homology_dimensions(
        tuple(range(X.shape[1])) if homology_dimensions is None else homology_dimensions,
        X.shape[1],
        owner=f"The 'homology_dimensions' parameter of {_OWNER}",
    )
    options = {
        "dims": dims,
        "tol": tol,
        "min_persistence": check_min_persistence(
            min_persistence, owner=f"The 'min_persistence' parameter of {_OWNER}"
        ),
        "random_state": random_state,
        "n_threads": check_n_threads(n_threads, owner=f"The 'n_threads' parameter of {_OWNER}"),
        "landmarks": landmarks if not isinstance(landmarks, torch.Tensor) else None,
    }
    tensor_landmarks = landmarks if isinstance(landmarks, torch.Tensor) else None
    if tensor_landmarks is not None and not tensor_landmarks.dtype.is_floating_point:
        raise TypeError(
            f"The 'landmarks' parameter of {_OWNER} must be an int, an array or a floating "
            f"point tensor. Got a tensor of dtype {tensor_landmarks.dtype} instead."
        )
    values, pairs = _FloodPersistence.apply(points, tensor_landmarks, options)
    finite = torch.cat([values, values.new_full((1,), float("inf"))])
    diagrams = []
    for q in dims:
        rows = pairs[pairs[:, 0] == q]
        diagrams.append(torch.stack([finite[rows[:, 1]], finite[rows[:, 2]]], dim=1))
    return Diagrams(diagrams, dims)


class _FloodPersistence(torch.autograd.Function):
    """Values of the critical simplices (forward: kernels and the host KKT solve) and the
    pairs as indices into them; backward scatters through the kept sparse Jacobian."""

    @staticmethod
    def forward(ctx, points, landmarks, options):
        X = np.ascontiguousarray(points.detach().cpu().numpy(), dtype=np.float64)
        given = options["landmarks"] if landmarks is None else landmarks.detach().cpu().numpy()
        dims = options["dims"]
        res = flood_complex(
            X,
            given,
            max_dimension=min(X.shape[1], max(dims) + 1),
            tol=options["tol"],
            device=_warp_device(points.device),
            random_state=options["random_state"],
            n_threads=options["n_threads"],
        )
        cp = persistence_jacobian(res, X, dims, options["min_persistence"], options["n_threads"])
        J = cp.jacobian
        death = np.where(cp.death >= 0, cp.death, len(J.values))  # the appended inf
        pairs = np.stack([cp.dimension, cp.birth, death], axis=1)
        picked = isinstance(given, numbers.Integral)
        vertex_rows, vertex_target = _vertex_targets(res, J.vertex_rows, landmarks, picked)
        keep = vertex_target >= 0
        ctx.meta = (points.shape, None if landmarks is None else landmarks.shape)
        as_tensor = lambda a, dtype=points.dtype: torch.as_tensor(  # noqa: E731
            a, dtype=dtype, device=points.device
        )
        ctx.save_for_backward(
            as_tensor(J.point_rows, torch.int64),
            as_tensor(J.point_owner, torch.int64),
            as_tensor(J.point_coef),
            as_tensor(vertex_rows[keep], torch.int64),
            as_tensor(J.vertex_owner[keep], torch.int64),
            as_tensor(J.vertex_coef[keep]),
            as_tensor(vertex_target[keep], torch.int64),
        )
        pairs_t = as_tensor(pairs, torch.int64)
        ctx.mark_non_differentiable(pairs_t)
        return as_tensor(J.values), pairs_t

    @staticmethod
    def backward(ctx, grad_values, grad_pairs):
        prow, powner, pcoef, vrow, vowner, vcoef, vtarget = ctx.saved_tensors
        points_shape, landmarks_shape = ctx.meta
        grad_values = torch.nan_to_num(grad_values, nan=0.0, posinf=0.0, neginf=0.0)
        grad_points = grad_values.new_zeros(points_shape)
        grad_points.index_add_(0, prow, pcoef * grad_values[powner, None])
        vterm = vcoef * grad_values[vowner, None]
        on_points = vtarget == 0
        grad_points.index_add_(0, vrow[on_points], vterm[on_points])
        grad_landmarks = None
        if landmarks_shape is not None and ctx.needs_input_grad[1]:
            grad_landmarks = grad_values.new_zeros(landmarks_shape)
            grad_landmarks.index_add_(0, vrow[~on_points], vterm[~on_points])
        return grad_points, grad_landmarks, None


def _vertex_targets(res, vertex_rows, landmarks, picked):
    """Where each vertex term goes: (row, target) with target 0 for a row of the points
    (landmarks picked from them), 1 for a row of the landmarks tensor, -1 for nowhere
    (landmark coordinates given as an array: constants)."""
    if landmarks is not None:
        from scipy.spatial import cKDTree

        given = landmarks.detach().cpu().numpy().astype(np.float64)
        _, row_of_vertex = cKDTree(given).query(res.landmarks)  # duplicates were dropped
        return row_of_vertex[vertex_rows], np.ones(len(vertex_rows), dtype=np.int64)
    if picked:
        return res.landmark_indices[vertex_rows], np.zeros(len(vertex_rows), dtype=np.int64)
    return vertex_rows, np.full(len(vertex_rows), -1, dtype=np.int64)


def _warp_device(device):
    """The Warp device of a torch device: ``cpu`` or ``cuda:<n>``."""
    if device.type == "cuda":
        return f"cuda:{device.index if device.index is not None else 0}"
    return "cpu"


class FloodPersistence(torch.nn.Module):
    """Flood persistence diagrams as a torch module, called on the points.

    The counterpart of torch-topological's ``AlphaComplex``: ``FloodPersistence(...)(x)``
    is :func:`flood_persistence` ``(x, ...)`` with the parameters stored here.

    Parameters
    ----------
    landmarks, homology_dimensions, tol, min_persistence, random_state, n_threads
        As in :func:`flood_persistence`.

    Examples
    --------
    >>> import torch
    >>> from flood.torch import FloodPersistence
    >>> layer = FloodPersistence(20, homology_dimensions=(0, 1), random_state=0)
    >>> x = torch.randn(200, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> h0, h1 = layer(x.requires_grad_())
    >>> h0.shape[1], bool(h0.requires_grad)
    (2, True)
    """

    def __init__(
        self,
        landmarks=1000,
        *,
        homology_dimensions=None,
        tol=0.0,
        min_persistence=0.0,
        random_state=None,
        n_threads=DEFAULT_N_THREADS,
    ):
        super().__init__()
        self.landmarks = landmarks
        self.homology_dimensions = homology_dimensions
        self.tol = tol
        self.min_persistence = min_persistence
        self.random_state = random_state
        self.n_threads = n_threads

    def forward(self, points):
        return flood_persistence(
            points,
            self.landmarks,
            homology_dimensions=self.homology_dimensions,
            tol=self.tol,
            min_persistence=self.min_persistence,
            random_state=self.random_state,
            n_threads=self.n_threads,
        )
