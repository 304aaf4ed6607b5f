"""A survey of LAS/LAZ tiles, one file per tile, read as one cloud.

A large aerial or terrestrial survey is delivered as a folder of LAS/LAZ tiles. A glob
pattern (``"survey/*.laz"``) or a folder (its ``.las``/``.laz`` files) given to
``read_point_cloud`` reads every matching file, in sorted order, as one cloud: concatenated
NumPy rows, or with ``chunks`` one dask array whose blocks each hold rows of one file (each
file split into blocks of ``chunks`` rows), so a block of a tiled survey covers part of one
tile and its bounding box stays small. Every file must give the same columns.
"""

import dataclasses
import glob
import pathlib

import numpy as np

from flood.datasets._las import LAS_FORMATS

#: Characters that make a path a glob pattern.
GLOB_CHARS = "*?["


def is_survey(path):
    """Whether ``path`` names several LAS/LAZ files: a glob pattern, or a folder that holds
    such files (a Zarr store is a folder too, and is not a survey)."""
    text = str(path)
    if any(c in text for c in GLOB_CHARS) and not pathlib.Path(text).exists():
        return True
    folder = pathlib.Path(text)
    return folder.is_dir() and any(_las_files(folder.iterdir()))


def _las_files(paths):
    return (p for p in paths if p.is_file() and p.suffix.lower() in LAS_FORMATS)


def survey_files(path):
    """The LAS/LAZ files of a glob pattern or folder, sorted.

    Raises
    ------
    FileNotFoundError
        If nothing matches, naming the pattern.
    ValueError
        If a matching file is not LAS/LAZ.
    """
    text = str(path)
    folder = pathlib.Path(text)
    if folder.is_dir():
        files = sorted(_las_files(folder.iterdir()))
    else:
        files = sorted(pathlib.Path(p) for p in glob.glob(text) if pathlib.Path(p).is_file())
    if not files:
        raise FileNotFoundError(f"{text}: no .las or .laz file matches")
    other = [p for p in files if p.suffix.lower() not in LAS_FORMATS]
    if other:
        raise ValueError(
            f"{text}: a pattern reads LAS/LAZ tiles only (.las, .laz); it also matches {other[0]}"
        )
    return files


def _same_columns(files, infos):
    for f, info in zip(files[1:], infos[1:]):
        if info.columns != infos[0].columns:
            raise ValueError(
                f"{f}: columns {', '.join(info.columns)}; the survey's first file {files[0]} "
                f"gives {', '.join(infos[0].columns)} (every tile must give the same columns)"
            )


def _joined_info(path, infos):
    first = infos[0]
    changes = {"path": str(path), "n_points": sum(i.n_points for i in infos)}
    if hasattr(first, "n_records"):
        changes["n_records"] = sum(i.n_records for i in infos)
    return dataclasses.replace(first, **changes)


def read_survey(path, read_one, chunked):
    """Every tile of a survey through ``read_one(file) -> (points, info)``, joined.

    Parameters
    ----------
    path : str or pathlib.Path
        A glob pattern or folder.
    read_one : callable
        Reads one file (with the caller's columns, classes and chunks).
    chunked : bool
        Whether ``read_one`` returns dask arrays (joined with ``dask.array.concatenate``).

    Returns
    -------
    points : ndarray or dask.array.Array
    info : PointCloudInfo
        The first file's, with the survey's path and point count; ``str`` names the files.
    """
    files = survey_files(path)
    parts, infos = zip(*(read_one(f) for f in files))
    _same_columns(files, infos)
    if chunked:
        import dask.array as da

        points = da.concatenate(parts, axis=0)
    else:
        points = np.concatenate(parts)
    return points, _joined_info(f"{path} ({len(files)} files)", infos)
