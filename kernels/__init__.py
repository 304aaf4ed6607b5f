"""Warp kernels and their host launchers (arithmetic, no policy), shipped as ``flood.kernels``.

Nothing here imports from ``flood`` itself except its own submodules; every launcher has a
NumPy reference named ``<launcher>_reference`` that the tests compare against on the CPU
device.
"""

from flood.kernels._grid import (
    grid_interior_max,
    grid_interior_max_reference,
    interior_weights,
)
from flood.kernels._nearest import (
    max_nearest_distance,
    nearest,
    nearest_k,
    nearest_k_reference,
    nearest_reference,
)
from flood.kernels._scratch import TaskScratch, launch_size
from flood.kernels._tree import PointTree, build_tree
from flood.kernels._tree_query import K_NEAREST
from flood.kernels._voronoi import (
    certify_tasks,
    restricted_voronoi_max,
    restricted_voronoi_max_reference,
)

__all__ = [
    "K_NEAREST",
    "PointTree",
    "TaskScratch",
    "build_tree",
    "certify_tasks",
    "grid_interior_max",
    "grid_interior_max_reference",
    "interior_weights",
    "launch_size",
    "max_nearest_distance",
    "nearest",
    "nearest_k",
    "nearest_k_reference",
    "nearest_reference",
    "restricted_voronoi_max",
    "restricted_voronoi_max_reference",
]
