"""Topological losses on Flood diagrams in torch (re-exported by :mod:`flood.torch`).

Bar lengths, total persistence, gudhi's differentiable Wasserstein distance, and an adapter
to torch-topological's ``PersistenceInformation`` so its losses take Flood diagrams. Only
:mod:`flood.torch` imports this module (it imports torch).
"""

import numbers

import numpy as np
import torch


def persistence(diagram, top=None):
    """Lengths ``death - birth`` of the finite bars, longest first (differentiable).

    Parameters
    ----------
    diagram : torch.Tensor of shape (n_pairs, 2)
    top : int, optional
        Keep the ``top`` longest.

    Returns
    -------
    lengths : torch.Tensor of shape (n_finite,) or (min(top, n_finite),)
    """
    diagram = _check_diagram(diagram, "persistence")
    if top is not None and (
        isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 1
    ):
        raise ValueError(
            "The 'top' parameter of flood.torch.persistence must be None or an int in the "
            f"range [1, inf). Got {top!r} instead."
        )
    finite = diagram[torch.isfinite(diagram[:, 1])]
    lengths = torch.sort(finite[:, 1] - finite[:, 0], descending=True).values
    return lengths if top is None else lengths[:top]


def total_persistence(diagrams, order=1.0):
    """``sum (death - birth) ** order`` over the finite bars of one diagram or a list.

    Parameters
    ----------
    diagrams : torch.Tensor of shape (n_pairs, 2) or list of them
    order : float, default=1.0
        In the range (0, inf).

    Returns
    -------
    total : torch.Tensor (a scalar)
    """
    if (
        isinstance(order, bool)
        or not isinstance(order, numbers.Real)
        or not np.isfinite(order)
        or order <= 0
    ):
        raise ValueError(
            "The 'order' parameter of flood.torch.total_persistence must be a float in "
            f"the range (0, inf). Got {order!r} instead."
        )
    parts = [diagrams] if isinstance(diagrams, torch.Tensor) else list(diagrams)
    if not parts:
        raise ValueError(
            "The 'diagrams' parameter of flood.torch.total_persistence must be a tensor "
            "of shape (n_pairs, 2) or a non-empty list of them. Got an empty list instead."
        )
    return sum((persistence(d) ** order).sum() for d in parts)


def wasserstein_distance(diagram, target, order=1.0, internal_p=2.0):
    """Wasserstein distance between the finite parts of two diagrams, differentiable in
    both (gudhi's ``wasserstein_distance(..., enable_autodiff=True)``, which needs POT:
    ``pip install 'flood-tda[nn]'``).

    Parameters
    ----------
    diagram : torch.Tensor of shape (n_pairs, 2)
    target : torch.Tensor or array-like of shape (m_pairs, 2)
        Its essential (infinite) pairs are left out too.
    order : float, default=1.0
        The Wasserstein exponent q, in [1, inf).
    internal_p : float, default=2.0
        The ground metric's norm in the (birth, death) plane.

    Returns
    -------
    distance : torch.Tensor (a scalar)
    """
    try:
        from gudhi.wasserstein import wasserstein_distance as gudhi_wasserstein
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "flood.torch.wasserstein_distance needs POT: pip install 'flood-tda[nn]' "
            "(or pip install pot)."
        ) from exc
    diagram = _check_diagram(diagram, "wasserstein_distance")
    if not isinstance(target, torch.Tensor):
        target = torch.as_tensor(np.asarray(target, dtype=np.float64), dtype=diagram.dtype)
    target = _check_diagram(target, "wasserstein_distance", name="target")
    for name, value, low in (("order", order, 1), ("internal_p", internal_p, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < low:
            raise ValueError(
                f"The '{name}' parameter of flood.torch.wasserstein_distance must be a "
                f"float in the range [{low}, inf]. Got {value!r} instead."
            )
    finite = [d[torch.isfinite(d[:, 1])] for d in (diagram, target.to(diagram))]
    return gudhi_wasserstein(
        finite[0],
        finite[1],
        order=float(order),
        internal_p=float(internal_p),
        enable_autodiff=True,
        keep_essential_parts=False,
    )


def to_torch_topological(diagrams):
    """The finite part of each diagram as torch-topological's ``PersistenceInformation``,
    so its losses (``SummaryStatisticLoss``, ``SignatureLoss``, ...) take Flood diagrams.

    torch-topological's own modules leave essential classes out; so does this adapter.
    ``pairing`` is None (Flood's pairs are of simplices of the landmarks' triangulation,
    not of the points).

    Parameters
    ----------
    diagrams : Diagrams
        What :func:`flood_persistence` returns.

    Returns
    -------
    infos : list of torch_topological.nn.PersistenceInformation
    """
    try:
        from torch_topological.nn import PersistenceInformation
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "to_torch_topological needs torch-topological: pip install torch-topological"
        ) from exc
    dims = getattr(diagrams, "homology_dimensions", None)
    if dims is None:
        raise TypeError(
            "The 'diagrams' parameter of flood.torch.to_torch_topological must be what "
            f"flood_persistence returns (a Diagrams list). Got a {type(diagrams).__name__} "
            "instead."
        )
    return [
        PersistenceInformation(pairing=None, diagram=d[torch.isfinite(d[:, 1])], dimension=q)
        for d, q in zip(diagrams, dims)
    ]


def _check_diagram(diagram, owner, name="diagram"):
    if not isinstance(diagram, torch.Tensor) or diagram.ndim != 2 or diagram.shape[1] != 2:
        what = (
            f"a tensor of shape {tuple(diagram.shape)}"
            if isinstance(diagram, torch.Tensor)
            else f"a {type(diagram).__name__}"
        )
        raise ValueError(
            f"The '{name}' parameter of flood.torch.{owner} must be a torch.Tensor of "
            f"shape (n_pairs, 2). Got {what} instead."
        )
    return diagram
