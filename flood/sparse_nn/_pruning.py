"""One-shot unstructured pruning on top of :mod:`torch.nn.utils.prune` masks.

Prunable tensors are the ``weight`` of every :class:`torch.nn.Linear`, :class:`torch.nn.Conv1d`
and :class:`torch.nn.Conv2d` (never biases or normalisation layers). A pruned layer carries the
usual ``weight_orig`` parameter, ``weight_mask`` buffer and forward pre-hook; pruning it again
overwrites the mask, choosing only among the weights the mask still keeps, so masks shrink
monotonically and every method hits its target count of zeros exactly.
"""

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils import prune

__all__ = [
    "DEFAULT_SCOPE",
    "PRUNABLE_LAYERS",
    "SCOPES",
    "current_mask",
    "current_weight",
    "erk_densities",
    "lamp_scores",
    "magnitude_prune",
    "prunable_layers",
    "random_prune",
    "set_mask",
]

PRUNABLE_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d)
#: How :func:`magnitude_prune` ranks weights: by raw magnitude across the whole model
#: ("global"), within each layer at the same sparsity ("layer"), or across the model by the
#: layer-normalised LAMP score ("lamp", Lee et al. 2021).
SCOPES = ("global", "layer", "lamp")
#: The default scope of every magnitude method: global raw magnitudes empty whole layers at
#: high sparsity (at 90 % a default-width PointNet lost every weight of its 512x256 head
#: layer, whose fan-in-scaled initial weights are the smallest, and scored chance); LAMP
#: keeps magnitude order within each layer and never empties one.
DEFAULT_SCOPE = "lamp"


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The (qualified name, module) pairs whose ``weight`` may be pruned, in module order.

    Examples
    --------
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    >>> [name for name, _ in prunable_layers(model)]
    ['0', '2']
    """
    return [(name, mod) for name, mod in model.named_modules() if isinstance(mod, PRUNABLE_LAYERS)]


def _pruning_hook(module: nn.Module) -> prune.BasePruningMethod | None:
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, prune.BasePruningMethod) and hook._tensor_name == "weight":
            return hook
    return None


def current_weight(module: nn.Module) -> torch.Tensor:
    """The weight the next forward pass will use (masks applied), detached.

    Unlike ``module.weight``, which the pruning hook refreshes only on a forward pass, this
    reflects optimizer steps taken since.
    """
    hook = _pruning_hook(module)
    with torch.no_grad():
        weight = module.weight if hook is None else hook.apply_mask(module)
    return weight.detach()


def current_mask(module: nn.Module) -> torch.Tensor:
    """The layer's 0/1 weight mask: its ``weight_mask`` buffer, or all ones if unpruned."""
    mask = getattr(module, "weight_mask", None)
    if mask is None:
        return torch.ones_like(module.weight)
    hook = _pruning_hook(module)
    if hook is not None and not isinstance(hook, prune.CustomFromMask | prune.PruningContainer):
        current_weight(module)  # dynamic masks (N:M) refresh their buffer here
    return mask.detach().clone()


def set_mask(module: nn.Module, mask: torch.Tensor) -> None:
    """Install ``mask`` (same shape as the weight) as the layer's pruning mask.

    The first call goes through :func:`torch.nn.utils.prune.custom_from_mask`; later calls
    overwrite the ``weight_mask`` buffer in place, so optimizers keep their parameter.
    """
    if getattr(module, "weight_mask", None) is None:
        prune.custom_from_mask(module, "weight", mask)
        return
    if not isinstance(_pruning_hook(module), prune.CustomFromMask | prune.PruningContainer):
        raise ValueError(
            f"Layer {module} carries a dynamic (N:M) mask; remove it with "
            "torch.nn.utils.prune.remove before pruning it another way."
        )
    with torch.no_grad():
        module.weight_mask.copy_(mask)
        module.weight = module.weight_orig * module.weight_mask


def _check_sparsity(sparsity: float) -> float:
    if isinstance(sparsity, bool) or not isinstance(sparsity, int | float):
        raise TypeError(f"The 'sparsity' parameter must be a float. Got {sparsity!r} instead.")
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(
            f"The 'sparsity' parameter must be a float in the range [0, 1]. Got {sparsity} instead."
        )
    return float(sparsity)


def _layers(model: nn.Module, layers) -> list[tuple[str, nn.Module]]:
    if layers is None:
        found = prunable_layers(model)
    else:
        found = [(str(i), m) if isinstance(m, nn.Module) else m for i, m in enumerate(layers)]
    if not found:
        raise ValueError("The model has no prunable Linear/Conv1d/Conv2d layers.")
    return found


def lamp_scores(weight: torch.Tensor) -> torch.Tensor:
    """LAMP scores of one layer's weights (Lee et al. 2021, "Layer-adaptive sparsity for the
    magnitude-based pruning").

    ``score(u) = w_u ** 2 / sum(w_v ** 2 for |w_v| >= |w_u|)``: a weight's share of the
    squared norm of the weights at least as large. The order within a layer is the magnitude
    order, the largest weight of every layer scores 1, and the scores do not depend on the
    layer's scale, so ranking them across layers never empties a layer (ties aside).

    Parameters
    ----------
    weight : torch.Tensor
        Weights (pruned ones zero).

    Returns
    -------
    torch.Tensor of the shape of ``weight``
        Scores in [0, 1].

    Examples
    --------
    >>> import torch
    >>> [round(s, 3) for s in lamp_scores(torch.tensor([1.0, -2.0, 0.0, 2.0])).tolist()]
    [0.111, 0.5, 0.0, 1.0]
    """
    squares = weight.detach().flatten().double() ** 2
    order = squares.argsort(stable=True)
    ranked = squares[order]
    tail = ranked.flip(0).cumsum(0).flip(0)  # sum over this weight and the larger ones
    scores = torch.empty_like(squares)
    scores[order] = torch.where(tail > 0, ranked / tail, torch.zeros_like(ranked))
    return scores.view_as(weight).to(weight.dtype)


def _prune_to_counts(layers, scores: list[torch.Tensor], keep: list[int]) -> None:
    """Keep the ``keep[l]`` highest-scoring weights among those each mask still keeps."""
    for (name, module), score, n_keep in zip(layers, scores, keep, strict=True):
        mask = current_mask(module)
        if n_keep > int(mask.sum()):
            raise ValueError(
                f"Layer {name!r} keeps {int(mask.sum())} weights; it cannot be pruned back up "
                f"to {n_keep}. Pruning only removes weights (use a sparsity >= the current one)."
            )
        ranked = torch.where(mask.bool(), score, torch.full_like(score, -1.0)).flatten()
        new = torch.zeros_like(ranked)
        new[ranked.topk(n_keep, sorted=False).indices] = 1.0
        set_mask(module, new.view_as(mask))


def magnitude_prune(
    model: nn.Module, sparsity: float, *, scope: str = DEFAULT_SCOPE, layers=None
) -> nn.Module:
    """One-shot magnitude pruning (Han et al. 2015): zero the smallest ``|w|``.

    By default the weights are ranked across layers by their LAMP scores (Lee et al. 2021),
    which follow ``|w|`` within a layer but not across layers of different scales: ranking
    raw ``|w|`` globally removed every weight of a network's largest layer at 90 %
    sparsity (layer collapse: constant output, chance accuracy, nothing left to fine-tune).

    Parameters
    ----------
    model : torch.nn.Module
        Model to prune in place.
    sparsity : float in [0, 1]
        Fraction of the prunable weights to zero, counted over all of them (``"lamp"``,
        ``"global"``) or in every layer (``"layer"``); the count is ``round(sparsity * n)``
        exactly.
    scope : {"lamp", "global", "layer"}, default="lamp"
        Rank weights by magnitude across the whole model (``"global"``; it can empty a
        large layer of small weights and disconnect the network, "layer collapse"), within
        each layer (``"layer"``), or across the model by :func:`lamp_scores`
        (``"lamp"``: magnitude order within a layer, never a whole layer removed).
    layers : list of (str, torch.nn.Module), optional
        Restrict pruning to these layers; all of :func:`prunable_layers` by default.

    Returns
    -------
    torch.nn.Module
        ``model``, pruned.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> layer = nn.Linear(4, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = layer.weight.copy_(torch.tensor([[0.1, -2.0, 0.3, 4.0]]))
    >>> magnitude_prune(layer, 0.5).weight
    tensor([[ 0., -2.,  0.,  4.]], grad_fn=<MulBackward0>)
    """
    sparsity = _check_sparsity(sparsity)
    if scope not in SCOPES:
        raise ValueError(f"The 'scope' parameter must be one of {SCOPES}. Got {scope!r}.")
    found = _layers(model, layers)
    score = lamp_scores if scope == "lamp" else torch.abs
    scores = [score(current_weight(module)) for _, module in found]
    sizes = [s.numel() for s in scores]
    if scope == "layer":
        keep = [n - round(sparsity * n) for n in sizes]
    else:
        n_keep = sum(sizes) - round(sparsity * sum(sizes))
        masks = [current_mask(m).flatten().bool() for _, m in found]
        flat = torch.cat(
            [torch.where(k, s.flatten(), -1.0) for k, s in zip(masks, scores, strict=True)]
        )
        chosen = torch.zeros_like(flat, dtype=torch.bool)
        chosen[flat.topk(n_keep, sorted=False).indices] = True
        keep = [int(c.sum()) for c in chosen.split(sizes)]
        scores = [c.view_as(s).float() for c, s in zip(chosen.split(sizes), scores, strict=True)]
    _prune_to_counts(found, scores, keep)
    return model


def erk_densities(shapes: Sequence[Sequence[int]], density: float) -> list[float]:
    """Erdős–Rényi-kernel layer densities for a global ``density`` (Evci et al. 2020).

    Layer ``l`` gets density ``eps * sum(shape_l) / prod(shape_l)``, ``eps`` chosen so that the
    kept weights total ``density * sum(prod(shape_l))``. Layers whose density would exceed 1
    are kept dense and ``eps`` is solved again for the rest.

    Parameters
    ----------
    shapes : sequence of tuple of int
        Weight shapes, e.g. (out, in) or (out, in, kernel).
    density : float in [0, 1]
        Fraction of all weights to keep.

    Returns
    -------
    list of float
        Per-layer densities in [0, 1].

    Examples
    --------
    >>> [round(d, 3) for d in erk_densities([(4, 3), (100, 100)], 0.1)]
    [1.0, 0.099]
    """
    density = 1.0 - _check_sparsity(1.0 - density)
    sizes = [math.prod(s) for s in shapes]
    raw = [sum(s) / math.prod(s) for s in shapes]
    dense: set[int] = set()
    while True:
        budget = density * sum(sizes) - sum(sizes[i] for i in dense)
        denominator = sum(raw[i] * sizes[i] for i in range(len(sizes)) if i not in dense)
        eps = budget / denominator if denominator > 0 else 0.0
        over = {i for i in range(len(sizes)) if i not in dense and eps * raw[i] > 1.0}
        if not over:
            break
        dense |= over
    return [1.0 if i in dense else min(1.0, eps * raw[i]) for i in range(len(sizes))]


def _allocate(densities: list[float], sizes: list[int], total: int) -> list[int]:
    """Integer keep-counts near ``density * size`` summing exactly to ``total``."""
    ideal = [d * n for d, n in zip(densities, sizes, strict=True)]
    counts = [min(n, math.floor(x)) for x, n in zip(ideal, sizes, strict=True)]
    order = sorted(range(len(sizes)), key=lambda i: counts[i] - ideal[i])
    i = 0
    while sum(counts) < total:
        if counts[order[i % len(order)]] < sizes[order[i % len(order)]]:
            counts[order[i % len(order)]] += 1
        i += 1
    return counts


def random_prune(
    model: nn.Module,
    sparsity: float,
    *,
    distribution: str = "uniform",
    generator: torch.Generator | None = None,
    layers=None,
) -> nn.Module:
    """Random pruning at initialisation (Liu et al. 2022) with uniform or ERK densities.

    Parameters
    ----------
    model : torch.nn.Module
        Model to prune in place.
    sparsity : float in [0, 1]
        Fraction of the prunable weights to zero. ``"uniform"`` zeros ``round(sparsity * n_l)``
        in every layer; ``"erk"`` spreads the budget by :func:`erk_densities` and zeros
        ``round(sparsity * n)`` weights over the model exactly.
    distribution : {"uniform", "erk"}, default="uniform"
        Layer-wise density rule.
    generator : torch.Generator, optional
        Source of the random masks; torch's global generator when None.
    layers : list of (str, torch.nn.Module), optional
        Restrict pruning to these layers; all of :func:`prunable_layers` by default.

    Returns
    -------
    torch.nn.Module
        ``model``, pruned.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(8, 16), nn.Linear(16, 2))
    >>> _ = random_prune(model, 0.75, generator=torch.Generator().manual_seed(0))
    >>> int((model[0].weight == 0).sum()), int((model[1].weight == 0).sum())
    (96, 24)
    """
    sparsity = _check_sparsity(sparsity)
    if distribution not in ("uniform", "erk"):
        raise ValueError(
            f"The 'distribution' parameter must be 'uniform' or 'erk'. Got {distribution!r}."
        )
    found = _layers(model, layers)
    weights = [current_weight(module) for _, module in found]
    sizes = [w.numel() for w in weights]
    if distribution == "uniform":
        keep = [n - round(sparsity * n) for n in sizes]
    else:
        densities = erk_densities([tuple(w.shape) for w in weights], 1.0 - sparsity)
        keep = _allocate(densities, sizes, sum(sizes) - round(sparsity * sum(sizes)))
    device = None if generator is None else generator.device
    scores = [torch.rand(w.shape, generator=generator, device=device).to(w.device) for w in weights]
    _prune_to_counts(found, scores, keep)
    return model
