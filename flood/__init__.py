"""flood: certified Flood-complex persistent homology of large point clouds.

The public API lives here; see :func:`flood.flood_complex` for one cloud.
"""

from flood._complex import FloodResult, flood_complex
from flood._estimator import FloodComplex
from flood._features import PersistenceFeatures
from flood._version import __version__

__all__ = [
    "FloodComplex",
    "FloodResult",
    "PersistenceFeatures",
    "__version__",
    "flood_complex",
]
