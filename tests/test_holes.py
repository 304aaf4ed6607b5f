"""FloodResult.features: where the holes are, how big, and their representative cycles."""

import dataclasses

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from flood import flood_complex
from flood.datasets import make_circle, make_swiss_cheese, make_torus

pytest.importorskip("oineus")


def boundary_mod2(chain):
    """The faces that appear an odd number of times in a mod-2 chain of simplices (rows)."""
    chain = np.sort(np.asarray(chain), axis=1)
    faces = np.concatenate([np.delete(chain, j, axis=1) for j in range(chain.shape[1])])
    uniq, counts = np.unique(faces, axis=0, return_counts=True)
    return uniq[counts % 2 == 1]


def ray_parity(P, triangles, origin, direction):
    """Parity of the triangles a ray from ``origin`` crosses: 1 when the shell encloses it."""
    v0, v1, v2 = (P[triangles[:, j]] for j in range(3))
    e1, e2 = v1 - v0, v2 - v0
    h = np.cross(direction, e2)
    a = (e1 * h).sum(axis=1)
    inv = 1.0 / np.where(np.abs(a) > 1e-14, a, np.nan)
    s = origin - v0
    u = inv * (s * h).sum(axis=1)
    q = np.cross(s, e1)
    v = inv * (q @ direction)
    t = inv * (e2 * q).sum(axis=1)
    return int(((u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)).sum()) % 2


def crossings(P, edges, axis, inside):
    """Edges crossing the plane ``x[axis] = 0`` at a point where ``inside(point)`` holds."""
    a, b = P[edges[:, 0]], P[edges[:, 1]]
    cross = a[:, axis] * b[:, axis] < 0
    t = a[cross, axis] / (a[cross, axis] - b[cross, axis])
    p = a[cross] + t[:, None] * (b[cross] - a[cross])
    return int(inside(p).sum())


def fibonacci_sphere(n):
    i = np.arange(n) + 0.5
    phi, theta = np.arccos(1 - 2 * i / n), np.pi * (1 + 5**0.5) * i
    return np.c_[np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)]


@pytest.fixture(scope="module")
def cheese():
    X, centres, radii = make_swiss_cheese(
        100_000, n_voids=8, radii=(0.3, 0.6), return_voids=True, random_state=0
    )
    return X, centres, radii, flood_complex(X, 600, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def torus():
    X = make_torus(20_000, R=1.0, r=0.35, random_state=0)
    return X, flood_complex(X, 400, random_state=0, device="cpu")


def test_features_are_the_diagrams_pairs_with_their_simplices(cheese):
    *_, res = cheese
    for cycles in (True, False):
        f = res.features((0, 1, 2), cycles=cycles)
        assert np.all(np.diff(f["persistence"]) <= 0)
        for q, dgm in zip((0, 1, 2), res.diagrams((0, 1, 2))):
            rows = f[f["dimension"] == q]
            got = np.sort(np.c_[rows["birth"], rows["death"]], axis=0)
            np.testing.assert_allclose(got, np.sort(dgm, axis=0), rtol=0, atol=1e-12)
        finite = f[np.isfinite(f["death"])]
        for row in finite[:50]:
            q = row["dimension"]
            b = np.flatnonzero((res.simplices[q] == row["birth_simplex"]).all(axis=1))
            d = np.flatnonzero((res.simplices[q + 1] == row["death_simplex"]).all(axis=1))
            assert res.filtration[q][b[0]] == row["birth"]
            assert res.filtration[q + 1][d[0]] == row["death"]


def test_cycles_are_closed_and_born_by_the_birth(cheese, torus):
    """Closed (boundary 0 mod 2) and in the complex before the death. H1 loops: every edge
    by birth + tol (flood._loops: the shortest loop within the certified precision of the
    birth), and each represents its bar (the reduction writes it as the bar's cycle plus
    cycles of bars dead no later). An H2 shell that had to leave another listed void
    outside is taken when the wall between them closed, after the birth."""
    for res in (cheese[-1], torus[-1]):
        table = res.features(top=40)
        reducer = res._reducer  # the reduction features() kept
        offs = np.concatenate([[0], np.cumsum([len(s) for s in res.simplices])])
        for row in table:
            q = row["dimension"]
            cycle = row["cycle"]
            assert cycle.shape[1] == q + 1 and len(cycle)
            assert len(boundary_mod2(cycle)) == 0
            rows = [np.flatnonzero((res.simplices[q] == s).all(axis=1))[0] for s in cycle]
            latest = res.filtration[q][rows].max()
            assert latest <= (row["birth"] + res.tol if q == 1 else row["death"])
            if q == 1:
                ids = [_id(res, offs, q, s) for s in (row["birth_simplex"], row["death_simplex"])]
                assert reducer.represents(offs[q] + np.array(rows), *ids)


def _id(res, offs, q, simplex):
    """Global id of a q- or (q+1)-simplex given by its landmarks."""
    k = len(simplex) - 1
    return offs[k] + np.flatnonzero((res.simplices[k] == simplex).all(axis=1))[0]


def test_swiss_cheese_voids_are_the_h2_features(cheese):
    """Each void (c, R) is matched one-to-one by an H2 feature, and nothing else stands out.

    Derived bounds. Let h_c = max of d_X over the void's sphere (the sampling's covering
    radius there; measured on 20,000 points of the sphere plus their spacing: d_X is
    1-Lipschitz) and tol the certified gap. The class of the void's shell dies only once
    the tetrahedron holding c has entered, whose value is >= d_X(c) - tol >= R - tol; the
    death simplex tau's value is within tol of f(tau), and the radius is lower(tau) >=
    f(tau) - tol: radius >= R - 3 tol. In the ball, d_X(y) <= (R - |y - c|) + h_c, so
    radius <= R + h_c and, as d_X(centre) = radius >= R - 3 tol, |centre - c| <= h_c + 3 tol
    (a centre outside every void would have d_X <= h < R - 3 tol).
    Measured (seeds 0-9, 100k points, 8 voids of radius 0.3-0.6, 600 landmarks, tol
    0.0054, h_c 0.14-0.24): centre errors <= 0.018 (<= 0.10 of the bound), radius - R in
    [-0.0041, 0.0093]; the next H2 bar after the voids 0.041-0.055, the smallest void's
    0.13-0.26: the test asks centre errors <= 0.25 of the bound and extra bars below the
    smallest h_c (0.14). Shells (flood._shells: the void's region once every tetrahedron
    meets the void): corners within 2.85-3.5 radii of the centre (seeds 0-6; the region at
    the birth reached 7.4): the test asks 4.5.
    """
    X, centres, radii, res = cheese
    f = res.features(2)
    n = len(centres)
    tree = cKDTree(X)
    sphere = fibonacci_sphere(20_000)
    spacing = 4.0 / np.sqrt(len(sphere))  # covering radius of the unit sphere's points, up to
    h_c = np.array(
        [tree.query(c + r * sphere)[0].max() + r * spacing for c, r in zip(centres, radii)]
    )
    # one-to-one: the n most persistent H2 features, each nearest to a distinct void
    dist = np.linalg.norm(f["centre"][:n, None] - centres[None], axis=2)
    match = dist.argmin(axis=1)
    assert sorted(match) == list(range(n))
    err = dist[np.arange(n), match]
    radius = f["radius"][:n]
    tol = res.tol
    assert np.all(err <= h_c[match] + 3 * tol)
    assert np.all(err <= 0.25 * (h_c[match] + 3 * tol))
    assert np.all(radius >= radii[match] - 3 * tol)
    assert np.all(radius <= radii[match] + h_c[match])
    # each shell encloses its void's centre and no other
    rng = np.random.default_rng(0)
    for row, j in zip(f[:n], match):
        inside = [ray_parity(res.landmarks, row["cycle"], c, rng.normal(size=3)) for c in centres]
        assert inside == [int(i == j) for i in range(n)]
        corners = np.linalg.norm(res.landmarks[np.unique(row["cycle"])] - row["centre"], axis=1)
        assert corners.max() <= 4.5 * row["radius"]  # the wall of the void, no spikes
    # no other H2 feature above the noise
    assert len(f) == n or f["persistence"][n] < h_c.min()


def test_torus_cycles_wind_around_its_two_circles_and_its_shell_holds_the_tube(torus):
    """The two long H1 bars: one loop around the tube and one around the axis. Winding
    numbers mod 2 are linking numbers with the core circle (crossings of the disk it
    bounds) and with the axis (crossings of a half-plane): (1, 0) and (0, 1). Each is one
    simple closed loop (every vertex on two of its edges, connected), its edges entered by
    birth + tol (flood._loops; measured seeds 0-5: the loops' last edge 0.28-0.97 tol after
    the birth; at seed 0 the axis' loop is born 0.00013 before the tube's, when its only
    loops wind (1, 1)). The H2 shell encloses every point of the core circle, not the
    centre nor a point outside."""
    X, res = torus
    P = res.landmarks
    h1 = res.features(1, top=2)
    links = []
    for row in h1:
        c = row["cycle"]
        assert len(boundary_mod2(c)) == 0
        degree = np.bincount(c.ravel())
        assert set(degree[degree > 0]) == {2}
        graph = coo_matrix((np.ones(len(c)), (c[:, 0], c[:, 1])), shape=(len(P),) * 2)
        labels = connected_components(graph, directed=False)[1]
        assert len(np.unique(labels[np.unique(c)])) == 1
        rows = [np.flatnonzero((res.simplices[1] == s).all(axis=1))[0] for s in c]
        assert res.filtration[1][rows].max() <= row["birth"] + res.tol
        core = crossings(P, c, 2, lambda p: np.hypot(p[:, 0], p[:, 1]) < 1.0) % 2
        axis = crossings(P, c, 1, lambda p: p[:, 0] > 0) % 2
        links.append((core, axis))
    assert sorted(links) == [(0, 1), (1, 0)]
    assert h1["death"][links.index((0, 1))] > 0.6  # the loop around the axis fills last
    (shell,) = res.features(2, top=1)
    rng = np.random.default_rng(1)
    for a in np.linspace(0, 2 * np.pi, 9):
        core_point = np.array([np.cos(a), np.sin(a), 0.0])
        assert ray_parity(P, shell["cycle"], core_point, rng.normal(size=3)) == 1
    for p in ([0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 1.0]):
        assert ray_parity(P, shell["cycle"], np.array(p), rng.normal(size=3)) == 0
    assert abs(shell["radius"] - 0.35) <= 0.02  # the tube's radius
    assert abs(np.hypot(*shell["centre"][:2]) - 1.0) <= 0.02  # on the core circle


def test_cycles_move_with_the_cloud():
    """A rotated and translated cloud with the same landmarks: the same cycles, centres
    rotated and translated, the same radii."""
    X = make_torus(3_000, R=1.0, r=0.35, random_state=3)
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    shift = np.array([5.0, -2.0, 0.5])
    L = X[rng.choice(len(X), 200, replace=False)]  # FPS buckets by axes: not invariant
    # tol=0: the same values up to rounding, so the same order and the same reduction
    a = flood_complex(X, L, tol=0.0, device="cpu")
    b = flood_complex(X @ Q.T + shift, L @ Q.T + shift, tol=0.0, device="cpu")
    fa, fb = a.features(top=3), b.features(top=3)
    for ra, rb in zip(fa, fb):
        assert ra["dimension"] == rb["dimension"]
        assert set(map(tuple, ra["cycle"])) == set(map(tuple, rb["cycle"]))
        np.testing.assert_allclose(rb["radius"], ra["radius"], rtol=1e-8)
        np.testing.assert_allclose(rb["centre"], ra["centre"] @ Q.T + shift, atol=1e-6)


def test_table_selection_frame_and_errors():
    X = make_circle(300, random_state=0)
    res = flood_complex(X, 30, random_state=0, device="cpu")
    full = res.features((0, 1))
    assert len(res.features((0, 1), top=2)) == 2
    cut = full["persistence"][3]
    assert np.all(res.features((0, 1), min_persistence=cut)["persistence"] > cut)
    frame = res.features(top=1, as_frame=True)
    assert list(frame.columns[:7]) == [
        "dimension", "birth", "death", "persistence", "radius", "centre_0", "centre_1",
    ]  # fmt: skip
    assert frame["cycle"][0].shape[1] == 2
    essential = full[np.isinf(full["death"])]
    assert len(essential) == 1 and np.isnan(essential["centre"]).all()
    with pytest.raises(ValueError, match="'top' parameter of FloodResult.features"):
        res.features(top=0)
    with pytest.raises(ValueError, match="'min_persistence' parameter of FloodResult.features"):
        res.features(min_persistence=-1.0)
    grid = flood_complex(X, 30, random_state=0, method="grid", device="cpu")
    g = grid.features(top=1)  # the grid keeps no X: the point farthest from the landmarks
    assert np.isfinite(g["centre"]).all() and g["radius"][0] == g["death"][0]
    assert np.linalg.norm(g["centre"][0]) < 0.1  # the circle's centre (radius 1)


def test_dask_input_gives_the_same_holes():
    """A dask result keeps the blocks' witnesses as its maximizers (without them, features()
    evaluates the death simplices again from the points near them). Both radii are within
    tol below f(tau): within tol of each other; both centres are tol-maximizers (measured
    0.0056 apart, tol 0.007)."""
    da = pytest.importorskip("dask.array")
    X = make_swiss_cheese(60_000, n_voids=5, radii=(0.4, 0.7), random_state=2)
    a = flood_complex(X, 300, random_state=0, device="cpu")
    b = flood_complex(da.from_array(X, chunks=20_000), a.landmarks, tol=a.tol, device="cpu")
    assert b.maximizers is not None
    fa = a.features(2, top=5)
    fb = b.features(2, top=5)
    again = dataclasses.replace(b, maximizers=None).features(2, top=5)
    for rb in np.concatenate([fb, again]):
        ra = fa[np.linalg.norm(fa["centre"] - rb["centre"], axis=1).argmin()]
        assert abs(ra["radius"] - rb["radius"]) <= a.tol
        assert np.linalg.norm(ra["centre"] - rb["centre"]) <= 0.05
        d = cKDTree(X).query(rb["centre"])[0]  # the radius is d_X at the centre
        assert abs(d - rb["radius"]) <= 1e-9


def test_readme_where_are_the_holes_runs(tmp_path, monkeypatch):
    """The README's "Where are the holes" example: the six voids are the six rows."""
    import pathlib
    import re

    import matplotlib

    matplotlib.use("Agg")
    readme = pathlib.Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), flags=re.S)
    (block,) = [b for b in blocks if "write_report" in b]
    monkeypatch.chdir(tmp_path)  # it writes holes.html
    ns = {}
    exec(compile(block, "README-holes", "exec"), ns)
    assert list(ns["holes"]["dimension"]) == [2] * 6
    assert (tmp_path / "holes.html").stat().st_size < 1_000_000


def test_result_pickles_after_features():
    import pickle

    res = flood_complex(make_circle(300, random_state=0), 30, random_state=0, device="cpu")
    first = res.features(top=1)
    again = pickle.loads(pickle.dumps(res)).features(top=1)
    np.testing.assert_array_equal(first["centre"], again["centre"])


def test_simplex_distance_and_shortest_odd_loop():
    """The two geometric helpers of the cycles: the distance from a point to a
    tetrahedron (against the closest point of a barycentric grid of it, 40 steps per
    edge: within 0.02 of the distance), and the shortest loop
    crossing an odd set of edges (a square with a long diagonal: crossing one side odd
    takes the triangle with the diagonal only when the diagonal is short)."""
    from flood._holes import _barycentric_grid
    from flood._loops import shortest_odd_loop
    from flood._shells import simplex_distance

    T = np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]], dtype=float)
    inside = _barycentric_grid(40, 3) @ T[0]
    for p in ([0.1, 0.1, 0.1], [2, 0, 0], [-1, -1, -1], [0.5, 0.5, 0.5], [0.3, -0.4, 0.2]):
        p = np.array(p, dtype=float)
        sampled = np.linalg.norm(inside - p, axis=1).min()
        assert simplex_distance(T, p)[0] <= sampled + 1e-12
        assert simplex_distance(T, p)[0] >= sampled - 0.02
    edges = np.array([[0, 1], [1, 2], [2, 3], [0, 3], [0, 2]])
    odd = np.array([True, False, False, False, False])
    for diagonal, expect in ((2.5, [0, 1, 2, 3]), (1.1, [0, 1, 4])):
        lengths = np.array([1.0, 1.0, 1.0, 1.0, diagonal])
        assert sorted(shortest_odd_loop(edges, lengths, odd, 4)) == expect
    assert shortest_odd_loop(edges, np.ones(5), np.zeros(5, dtype=bool), 4) is None
