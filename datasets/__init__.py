"""Point-cloud generators and file loaders, shipped as ``flood.datasets``.

Generators (``make_*``) are vectorized NumPy and take a ``random_state``; loaders read point
clouds and meshes from files and folders. Nothing here imports from the rest of ``flood``.
"""

from flood.datasets._folders import load_modelnet, load_scan_folder
from flood.datasets._io import PointCloudInfo, read_point_cloud, write_point_cloud
from flood.datasets._labelled import (
    make_rocks_dataset,
    make_shapes_dataset,
    make_swiss_cheese_dataset,
)
from flood.datasets._las import LasInfo
from flood.datasets._mesh import read_mesh, sample_points, write_mesh
from flood.datasets._rocks import make_rock, voxel_surface_area, voxel_volume
from flood.datasets._shapes import (
    make_annulus,
    make_circle,
    make_figure_eight,
    make_genus_surface,
    make_sphere,
    make_torus,
)
from flood.datasets._swiss_cheese import make_swiss_cheese
from flood.datasets._validation import check_chunk

__all__ = [
    "LasInfo",
    "PointCloudInfo",
    "check_chunk",
    "load_modelnet",
    "load_scan_folder",
    "make_annulus",
    "make_circle",
    "make_figure_eight",
    "make_genus_surface",
    "make_rock",
    "make_rocks_dataset",
    "make_shapes_dataset",
    "make_sphere",
    "make_swiss_cheese",
    "make_swiss_cheese_dataset",
    "make_torus",
    "read_mesh",
    "read_point_cloud",
    "sample_points",
    "voxel_surface_area",
    "voxel_volume",
    "write_mesh",
    "write_point_cloud",
]
