"""Point-cloud generators and file loaders, shipped as ``flood.datasets``."""

__all__: list[str] = []
