"""flood: certified Flood-complex persistent homology of large point clouds.

The public API lives here; see :func:`flood.flood_complex` for one cloud.
"""

from flood._warp import quiet_startup

quiet_startup()

from flood._complex import FloodResult, flood_complex  # noqa: E402
from flood._convert import from_giotto, from_persim, to_giotto, to_persim  # noqa: E402
from flood._estimate import Estimate, estimate  # noqa: E402
from flood._estimator import FloodComplex  # noqa: E402
from flood._features import PersistenceFeatures  # noqa: E402
from flood._report import write_report  # noqa: E402
from flood._version import __version__  # noqa: E402

__all__ = [
    "Estimate",
    "FloodComplex",
    "FloodResult",
    "PersistenceFeatures",
    "__version__",
    "estimate",
    "flood_complex",
    "from_giotto",
    "from_persim",
    "to_giotto",
    "to_persim",
    "write_report",
]
