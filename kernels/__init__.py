"""Warp kernels and their host launchers (arithmetic, no policy), shipped as ``flood.kernels``.

Nothing here imports from ``flood`` itself except its own submodules; every launcher has a
NumPy reference named ``<launcher>_reference`` that the tests compare against on the CPU
device.
"""

from flood.kernels._cover import (
    bisect_cells,
    cell_bounds,
    cell_bounds_reference,
)
from flood.kernels._grid import (
    grid_interior_max,
    grid_interior_max_reference,
    interior_weights,
)
from flood.kernels._tree import PointTree, build_tree, nearest, nearest_reference

__all__ = [
    "PointTree",
    "bisect_cells",
    "build_tree",
    "cell_bounds",
    "cell_bounds_reference",
    "grid_interior_max",
    "grid_interior_max_reference",
    "interior_weights",
    "nearest",
    "nearest_reference",
]
