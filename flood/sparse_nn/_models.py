"""Small point-cloud classifiers: PointNet, DGCNN (EdgeConv) and a k-NN set-abstraction net.

All three map clouds of shape (batch, n_points, 3) to logits of shape (batch, n_classes), are
plain :class:`torch.nn.Module` objects and are initialised through ``reset_parameters``, which
takes an optional :class:`torch.Generator` so that a caller can initialise them without touching
torch's global random state. ``width`` scales every layer (64 gives the published sizes); a width
of 4 to 8 trains on a CPU in seconds.
"""

import math

import torch
from torch import nn

from flood.sparse_nn._graph import farthest_point_sample, gather_points, knn_indices

__all__ = ["DGCNN", "KNNNet", "PointNet", "TNet"]


def _init_module(module: nn.Module, generator: torch.Generator | None) -> None:
    """Initialise one layer as torch does by default, but from ``generator``."""
    if isinstance(module, nn.Linear | nn.Conv1d | nn.Conv2d):
        weight = getattr(module, "weight_orig", None)
        weight = module.weight if weight is None else weight
        with torch.no_grad():
            nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
            if module.bias is not None:
                fan_in = weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in)
                nn.init.uniform_(module.bias, -bound, bound, generator=generator)
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        module.reset_parameters()


def _untouched_global_rng():
    """Context in which layer constructors may draw from torch's CPU generator harmlessly."""
    return torch.random.fork_rng(devices=[])


def _reset(model: nn.Module, generator: torch.Generator | None) -> None:
    for module in model.modules():
        _init_module(module, generator)


def _conv1d_block(sizes: list[int], activation: nn.Module) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c_in, c_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Conv1d(c_in, c_out, 1, bias=False), nn.BatchNorm1d(c_out), activation]
    return nn.Sequential(*layers)


def _head(sizes: list[int], n_classes: int, activation: nn.Module) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c_in, c_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(c_in, c_out, bias=False), nn.BatchNorm1d(c_out), activation]
    layers.append(nn.Linear(sizes[-1], n_classes))
    return nn.Sequential(*layers)


class TNet(nn.Module):
    """PointNet's input transform: predicts a (dim, dim) matrix applied to every point.

    The last layer starts at zero weight and identity bias, so the transform starts as the
    identity.

    Parameters
    ----------
    dim : int, default=3
        Dimension of the points.
    width : int, default=64
        Base layer width.
    generator : torch.Generator, optional
        Source of the initial weights; torch's global generator when None.
    """

    def __init__(self, dim: int = 3, *, width: int = 64, generator=None) -> None:
        super().__init__()
        self.dim = dim
        with _untouched_global_rng():
            self.features = _conv1d_block([dim, width, 2 * width, 16 * width], nn.ReLU())
            self.head = _head([16 * width, 8 * width, 4 * width], dim * dim, nn.ReLU())
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Re-draw the weights; the output layer gives the identity transform."""
        _reset(self, generator)
        last = self.head[-1]
        weight = getattr(last, "weight_orig", last.weight)
        with torch.no_grad():
            weight.zero_()
            last.bias.copy_(torch.eye(self.dim).flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (batch, n_points, dim) clouds to (batch, dim, dim) transforms."""
        pooled = self.features(x.transpose(1, 2)).amax(dim=2)
        return self.head(pooled).view(-1, self.dim, self.dim)


class PointNet(nn.Module):
    """PointNet (Qi et al. 2017): a shared per-point MLP, a max pool and an MLP head.

    Parameters
    ----------
    n_classes : int
        Number of output logits.
    width : int, default=64
        Base width: the shared MLP has widths (w, w, 2w, 16w), the head (8w, 4w).
    input_transform : bool, default=False
        Whether to align the input with a :class:`TNet` first.
    generator : torch.Generator, optional
        Source of the initial weights; torch's global generator when None.

    Examples
    --------
    >>> import torch
    >>> net = PointNet(2, width=4, generator=torch.Generator().manual_seed(0)).eval()
    >>> net(torch.zeros(5, 32, 3)).shape
    torch.Size([5, 2])
    """

    def __init__(
        self, n_classes: int, *, width: int = 64, input_transform: bool = False, generator=None
    ) -> None:
        super().__init__()
        with _untouched_global_rng():
            self.transform = TNet(3, width=width) if input_transform else None
            self.features = _conv1d_block([3, width, width, 2 * width, 16 * width], nn.ReLU())
            self.head = _head([16 * width, 8 * width, 4 * width], n_classes, nn.ReLU())
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Re-draw every weight from ``generator`` (biases and norms as torch does)."""
        _reset(self, generator)
        if self.transform is not None:
            self.transform.reset_parameters(generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map clouds of shape (batch, n_points, 3) to logits of shape (batch, n_classes)."""
        if self.transform is not None:
            x = torch.bmm(x, self.transform(x))
        return self.head(self.features(x.transpose(1, 2)).amax(dim=2))


class EdgeConv(nn.Module):
    """EdgeConv: max over the k-NN graph of MLP([x_j - x_i, x_i]), graph built on the input."""

    def __init__(self, in_channels: int, out_channels: int, k: int) -> None:
        super().__init__()
        self.k = k
        self.mlp = nn.Sequential(
            nn.Conv2d(2 * in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.LeakyReLU(0.2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map features (batch, n_points, c_in) to (batch, n_points, c_out)."""
        neighbours = gather_points(x, knn_indices(x, x, min(self.k, x.shape[1])))
        centre = x.unsqueeze(2).expand_as(neighbours)
        edges = torch.cat([neighbours - centre, centre], dim=-1).permute(0, 3, 1, 2)
        return self.mlp(edges).amax(dim=-1).transpose(1, 2)


class DGCNN(nn.Module):
    """DGCNN (Wang et al. 2019): EdgeConv layers on dynamic k-NN graphs, then max+mean pool.

    Parameters
    ----------
    n_classes : int
        Number of output logits.
    k : int, default=20
        Neighbours per point in every EdgeConv graph.
    width : int, default=64
        Base width: EdgeConv widths (w, w, 2w, 4w), embedding 16w, head (8w, 4w).
    generator : torch.Generator, optional
        Source of the initial weights; torch's global generator when None.

    Examples
    --------
    >>> import torch
    >>> net = DGCNN(3, k=4, width=4, generator=torch.Generator().manual_seed(0)).eval()
    >>> net(torch.rand(2, 16, 3)).shape
    torch.Size([2, 3])
    """

    def __init__(self, n_classes: int, *, k: int = 20, width: int = 64, generator=None) -> None:
        super().__init__()
        sizes = [3, width, width, 2 * width, 4 * width]
        with _untouched_global_rng():
            self.edge_convs = nn.ModuleList(
                EdgeConv(c_in, c_out, k) for c_in, c_out in zip(sizes[:-1], sizes[1:], strict=True)
            )
            self.embedding = _conv1d_block([8 * width, 16 * width], nn.LeakyReLU(0.2))
            self.head = _head([32 * width, 8 * width, 4 * width], n_classes, nn.LeakyReLU(0.2))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Re-draw every weight from ``generator`` (biases and norms as torch does)."""
        _reset(self, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map clouds of shape (batch, n_points, 3) to logits of shape (batch, n_classes)."""
        outputs = []
        for conv in self.edge_convs:
            x = conv(x)
            outputs.append(x)
        embedded = self.embedding(torch.cat(outputs, dim=-1).transpose(1, 2))
        pooled = torch.cat([embedded.amax(dim=2), embedded.mean(dim=2)], dim=1)
        return self.head(pooled)


class SetAbstraction(nn.Module):
    """Sample centroids, group their k nearest points, shared MLP, max over the group."""

    def __init__(self, sizes: list[int], ratio: float, k: int, sampling: str, seed: int) -> None:
        super().__init__()
        self.ratio, self.k, self.sampling, self.seed = ratio, k, sampling, seed
        layers: list[nn.Module] = []
        for c_in, c_out in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
        self.mlp = nn.Sequential(*layers)

    def _centroids(self, xyz: torch.Tensor) -> torch.Tensor:
        batch, n_points, _ = xyz.shape
        n_centroids = max(1, round(self.ratio * n_points))
        if self.sampling == "fps":
            return farthest_point_sample(xyz, n_centroids)
        generator = torch.Generator(device=xyz.device).manual_seed(self.seed)
        order = torch.randperm(n_points, generator=generator, device=xyz.device)
        return order[:n_centroids].expand(batch, n_centroids)

    def forward(
        self, xyz: torch.Tensor, features: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Map (batch, n, 3) points and (batch, n, c) features to n' centroids and features."""
        centres = gather_points(xyz, self._centroids(xyz))
        neighbours = knn_indices(centres, xyz, min(self.k, xyz.shape[1]))
        grouped = gather_points(xyz, neighbours) - centres.unsqueeze(2)
        if features is not None:
            grouped = torch.cat([grouped, gather_points(features, neighbours)], dim=-1)
        out = self.mlp(grouped.permute(0, 3, 1, 2)).amax(dim=-1)
        return centres, out.transpose(1, 2)


class KNNNet(nn.Module):
    """A simplified PointNet++ (Qi et al. 2017): two k-NN set abstractions, a global MLP, max.

    Parameters
    ----------
    n_classes : int
        Number of output logits.
    k : int, default=16
        Neighbours grouped around every centroid.
    width : int, default=64
        Base width: set abstractions (w, w, 2w) and (2w, 2w, 4w), global MLP (4w, 8w, 16w),
        head (8w, 4w).
    ratios : tuple of float, default=(0.25, 0.25)
        Fraction of the points kept as centroids by each set abstraction.
    sampling : {"fps", "random"}, default="fps"
        Centroid choice: farthest-point sampling from point 0, or a random subset drawn from a
        fixed ``seed`` (the same subset of indices on every call, so predictions are
        deterministic; inputs resampled at random make it a random subset of the cloud).
    seed : int, default=0
        Seed of the ``"random"`` centroid choice.
    generator : torch.Generator, optional
        Source of the initial weights; torch's global generator when None.

    Examples
    --------
    >>> import torch
    >>> net = KNNNet(2, k=4, width=4, generator=torch.Generator().manual_seed(0)).eval()
    >>> net(torch.rand(3, 64, 3)).shape
    torch.Size([3, 2])
    """

    def __init__(
        self,
        n_classes: int,
        *,
        k: int = 16,
        width: int = 64,
        ratios: tuple[float, float] = (0.25, 0.25),
        sampling: str = "fps",
        seed: int = 0,
        generator=None,
    ) -> None:
        super().__init__()
        if sampling not in ("fps", "random"):
            raise ValueError(
                f"The 'sampling' parameter of KNNNet must be 'fps' or 'random'. Got {sampling!r}."
            )
        w = width
        with _untouched_global_rng():
            self.abstractions = nn.ModuleList(
                [
                    SetAbstraction([3, w, w, 2 * w], ratios[0], k, sampling, seed),
                    SetAbstraction(
                        [2 * w + 3, 2 * w, 2 * w, 4 * w], ratios[1], k, sampling, seed + 1
                    ),
                ]
            )
            self.global_mlp = _conv1d_block([4 * w + 3, 4 * w, 8 * w, 16 * w], nn.ReLU())
            self.head = _head([16 * w, 8 * w, 4 * w], n_classes, nn.ReLU())
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Re-draw every weight from ``generator`` (biases and norms as torch does)."""
        _reset(self, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map clouds of shape (batch, n_points, 3) to logits of shape (batch, n_classes)."""
        xyz, features = x, None
        for abstraction in self.abstractions:
            xyz, features = abstraction(xyz, features)
        pooled = self.global_mlp(torch.cat([xyz, features], dim=-1).transpose(1, 2)).amax(dim=2)
        return self.head(pooled)
