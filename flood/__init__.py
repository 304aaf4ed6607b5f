"""flood: certified Flood-complex persistent homology of large point clouds.

The public API lives here; see :func:`flood.flood_complex` for one cloud and
:class:`flood.FloodComplex` for a scikit-learn transformer over many clouds.
"""

from flood._version import __version__

__all__ = ["__version__"]
