"""Neighbourhood helpers for the point-cloud networks: k-NN, gathering and sampling."""

import torch

__all__ = ["farthest_point_sample", "gather_points", "knn_indices"]


def knn_indices(query: torch.Tensor, points: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` nearest ``points`` of every ``query`` point.

    Parameters
    ----------
    query : torch.Tensor of shape (batch, n_query, dim)
        Points whose neighbours are wanted.
    points : torch.Tensor of shape (batch, n_points, dim)
        Candidate neighbours. When ``points`` is ``query`` each point is its own
        nearest neighbour (distance 0), as in DGCNN.
    k : int
        Number of neighbours, at most ``n_points``.

    Returns
    -------
    torch.Tensor of shape (batch, n_query, k), dtype int64
        Neighbour indices into ``points``, nearest first.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [3, 0, 0]]])
    >>> knn_indices(x, x, 2)[0].tolist()
    [[0, 1], [1, 0], [2, 1]]
    """
    with torch.no_grad():
        distances = torch.cdist(query, points)
        return distances.topk(k, dim=-1, largest=False, sorted=True).indices


def gather_points(features: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Gather per-point features by batched indices.

    Parameters
    ----------
    features : torch.Tensor of shape (batch, n_points, channels)
        Features of every point.
    indices : torch.Tensor of shape (batch, ...), dtype int64
        Indices into the ``n_points`` axis, any trailing shape.

    Returns
    -------
    torch.Tensor of shape (batch, ..., channels)
        ``out[b, ...] = features[b, indices[b, ...]]``.

    Examples
    --------
    >>> import torch
    >>> f = torch.arange(6.0).reshape(1, 3, 2)
    >>> gather_points(f, torch.tensor([[2, 0]])).tolist()
    [[[4.0, 5.0], [0.0, 1.0]]]
    """
    batch = features.shape[0]
    view = (batch,) + (1,) * (indices.dim() - 1)
    batch_index = torch.arange(batch, device=features.device).view(view)
    return features[batch_index, indices]


def farthest_point_sample(points: torch.Tensor, n_samples: int) -> torch.Tensor:
    """Farthest-point sampling, deterministic: the first sample is point 0.

    Parameters
    ----------
    points : torch.Tensor of shape (batch, n_points, dim)
        Point clouds.
    n_samples : int
        Number of samples, at most ``n_points``.

    Returns
    -------
    torch.Tensor of shape (batch, n_samples), dtype int64
        Indices of the samples; each is the point farthest from those before it.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[[0.0, 0, 0], [0.1, 0, 0], [5, 0, 0], [2, 0, 0]]])
    >>> farthest_point_sample(x, 3).tolist()
    [[0, 2, 3]]
    """
    batch, n_points, _ = points.shape
    with torch.no_grad():
        indices = torch.zeros(batch, n_samples, dtype=torch.long, device=points.device)
        nearest = torch.full((batch, n_points), float("inf"), device=points.device)
        farthest = torch.zeros(batch, dtype=torch.long, device=points.device)
        rows = torch.arange(batch, device=points.device)
        for i in range(n_samples):
            indices[:, i] = farthest
            centre = points[rows, farthest].unsqueeze(1)
            nearest = torch.minimum(nearest, ((points - centre) ** 2).sum(-1))
            farthest = nearest.argmax(-1)
    return indices
