"""Triangle meshes: a robust OFF reader/writer in NumPy, other formats via open3d (the
optional ``mesh`` extra), sampling."""

import pathlib
import re

import numpy as np

from flood.datasets._io import _data_lines, _existing, _suffix
from flood.datasets._native import filtered_stderr, import_open3d, is_open3d_noise
from flood.datasets._validation import check_int, check_option, check_random_state

__all__ = ["read_mesh", "sample_points", "write_mesh"]

MESH_FORMATS = (".obj", ".off", ".ply", ".stl")
_OFF_HEADER = re.compile(r"^(?P<keyword>[A-Za-z]*OFF)(?P<rest>.*)$")


def _parse_ints(text, path, number, what):
    try:
        return [int(t) for t in text.split()]
    except ValueError:
        raise ValueError(
            f"{path}: line {number} ({what}) is not a list of integers: {text!r}"
        ) from None


def _read_off(path):
    """Parse an OFF file line by line; tolerate ``OFF4 2 0`` headers, comments, blank lines."""
    lines = list(_data_lines(path))
    if not lines:
        raise ValueError(f"{path}: empty file")
    match = _OFF_HEADER.match(lines[0][1])
    if match is None:
        raise ValueError(f"{path}: line {lines[0][0]} must start with 'OFF'; got {lines[0][1]!r}")
    # ModelNet writes the counts straight after the keyword ("OFF490 518 0"), others on the
    # same line after a space, most on the next line.
    rest, k = match["rest"].strip(), 1
    if not rest:
        if len(lines) < 2:
            raise ValueError(f"{path}: missing the vertex/face counts after the OFF header")
        rest, k = lines[1][1], 2
    counts = _parse_ints(rest, path, lines[k - 1][0], "counts")
    if len(counts) < 2 or min(counts) < 0:
        raise ValueError(
            f"{path}: line {lines[k - 1][0]} must hold the counts 'n_vertices n_faces "
            f"[n_edges]'; got {rest!r}"
        )
    n_vertices, n_faces = counts[:2]
    vertex_lines = lines[k : k + n_vertices]
    face_lines = lines[k + n_vertices : k + n_vertices + n_faces]
    if len(vertex_lines) < n_vertices or len(face_lines) < n_faces:
        raise ValueError(
            f"{path}: truncated file: the header announces {n_vertices} vertices and {n_faces} "
            f"faces, but only {len(vertex_lines) + len(face_lines)} data lines follow"
        )
    vertices = _fast_table([t for _, t in vertex_lines], float, (n_vertices, 3))
    if vertices is not None:
        vertices = vertices[:, :3]
    else:
        vertices = _vertices_slow(path, vertex_lines)
    bad = ~np.isfinite(vertices).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{path}: line {vertex_lines[i][0]} (vertex {i}) is not finite")
    faces = _fast_table([t for _, t in face_lines], np.int64, (n_faces, 4))
    if faces is not None and np.all(faces[:, 0] == 3):
        triangles = faces[:, 1:4]
        if triangles.size == 0 or (triangles.min() >= 0 and triangles.max() < n_vertices):
            return vertices, np.ascontiguousarray(triangles)
    return vertices, _faces_slow(path, face_lines, n_vertices)


def _fast_table(lines, dtype, shape):
    """All ``lines`` as one table with NumPy's C parser, or None when the rows differ (then
    the slow per-line parsers find and report the problem)."""
    if not lines:
        return np.zeros((0, shape[1]), dtype=dtype)
    try:
        table = np.loadtxt(lines, dtype=dtype, ndmin=2, comments=None)
    except ValueError:
        return None
    return table if table.shape[0] == shape[0] and table.shape[1] >= shape[1] else None


def _vertices_slow(path, vertex_lines):
    vertices = np.empty((len(vertex_lines), 3))
    for i, (number, text) in enumerate(vertex_lines):
        tokens = text.split()
        try:
            vertices[i] = [float(t) for t in tokens[:3]]
        except ValueError:
            raise ValueError(
                f"{path}: line {number} (vertex {i}) must start with 3 numbers; got {text!r}"
            ) from None
    return vertices


def _faces_slow(path, face_lines, n_vertices):
    triangles = []
    for number, text in face_lines:
        tokens = text.split()
        ints = _parse_ints(" ".join(tokens[:1]), path, number, "face")
        size = ints[0] if ints else 0
        if size >= 3 and len(tokens) >= size + 1:
            # Only the k indices must be ints: colour values may follow, as ints or floats.
            ints = [size, *_parse_ints(" ".join(tokens[1 : size + 1]), path, number, "face")]
        if size < 3 or len(ints) < size + 1:
            raise ValueError(
                f"{path}: line {number} must hold a face 'k v1 ... vk' with k >= 3; got {text!r}"
            )
        face = ints[1 : size + 1]
        if min(face) < 0 or max(face) >= n_vertices:
            raise ValueError(
                f"{path}: line {number} refers to a vertex outside [0, {n_vertices - 1}]: {text!r}"
            )
        # Fan triangulation of a convex polygon.
        triangles.extend((face[0], face[j], face[j + 1]) for j in range(1, size - 1))
    return np.asarray(triangles, dtype=np.int64).reshape(-1, 3)


def _write_off(path, vertices, triangles):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"OFF\n{len(vertices)} {len(triangles)} 0\n")
        np.savetxt(handle, vertices, fmt="%.17g")
        faces = np.column_stack([np.full(len(triangles), 3), triangles])
        np.savetxt(handle, faces, fmt="%d")


def _check_mesh(vertices, triangles, where):
    vertices = np.asarray(vertices, dtype=np.float64)
    triangles = np.asarray(triangles)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"{where}: vertices have shape {vertices.shape}; expected (n, 3)")
    if triangles.ndim != 2 or triangles.shape[1] != 3 or triangles.dtype.kind not in "iu":
        raise ValueError(
            f"{where}: triangles have shape {triangles.shape} and dtype {triangles.dtype}; "
            "expected integers of shape (m, 3)"
        )
    if not np.all(np.isfinite(vertices)):
        raise ValueError(f"{where}: vertices contain non-finite values")
    if triangles.size and (triangles.min() < 0 or triangles.max() >= len(vertices)):
        raise ValueError(f"{where}: triangles refer to vertices outside [0, {len(vertices) - 1}]")
    return vertices, triangles.astype(np.int64, copy=False)


def read_mesh(path):
    """Read a triangle mesh.

    ``.off`` files are parsed in NumPy, robustly: comments (``#``) and blank lines are
    skipped, the counts may follow the keyword directly (ModelNet's ``OFF490 518 0``, which
    open3d reads as an empty mesh), and polygons are fan-triangulated. ``.obj``, ``.ply`` and
    ``.stl`` files are read with open3d (``pip install flood-tda[mesh]``).

    Parameters
    ----------
    path : str or path-like
        The mesh file.

    Returns
    -------
    vertices : ndarray of shape (n_vertices, 3), dtype float64
    triangles : ndarray of shape (n_triangles, 3), dtype int64
        Indices into ``vertices``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the extension is unknown or the file is malformed; the message names the file and,
        for OFF files, the line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from flood.datasets import read_mesh
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "triangle.off"
    >>> _ = path.write_text("OFF3 1 0\\n0 0 0\\n1 0 0\\n0 1 0\\n3 0 1 2\\n")
    >>> vertices, triangles = read_mesh(path)
    >>> vertices.shape, triangles.tolist()
    ((3, 3), [[0, 1, 2]])
    """
    path = pathlib.Path(path)
    ext = _suffix(path, MESH_FORMATS, "mesh")
    path = _existing(path)
    if ext == ".off":
        return _read_off(path)
    o3d = import_open3d(f"Reading {ext} meshes")
    with (
        filtered_stderr(is_open3d_noise),
        o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error),
    ):
        mesh = o3d.io.read_triangle_mesh(str(path))
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    triangles = np.asarray(mesh.triangles, dtype=np.int64)
    if len(triangles) == 0:
        raise ValueError(f"{path}: no triangles could be read (empty or malformed {ext} file)")
    return _check_mesh(vertices, triangles, path)


def write_mesh(path, vertices, triangles):
    """Write a triangle mesh; ``.off`` in NumPy, ``.obj``/``.ply``/``.stl`` with open3d.

    Parameters
    ----------
    path : str or path-like
        The file to write; its extension picks the format.
    vertices : array-like of shape (n_vertices, 3)
    triangles : array-like of int, shape (n_triangles, 3)

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from flood.datasets import read_mesh, write_mesh
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "triangle.off"
    >>> write_mesh(path, np.eye(3), [[0, 1, 2]])
    >>> read_mesh(path)[1].tolist()
    [[0, 1, 2]]
    """
    path = pathlib.Path(path)
    ext = _suffix(path, MESH_FORMATS, "mesh")
    vertices, triangles = _check_mesh(vertices, triangles, path)
    if ext == ".off":
        _write_off(path, vertices, triangles)
        return
    o3d = import_open3d(f"Writing {ext} meshes")
    mesh = o3d.geometry.TriangleMesh(
        o3d.utility.Vector3dVector(vertices), o3d.utility.Vector3iVector(triangles)
    )
    if ext == ".stl":
        mesh.compute_triangle_normals()
    with (
        filtered_stderr(is_open3d_noise),
        o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error),
    ):
        ok = o3d.io.write_triangle_mesh(str(path), mesh)
    if not ok:
        raise OSError(f"{path}: open3d could not write the mesh")


def sample_points(mesh, n_points, *, method="uniform", random_state=None):
    """Sample points on the surface of a triangle mesh.

    Parameters
    ----------
    mesh : tuple (vertices, triangles), or str or path-like
        Vertices of shape (n_vertices, 3) and integer triangles of shape (n_triangles, 3), as
        returned by :func:`read_mesh`, or a mesh file to read.
    n_points : int
        Number of points.
    method : {"uniform", "poisson"}, default="uniform"
        ``"uniform"``: independent points, uniform by area (a triangle with probability
        proportional to its area, then a uniform point in it), in NumPy. ``"poisson"``:
        evenly spread points by open3d's ``sample_points_poisson_disk`` (Yuksel's sample
        elimination from ``5 * n_points`` uniform samples), seeded from ``random_state``.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator; the same seed gives the same points.

    Returns
    -------
    points : ndarray of shape (n_points, 3), dtype float64

    Examples
    --------
    >>> from flood.datasets import sample_points
    >>> square = (np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0.0]]),
    ...           np.array([[0, 1, 2], [0, 2, 3]]))
    >>> X = sample_points(square, 1000, random_state=0)
    >>> X.shape, bool(np.all(X[:, 2] == 0)), bool(abs(X[:, 0].mean() - 0.5) < 0.05)
    ((1000, 3), True, True)
    """
    func = "sample_points"
    if isinstance(mesh, (str, pathlib.Path)):
        mesh = read_mesh(mesh)
    try:
        vertices, triangles = mesh
    except (TypeError, ValueError):
        raise TypeError(
            f"The 'mesh' parameter of {func} must be a (vertices, triangles) pair or a path. "
            f"Got {type(mesh).__name__} instead."
        ) from None
    vertices, triangles = _check_mesh(vertices, triangles, "The 'mesh' parameter")
    n_points = check_int(n_points, "n_points", func, low=1)
    method = check_option(method, "method", func, ("poisson", "uniform"))
    rng = check_random_state(random_state)
    a, b, c = (vertices[triangles[:, j]] for j in range(3))
    areas = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    total = areas.sum()
    if not total > 0:
        raise ValueError(
            f"The 'mesh' parameter of {func} must have positive surface area. Got "
            f"{len(triangles)} triangles of total area {total!r}."
        )
    if method == "poisson":
        o3d = import_open3d("sample_points(method='poisson')")
        o3d.utility.random.seed(int(rng.integers(0, 2**31 - 1)))
        o3d_mesh = o3d.geometry.TriangleMesh(
            o3d.utility.Vector3dVector(vertices), o3d.utility.Vector3iVector(triangles)
        )
        cloud = o3d_mesh.sample_points_poisson_disk(n_points, init_factor=5)
        return np.asarray(cloud.points, dtype=np.float64)
    cdf = np.cumsum(areas)
    pick = np.searchsorted(cdf, rng.random(n_points) * cdf[-1], side="right")
    np.minimum(pick, len(triangles) - 1, out=pick)
    # Uniform barycentric coordinates: (1 - sqrt(u), sqrt(u) (1 - v), sqrt(u) v).
    su = np.sqrt(rng.random((n_points, 1)))
    v = rng.random((n_points, 1))
    return (1.0 - su) * a[pick] + su * (1.0 - v) * b[pick] + su * v * c[pick]
