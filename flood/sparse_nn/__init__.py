"""Pruned point-cloud networks (PointNet-style) used as baselines; needs ``pip install flood-tda[nn]``."""

__all__: list[str] = []
