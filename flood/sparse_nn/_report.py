"""Sparsity reports and plain (mask-free) state dicts of pruned models."""

from collections import OrderedDict
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from flood.sparse_nn._pruning import _pruning_hook, current_weight, prunable_layers

__all__ = ["LayerSparsity", "SparsityReport", "export_state_dict", "sparsity_report"]


@dataclass(frozen=True)
class LayerSparsity:
    """Parameters, non-zeros and sparsity of one prunable weight."""

    name: str
    shape: tuple[int, ...]
    n_params: int
    n_nonzero: int

    @property
    def sparsity(self) -> float:
        """Fraction of zero weights."""
        return 1.0 - self.n_nonzero / self.n_params if self.n_params else 0.0


@dataclass(frozen=True)
class SparsityReport:
    """Per-layer and global sparsity of a model's prunable weights.

    ``str(report)`` is a table; :meth:`as_dicts` gives one dict per layer plus a ``"global"``
    row, ready for ``pandas.DataFrame``.
    """

    layers: list[LayerSparsity] = field(default_factory=list)

    @property
    def n_params(self) -> int:
        """Prunable weights in the model."""
        return sum(layer.n_params for layer in self.layers)

    @property
    def n_nonzero(self) -> int:
        """Non-zero prunable weights."""
        return sum(layer.n_nonzero for layer in self.layers)

    @property
    def sparsity(self) -> float:
        """Global fraction of zero prunable weights."""
        return 1.0 - self.n_nonzero / self.n_params if self.n_params else 0.0

    def as_dicts(self) -> list[dict]:
        """One dict per layer (name, shape, n_params, n_nonzero, sparsity), then "global"."""
        rows = [{**asdict(layer), "sparsity": layer.sparsity} for layer in self.layers]
        rows.append(
            {
                "name": "global",
                "shape": (),
                "n_params": self.n_params,
                "n_nonzero": self.n_nonzero,
                "sparsity": self.sparsity,
            }
        )
        return rows

    def __str__(self) -> str:
        rows = self.as_dicts()
        width = max(len("layer"), *(len(row["name"]) for row in rows))
        lines = [f"{'layer':<{width}}  {'shape':>16}  {'params':>9}  {'nonzero':>9}  sparsity"]
        for row in rows:
            shape = "x".join(map(str, row["shape"]))
            lines.append(
                f"{row['name']:<{width}}  {shape:>16}  {row['n_params']:>9}  "
                f"{row['n_nonzero']:>9}  {row['sparsity']:8.4f}"
            )
        return "\n".join(lines)


def _dense(weight: torch.Tensor) -> torch.Tensor:
    """Semi-structured or other sparse tensors as strided ones; strided ones unchanged."""
    sparse = isinstance(weight, torch.sparse.SparseSemiStructuredTensor)
    return weight.to_dense() if sparse or weight.layout != torch.strided else weight


def sparsity_report(model: nn.Module) -> SparsityReport:
    """Count parameters and non-zeros of every prunable weight (masks applied).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from flood.sparse_nn import magnitude_prune
    >>> model = magnitude_prune(nn.Sequential(nn.Linear(4, 5), nn.Linear(5, 2)), 0.5)
    >>> report = sparsity_report(model)
    >>> report.n_params, report.n_nonzero, report.sparsity
    (30, 15, 0.5)
    """
    layers = []
    for name, module in prunable_layers(model):
        weight = _dense(current_weight(module))
        layers.append(
            LayerSparsity(
                name=name or "<model>",
                shape=tuple(weight.shape),
                n_params=weight.numel(),
                n_nonzero=int(torch.count_nonzero(weight)),
            )
        )
    return SparsityReport(layers)


def export_state_dict(model: nn.Module) -> "OrderedDict[str, torch.Tensor]":
    """A plain state dict with the masks folded in: no ``_orig``/``_mask`` keys.

    It loads (``strict=True``) into an unpruned model of the same architecture, which then
    computes the same outputs as the pruned one.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from flood.sparse_nn import magnitude_prune
    >>> pruned = magnitude_prune(nn.Linear(4, 3), 0.5)
    >>> state = export_state_dict(pruned)
    >>> sorted(state)
    ['bias', 'weight']
    >>> plain = nn.Linear(4, 3)
    >>> plain.load_state_dict(state)
    <All keys matched successfully>
    >>> torch.equal(plain(torch.ones(1, 4)), pruned(torch.ones(1, 4)))
    True
    """
    folded = {}
    for prefix, module in model.named_modules():
        if _pruning_hook(module) is not None:
            folded[f"{prefix}.weight" if prefix else "weight"] = current_weight(module)
    state: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, value in model.state_dict().items():
        plain = key.removesuffix("_orig").removesuffix("_mask")
        if plain != key and plain in folded:
            if key.endswith("_orig"):
                state[plain] = folded[plain].clone()
            continue
        state[key] = _dense(value.detach()).clone()
    return state
