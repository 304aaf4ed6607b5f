"""Folder datasets: ModelNet-style mesh trees (sampled and cached) and labelled scan folders."""

import csv
import os
import pathlib
import zlib

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils import Bunch

from flood.datasets._io import POINT_CLOUD_FORMATS, read_point_cloud
from flood.datasets._mesh import MESH_FORMATS, read_mesh, sample_points
from flood.datasets._validation import check_int, check_option, check_random_state

__all__ = ["load_modelnet", "load_scan_folder"]

MODELNET_URL = "https://modelnet.cs.princeton.edu/"


def _class_folders(root):
    return sorted(
        d.name
        for d in root.iterdir()
        if d.is_dir()
        and not d.name.startswith((".", "_"))
        and any((d / s).is_dir() for s in ("train", "test"))
    )


def _modelnet_root(root):
    root = pathlib.Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"ModelNet folder {str(root)!r} does not exist. Download ModelNet10 or ModelNet40 "
            f"from the Princeton ModelNet page ({MODELNET_URL}), unzip it and pass the folder "
            "that holds the class folders (<root>/<class>/{train,test}/*.off) as 'root'."
        )
    names = _class_folders(root)
    if not names:
        inner = [d for d in root.iterdir() if d.is_dir() and _class_folders(d)]
        hint = f" Did you mean {str(inner[0])!r}?" if inner else ""
        raise ValueError(
            f"ModelNet folder {str(root)!r} holds no class folders with a 'train' or 'test' "
            f"subfolder (expected <root>/<class>/{{train,test}}/*.off, as in the archives of "
            f"{MODELNET_URL}).{hint}"
        )
    return root, names


def _sample_one(path, relative, n_points, method, seed, cache_file):
    """Sample one mesh (float32 precision), through the cache when ``cache_file`` is set."""
    stat = path.stat()
    stamp = np.array([stat.st_size, stat.st_mtime_ns], dtype=np.int64)
    if cache_file is not None and cache_file.is_file():
        try:
            with np.load(cache_file) as cached:
                if np.array_equal(cached["stamp"], stamp) and cached["points"].shape == (
                    n_points,
                    3,
                ):
                    return cached["points"].astype(np.float64)
        except (OSError, ValueError, KeyError, EOFError):
            pass  # unreadable cache entry: resample and overwrite it
    rng = np.random.default_rng([seed, zlib.crc32(relative.encode())])
    points = sample_points(read_mesh(path), n_points, method=method, random_state=rng)
    points = points.astype(np.float32)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f"{cache_file.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, points=points, stamp=stamp)
        os.replace(tmp, cache_file)
    return points.astype(np.float64)


def _normalize(X):
    """Centre each cloud on its centroid and scale it into the unit ball."""
    X = X - X.mean(axis=1, keepdims=True)
    scale = np.linalg.norm(X, axis=2).max(axis=1)
    return X / np.where(scale > 0, scale, 1.0)[:, None, None]


def load_modelnet(
    root,
    *,
    split="train",
    n_points=1024,
    classes=None,
    method="uniform",
    normalize=True,
    cache=True,
    cache_dir=None,
    n_jobs=None,
    random_state=0,
    return_X_y=False,
):
    """Load a ModelNet10/40-style folder of meshes as fixed-size point clouds.

    The folder layout is that of the ModelNet archives from the Princeton ModelNet page
    (https://modelnet.cs.princeton.edu/): ``<root>/<class>/{train,test}/*.off``. Each mesh is
    read with :func:`read_mesh` (which handles ModelNet's ``OFF490 518 0`` headers) and
    sampled with :func:`sample_points`; samples are rounded to float32 and cached as ``.npz``
    files, so a second call reads them back instead of resampling. Nothing is downloaded.

    Parameters
    ----------
    root : str or path-like
        The folder that holds the class folders.
    split : {"train", "test"}, default="train"
        Which subfolder of every class to load.
    n_points : int, default=1024
        Points sampled per mesh.
    classes : sequence of str, default=None
        Classes to load, in label order; all class folders (sorted by name) if None.
    method : {"uniform", "poisson"}, default="uniform"
        Sampling method of :func:`sample_points`.
    normalize : bool, default=True
        Centre every cloud on its centroid and scale it into the unit ball (after caching).
    cache : bool, default=True
        Read and write cached samples. Only used when ``random_state`` is an int: the cache
        key is ``(method, n_points, random_state)`` plus the mesh's path, size and mtime.
    cache_dir : str or path-like, default=None
        Where to cache; ``<root>/_flood_cache`` if None.
    n_jobs : int, default=None
        Parallel jobs (joblib) for reading and sampling meshes.
    random_state : None, int or numpy.random.Generator, default=0
        Seed: mesh ``m`` is sampled with a generator seeded by ``(seed, crc32(path of m))``,
        so a mesh gets the same points whatever classes or split are loaded with it.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    dataset : :class:`sklearn.utils.Bunch`
        ``data`` (ndarray of shape (n_samples, n_points, 3)), ``target`` (int64 ndarray of
        shape (n_samples,), indices into ``target_names``), ``target_names`` (list of str),
        ``filenames`` (list of str, paths relative to ``root``).
    (data, target) : tuple
        If ``return_X_y`` is True.

    Raises
    ------
    FileNotFoundError
        If ``root`` does not exist.
    ValueError
        If ``root`` has no ModelNet layout, a class is unknown or a mesh is malformed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from flood.datasets import load_modelnet, write_mesh
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("cone", "plate"):
    ...     (root / name / "train").mkdir(parents=True)
    ...     write_mesh(root / name / "train" / f"{name}_1.off", np.eye(3), [[0, 1, 2]])
    >>> ds = load_modelnet(root, n_points=64)
    >>> ds.data.shape, ds.target.tolist(), ds.target_names
    ((2, 64, 3), [0, 1], ['cone', 'plate'])
    """
    func = "load_modelnet"
    split = check_option(split, "split", func, ("test", "train"))
    n_points = check_int(n_points, "n_points", func, low=1)
    method = check_option(method, "method", func, ("poisson", "uniform"))
    root, available = _modelnet_root(root)
    if classes is None:
        names = available
    else:
        names = [classes] if isinstance(classes, str) else list(classes)
        unknown = [c for c in names if c not in available]
        if unknown or not names:
            raise ValueError(
                f"The 'classes' parameter of {func} must name class folders of {str(root)!r} "
                f"({', '.join(available)}). Got {classes!r} instead."
            )
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        seed = check_int(random_state, "random_state", func, low=0)
        use_cache = bool(cache)
    else:
        seed = int(check_random_state(random_state).integers(0, 2**32))
        use_cache = False
    cache_root = pathlib.Path(cache_dir) if cache_dir is not None else root / "_flood_cache"
    cache_root = cache_root / f"{method}_{n_points}_{seed}"
    jobs, target = [], []
    for label, name in enumerate(names):
        folder = root / name / split
        files = sorted(
            p
            for p in (folder.iterdir() if folder.is_dir() else ())
            if p.suffix.lower() == ".off" and not p.name.startswith(".") and p.is_file()
        )
        for path in files:
            relative = path.relative_to(root).as_posix()
            cache_file = cache_root / f"{relative}.npz" if use_cache else None
            jobs.append((path, relative, n_points, method, seed, cache_file))
            target.append(label)
    if not jobs:
        raise ValueError(
            f"ModelNet folder {str(root)!r} has no .off files in the {split!r} split of the "
            f"classes {names}."
        )
    clouds = Parallel(n_jobs=n_jobs)(delayed(_sample_one)(*job) for job in jobs)
    data = np.stack(clouds)
    if normalize:
        data = _normalize(data)
    target = np.asarray(target, dtype=np.int64)
    if return_X_y:
        return data, target
    return Bunch(data=data, target=target, target_names=list(names), filenames=[j[1] for j in jobs])


def _read_labels(csv_path, root):
    """Rows ``(line, filename, label)`` of a labels CSV; a first row whose first field names
    no file of ``root`` is a header."""
    rows, first = [], True
    with open(csv_path, newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            row = [field.strip() for field in row]
            if not any(row) or row[0].startswith("#"):
                continue
            if first and not (root / row[0]).is_file():
                first = False
                continue
            first = False
            if len(row) < 2 or not row[0] or not row[1]:
                raise ValueError(
                    f"{csv_path}: line {number} must hold 'filename,label'; got {row!r}"
                )
            rows.append((number, row[0], row[1]))
    if not rows:
        raise ValueError(f"{csv_path}: no 'filename,label' rows found")
    return rows


def _parse_labels(labels):
    """int64 labels if all are ints, float64 if all are finite numbers, else indices into
    the sorted names."""
    try:
        return np.array([int(v) for v in labels], dtype=np.int64), None
    except ValueError:
        pass
    try:
        values = np.array([float(v) for v in labels])
        if np.all(np.isfinite(values)):
            return values, None
    except ValueError:
        pass
    names = sorted(set(labels))
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[v] for v in labels], dtype=np.int64), names


def load_scan_folder(
    root,
    labels_csv="labels.csv",
    *,
    n_points=None,
    method="uniform",
    random_state=None,
    return_X_y=False,
):
    """Load a flat folder of scans labelled by a CSV file of ``filename,label`` rows.

    Point-cloud files (``.npy``, ``.npz``, ``.xyz``, ``.txt``, ``.csv``, ``.ply``, ``.pcd``,
    ``.pts``) are read with :func:`read_point_cloud`; mesh files (``.off``, ``.obj``,
    ``.stl``) are read with :func:`read_mesh` and sampled with :func:`sample_points`.

    Parameters
    ----------
    root : str or path-like
        The folder holding the scans.
    labels_csv : str or path-like, default="labels.csv"
        The CSV file, relative to ``root`` unless absolute. A first row whose first field is
        not a file of ``root`` is a header; blank rows and rows starting with ``#`` are
        skipped.
    n_points : int, default=None
        If set, every cloud is subsampled (without replacement) to this many points, and
        meshes are sampled with this many points; required when there are meshes.
    method : {"uniform", "poisson"}, default="uniform"
        Sampling method for meshes.
    random_state : None, int or numpy.random.Generator, default=None
        Seed for the subsampling and mesh sampling.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    dataset : :class:`sklearn.utils.Bunch`
        ``data`` (list of ndarray of shape (n_points_i, n_dims)), ``target`` (ndarray of
        shape (n_samples,): int64 if every label is an int, float64 if every label is a
        number, else int64 indices into ``target_names``), ``target_names`` (sorted list of
        the string labels, or None), ``filenames`` (list of str), in CSV order.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from flood.datasets import load_scan_folder, write_point_cloud
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> write_point_cloud(root / "a.xyz", np.zeros((5, 3)))
    >>> write_point_cloud(root / "b.npy", np.ones((7, 3)))
    >>> _ = (root / "labels.csv").write_text("filename,label\\na.xyz,granite\\nb.npy,basalt\\n")
    >>> ds = load_scan_folder(root)
    >>> [x.shape for x in ds.data], ds.target.tolist(), ds.target_names
    ([(5, 3), (7, 3)], [1, 0], ['basalt', 'granite'])
    """
    func = "load_scan_folder"
    root = pathlib.Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Scan folder {str(root)!r} does not exist.")
    csv_path = pathlib.Path(labels_csv)
    csv_path = csv_path if csv_path.is_absolute() else root / csv_path
    if not csv_path.is_file():
        raise FileNotFoundError(f"Labels file {str(csv_path)!r} does not exist.")
    if n_points is not None:
        n_points = check_int(n_points, "n_points", func, low=1)
    method = check_option(method, "method", func, ("poisson", "uniform"))
    rng = check_random_state(random_state)
    rows = _read_labels(csv_path, root)
    data = []
    for number, name, _label in rows:
        path = root / name
        ext = path.suffix.lower()
        if not path.is_file():
            raise ValueError(f"{csv_path}: line {number} names {name!r}, not a file of {root}")
        if ext in POINT_CLOUD_FORMATS:
            cloud = read_point_cloud(path)
            if n_points is not None:
                if len(cloud) < n_points:
                    raise ValueError(
                        f"{path}: has {len(cloud)} points, fewer than n_points={n_points}"
                    )
                cloud = cloud[np.sort(rng.choice(len(cloud), n_points, replace=False))]
        elif ext in MESH_FORMATS:
            if n_points is None:
                raise ValueError(
                    f"The 'n_points' parameter of {func} must be an int when the folder holds "
                    f"meshes ({name}). Got None instead."
                )
            cloud = sample_points(read_mesh(path), n_points, method=method, random_state=rng)
        else:
            raise ValueError(f"{path}: unknown scan extension {ext!r}")
        data.append(cloud)
    target, names = _parse_labels([r[2] for r in rows])
    if return_X_y:
        return data, target
    return Bunch(data=data, target=target, target_names=names, filenames=[r[1] for r in rows])
