"""N:M fine-grained structured sparsity trained with SR-STE, and 2:4 semi-structured kernels.

N:M sparsity keeps at most ``n`` non-zeros in every group of ``m`` consecutive weights along
the input dimension (Zhou et al. 2021, "Learning N:M Fine-grained Structured Sparse Neural
Networks From Scratch"). Groups run along ``weight.reshape(out_features, -1)``: the input
features of a Linear layer, the input channels of the 1x1 convolutions used by the networks
here. During training the mask is recomputed from the dense weights on every forward pass and
the gradient reaches all of them through the sparse-refined straight-through estimator
(SR-STE)::

    grad(w) = grad(w * mask) + lambda * (1 - mask) * w
"""

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import prune

from flood.sparse_nn._pruning import current_weight, prunable_layers

__all__ = [
    "NMSparsity",
    "SemiStructuredLinear",
    "apply_nm_sparsity",
    "is_nm_sparse",
    "nm_mask",
    "to_semi_structured",
]


def nm_mask(weight: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    """The N:M mask keeping the ``n`` largest ``|w|`` of every ``m`` consecutive inputs.

    Parameters
    ----------
    weight : torch.Tensor of shape (out_features, in_features, *kernel)
        Weights; ``in_features * prod(kernel)`` must be a multiple of ``m``.
    n, m : int
        Keep ``n`` weights in every group of ``m``, ``1 <= n <= m``.

    Returns
    -------
    torch.Tensor of the shape and dtype of ``weight``
        1 where a weight is kept, 0 elsewhere.

    Examples
    --------
    >>> import torch
    >>> nm_mask(torch.tensor([[0.1, -3.0, 2.0, 0.5, 1.0, 0.0, 0.0, -1.5]]), 2, 4)
    tensor([[0., 1., 1., 0., 1., 0., 0., 1.]])
    """
    flat = weight.detach().reshape(weight.shape[0], -1)
    if flat.shape[1] % m:
        raise ValueError(
            f"N:M sparsity needs the input dimension to be a multiple of m={m}; "
            f"the weight of shape {tuple(weight.shape)} has {flat.shape[1]} inputs per output."
        )
    groups = flat.abs().reshape(-1, m)
    mask = torch.zeros_like(groups)
    mask.scatter_(1, groups.topk(n, dim=1).indices, 1.0)
    return mask.reshape(weight.shape).to(weight.dtype)


def is_nm_sparse(weight: torch.Tensor, n: int = 2, m: int = 4) -> bool:
    """Whether every group of ``m`` consecutive inputs holds at most ``n`` non-zeros."""
    groups = weight.detach().reshape(weight.shape[0], -1).reshape(-1, m)
    return bool(((groups != 0).sum(dim=1) <= n).all())


class _SparseRefinedSTE(torch.autograd.Function):
    """``w * mask`` forward; ``grad + lambda * (1 - mask) * w`` backward (SR-STE)."""

    @staticmethod
    def forward(ctx, weight, mask, decay):
        ctx.save_for_backward(weight, mask)
        ctx.decay = decay
        return weight * mask

    @staticmethod
    def backward(ctx, grad):
        weight, mask = ctx.saved_tensors
        return grad + ctx.decay * (1.0 - mask) * weight, None, None


class NMSparsity(prune.BasePruningMethod):
    """A :mod:`torch.nn.utils.prune` method whose N:M mask follows the weights (SR-STE).

    Apply it with ``NMSparsity.apply(module, "weight", n=2, m=4, srste_lambda=2e-4)`` or,
    for a whole model, :func:`apply_nm_sparsity`. The ``weight_mask`` buffer holds the mask of
    the latest forward pass; :func:`torch.nn.utils.prune.remove` freezes the current one.

    Parameters
    ----------
    n, m : int, default=2, 4
        Keep ``n`` weights in every group of ``m``.
    srste_lambda : float, default=2e-4
        Weight of the sparse-refined term pulling pruned weights towards zero.
    """

    PRUNING_TYPE = "unstructured"

    def __init__(self, n: int = 2, m: int = 4, srste_lambda: float = 2e-4) -> None:
        self.n, self.m, self.srste_lambda = n, m, srste_lambda

    def compute_mask(self, t: torch.Tensor, default_mask: torch.Tensor) -> torch.Tensor:
        return nm_mask(t, self.n, self.m) * default_mask

    def apply_mask(self, module: nn.Module) -> torch.Tensor:
        orig = getattr(module, self._tensor_name + "_orig")
        mask = nm_mask(orig, self.n, self.m)
        with torch.no_grad():
            getattr(module, self._tensor_name + "_mask").copy_(mask)
        return _SparseRefinedSTE.apply(orig, mask, self.srste_lambda)


def apply_nm_sparsity(
    model: nn.Module, n: int = 2, m: int = 4, *, srste_lambda: float = 2e-4, layers=None
) -> list[str]:
    """Put every prunable layer whose input dimension ``m`` divides under N:M SR-STE sparsity.

    Layers whose input dimension is not a multiple of ``m`` (e.g. a first layer reading 3
    coordinates) stay dense, as hardware N:M kernels require.

    Parameters
    ----------
    model : torch.nn.Module
        Model modified in place; its layers must not be pruned yet.
    n, m : int, default=2, 4
        Keep ``n`` weights in every group of ``m``, ``1 <= n <= m``.
    srste_lambda : float, default=2e-4
        SR-STE regularisation weight, ``>= 0``.
    layers : list of (str, torch.nn.Module), optional
        Candidate layers; all of :func:`~flood.sparse_nn.prunable_layers` by default.

    Returns
    -------
    list of str
        Names of the layers made N:M sparse.

    Examples
    --------
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 4))
    >>> apply_nm_sparsity(model, 2, 4)
    ['2']
    >>> is_nm_sparse(model[2].weight, 2, 4)
    True
    """
    for name, value in (("n", n), ("m", m)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"The '{name}' parameter must be an int >= 1. Got {value!r} instead.")
    if n > m:
        raise ValueError(f"The 'n' parameter must be at most m={m}. Got {n} instead.")
    if not srste_lambda >= 0:
        raise ValueError(f"The 'srste_lambda' parameter must be >= 0. Got {srste_lambda!r}.")
    done = []
    for name, module in prunable_layers(model) if layers is None else layers:
        if module.weight.reshape(module.weight.shape[0], -1).shape[1] % m:
            continue
        if getattr(module, "weight_mask", None) is not None:
            raise ValueError(f"Layer {name!r} is already pruned; N:M needs an unpruned layer.")
        NMSparsity.apply(module, "weight", n=n, m=m, srste_lambda=srste_lambda)
        done.append(name)
    return done


def _semi_structured_class():
    from torch.sparse import semi_structured

    base = semi_structured.SparseSemiStructuredTensor
    if base._FORCE_CUTLASS:
        return semi_structured.SparseSemiStructuredTensorCUTLASS
    return semi_structured.SparseSemiStructuredTensorCUSPARSELT


class SemiStructuredLinear(nn.Linear):
    """Inference-only Linear layer whose 2:4 weight is a CUDA semi-structured sparse tensor.

    The sparse kernels take half precision, so inputs are cast to ``dtype`` and outputs back.
    It subclasses :class:`torch.nn.Linear` (state-dict keys ``weight`` and ``bias``) so that
    sparsity reports and :func:`~flood.sparse_nn.export_state_dict` still see it.

    Parameters
    ----------
    linear : torch.nn.Linear
        A CUDA layer with a 2:4-sparse weight (masks applied).
    dtype : torch.dtype, default=torch.float16
        Precision of the sparse product.
    """

    def __init__(self, linear: nn.Linear, dtype: torch.dtype = torch.float16) -> None:
        nn.Module.__init__(self)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        weight = current_weight(linear).to(dtype).contiguous()
        self.weight = nn.Parameter(
            torch.sparse.to_sparse_semi_structured(weight), requires_grad=False
        )
        bias = None if linear.bias is None else linear.bias.detach().to(dtype)
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer to (..., in_features) inputs in ``dtype``; output in x's dtype."""
        return F.linear(x.to(self.weight.dtype), self.weight, self.bias).to(x.dtype)


def to_semi_structured(model: nn.Module, dtype: torch.dtype = torch.float16) -> list[str]:
    """Swap 2:4-sparse Linear layers for :class:`SemiStructuredLinear` (CUDA inference).

    Each Linear layer under 2:4 :class:`NMSparsity` whose weight shape the sparse kernels
    accept becomes a :class:`SemiStructuredLinear` built with
    :func:`torch.sparse.to_sparse_semi_structured`; other layers keep the masked dense path.

    Parameters
    ----------
    model : torch.nn.Module
        A model on a CUDA device, modified in place.
    dtype : torch.dtype, default=torch.float16
        Precision of the sparse products (float16 or bfloat16).

    Returns
    -------
    list of str
        Names of the converted layers.
    """
    if not torch.cuda.is_available():
        raise ValueError(
            "Semi-structured 2:4 sparse kernels need a CUDA device; "
            "none is available, so keep semi_structured=False (the masked dense path)."
        )
    limit = _semi_structured_class()._DTYPE_SHAPE_CONSTRAINTS.get(dtype)
    if limit is None:
        raise ValueError(f"The 'dtype' parameter must be float16 or bfloat16. Got {dtype}.")
    converted = []
    for name, module in prunable_layers(model):
        hooks = module._forward_pre_hooks.values()
        hook = next((h for h in hooks if isinstance(h, NMSparsity)), None)
        if type(module) is not nn.Linear or hook is None or (hook.n, hook.m) != (2, 4):
            continue
        rows, cols = module.weight.shape
        if (
            not module.weight.is_cuda
            or rows % limit.sparse_min_rows
            or cols % limit.sparse_min_cols
        ):
            continue
        parent_name, _, child = name.rpartition(".")
        sparse = SemiStructuredLinear(module, dtype)
        if name:
            setattr(model.get_submodule(parent_name), child, sparse)
        converted.append(name)
    return converted
