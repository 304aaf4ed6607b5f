"""Pruned point-cloud networks (PointNet, DGCNN, k-NN) used as baselines.

Needs torch: ``pip install flood-tda[nn]``. Nothing in core flood imports this package.

Models map clouds of shape (batch, n_points, 3) to logits of shape (batch, n_classes); the
pruning helpers work on any :class:`torch.nn.Module` through :mod:`torch.nn.utils.prune` masks
on the weights of its Linear, Conv1d and Conv2d layers; :class:`SparsePointCloudClassifier`
wraps both as a scikit-learn classifier of ragged point clouds.
"""

try:
    import torch  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "flood.sparse_nn needs PyTorch, an optional dependency: pip install flood-tda[nn]"
    ) from error

from flood.sparse_nn._classifier import SparsePointCloudClassifier
from flood.sparse_nn._graph import farthest_point_sample, gather_points, knn_indices
from flood.sparse_nn._models import DGCNN, KNNNet, PointNet, TNet
from flood.sparse_nn._nm import (
    NMSparsity,
    SemiStructuredLinear,
    apply_nm_sparsity,
    is_nm_sparse,
    nm_mask,
    to_semi_structured,
)
from flood.sparse_nn._pruning import (
    PRUNABLE_LAYERS,
    current_mask,
    current_weight,
    erk_densities,
    lamp_scores,
    magnitude_prune,
    prunable_layers,
    random_prune,
    set_mask,
)
from flood.sparse_nn._report import (
    LayerSparsity,
    SparsityReport,
    export_state_dict,
    sparsity_report,
)
from flood.sparse_nn._schedules import (
    CubicSparsitySchedule,
    GradualMagnitudePruner,
    IterativeMagnitudePruner,
    cubic_sparsity,
)
from flood.sparse_nn._soups import average_state_dicts, train_soup

__all__ = [
    "CubicSparsitySchedule",
    "DGCNN",
    "GradualMagnitudePruner",
    "IterativeMagnitudePruner",
    "KNNNet",
    "LayerSparsity",
    "NMSparsity",
    "PRUNABLE_LAYERS",
    "PointNet",
    "SemiStructuredLinear",
    "SparsePointCloudClassifier",
    "SparsityReport",
    "TNet",
    "apply_nm_sparsity",
    "average_state_dicts",
    "cubic_sparsity",
    "current_mask",
    "current_weight",
    "erk_densities",
    "export_state_dict",
    "farthest_point_sample",
    "gather_points",
    "is_nm_sparse",
    "knn_indices",
    "lamp_scores",
    "magnitude_prune",
    "nm_mask",
    "prunable_layers",
    "random_prune",
    "set_mask",
    "sparsity_report",
    "to_semi_structured",
    "train_soup",
]
