"""Generators of flood.datasets: shapes, determinism, geometry and topology."""

import gudhi
import numpy as np
import pytest

from flood.datasets import (
    make_annulus,
    make_circle,
    make_figure_eight,
    make_genus_surface,
    make_rock,
    make_sphere,
    make_swiss_cheese,
    make_torus,
    voxel_surface_area,
    voxel_volume,
)

GENERATORS = {
    "swiss_cheese": (lambda n, rs: make_swiss_cheese(n, n_voids=5, random_state=rs), 3),
    "torus": (lambda n, rs: make_torus(n, noise=0.01, random_state=rs), 3),
    "sphere": (lambda n, rs: make_sphere(n, noise=0.01, random_state=rs), 3),
    "sphere5": (lambda n, rs: make_sphere(n, dim=5, random_state=rs), 5),
    "circle": (lambda n, rs: make_circle(n, random_state=rs), 2),
    "figure_eight": (lambda n, rs: make_figure_eight(n, random_state=rs), 2),
    "annulus": (lambda n, rs: make_annulus(n, random_state=rs), 2),
    "genus": (lambda n, rs: make_genus_surface(n, genus=3, random_state=rs), 3),
    "rock_fractal": (lambda n, rs: make_rock(n, resolution=16, random_state=rs).points, 3),
    "rock_blob": (
        lambda n, rs: make_rock(n, kind="blob", resolution=16, random_state=rs).points,
        3,
    ),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_shape_dtype_and_determinism(name):
    make, dim = GENERATORS[name]
    X = make(777, 0)
    assert X.shape == (777, dim)
    assert X.dtype == np.float64
    assert np.all(np.isfinite(X))
    np.testing.assert_array_equal(X, make(777, 0))
    np.testing.assert_array_equal(X, make(777, np.random.default_rng(0)))
    assert not np.array_equal(X, make(777, 1))
    # A legacy RandomState is accepted too (and is deterministic).
    np.testing.assert_array_equal(
        make(50, np.random.RandomState(3)), make(50, np.random.RandomState(3))
    )


def test_swiss_cheese_geometry():
    box = (np.array([0.0, -1.0, 2.0]), np.array([4.0, 3.0, 5.0]))
    X, centres, radii = make_swiss_cheese(
        50_000, n_voids=15, box=box, radii=(0.2, 0.4), return_voids=True, random_state=7
    )
    assert X.shape == (50_000, 3) and centres.shape == (15, 3) and radii.shape == (15,)
    assert np.all((radii >= 0.2) & (radii <= 0.4))
    # Voids inside the box.
    assert np.all(centres - radii[:, None] >= box[0]) and np.all(centres + radii[:, None] <= box[1])
    # Voids pairwise disjoint.
    gap = np.linalg.norm(centres[:, None] - centres[None], axis=2)
    iu = np.triu_indices(15, 1)
    assert np.all(gap[iu] >= (radii[:, None] + radii[None])[iu])
    # No point inside a void, all points inside the box.
    dist = np.linalg.norm(X[:, None, :] - centres[None], axis=2)
    assert np.all(dist >= radii)
    assert np.all(X >= box[0]) and np.all(X <= box[1])
    # Uniform: the fraction near a void shell matches the shell volume.
    shell = (dist < radii + 0.1).any(axis=1).mean()
    expected = (4 / 3 * np.pi * ((radii + 0.1) ** 3 - radii**3)).sum() / (
        48 - 4 / 3 * np.pi * (radii**3).sum()
    )
    assert abs(shell - expected) < 0.02


def test_swiss_cheese_errors():
    with pytest.raises(ValueError, match="could not place 200 disjoint voids"):
        make_swiss_cheese(10, n_voids=200, box=(0, 2), radii=(0.4, 0.5), random_state=0)
    with pytest.raises(ValueError, match="'radii' parameter .* does not fit in the box"):
        make_swiss_cheese(10, n_voids=1, box=(0, 1), radii=(0.6, 0.7), random_state=0)
    with pytest.raises(ValueError, match=r"'n_points' parameter of make_swiss_cheese .* Got 0"):
        make_swiss_cheese(0)
    with pytest.raises(ValueError, match="'box' parameter .* low < high"):
        make_swiss_cheese(10, box=(5, 0))
    with pytest.raises(ValueError, match="'radii' parameter .* 0.0 < low <= high"):
        make_swiss_cheese(10, radii=(0.5, 0.1))
    with pytest.raises(TypeError, match="'random_state' parameter"):
        make_swiss_cheese(10, random_state="seed")


def test_swiss_cheese_no_voids_is_uniform_box():
    X = make_swiss_cheese(20_000, n_voids=0, box=(-1, 1), dim=2, random_state=0)
    assert X.shape == (20_000, 2)
    assert abs(X.mean()) < 0.02 and abs(X.var() - 1 / 3) < 0.02


def test_torus_on_surface_and_uniform_by_area():
    R, r = 2.0, 0.5
    X = make_torus(200_000, R=R, r=r, random_state=0)
    core = np.hypot(np.hypot(X[:, 0], X[:, 1]) - R, X[:, 2])
    np.testing.assert_allclose(core, r, atol=1e-12)
    # Uniform by area: the outer half (cos theta > 0) holds (pi R + 2 r) / (2 pi R) of the area.
    outer = (np.hypot(X[:, 0], X[:, 1]) > R).mean()
    assert abs(outer - (np.pi * R + 2 * r) / (2 * np.pi * R)) < 0.005
    noisy = make_torus(1000, R=R, r=r, noise=0.05, random_state=0)
    assert np.abs(np.hypot(np.hypot(noisy[:, 0], noisy[:, 1]) - R, noisy[:, 2]) - r).max() > 0.05
    with pytest.raises(ValueError, match="'r' parameter of make_torus must be at most 'R'"):
        make_torus(10, R=1.0, r=2.0)


def test_sphere_circle_annulus_figure_eight_geometry():
    S = make_sphere(5000, radius=2.5, random_state=0)
    np.testing.assert_allclose(np.linalg.norm(S, axis=1), 2.5)
    assert np.abs(S.mean(axis=0)).max() < 0.1
    C = make_circle(1000, radius=0.7, random_state=0)
    np.testing.assert_allclose(np.linalg.norm(C, axis=1), 0.7)
    A = make_annulus(20_000, inner_radius=1.0, outer_radius=2.0, random_state=0)
    s = np.linalg.norm(A, axis=1)
    assert s.min() >= 1.0 and s.max() <= 2.0
    # Uniform by area: half the area of the annulus lies inside radius sqrt(2.5).
    assert abs((s < np.sqrt(2.5)).mean() - 0.5) < 0.02
    F = make_figure_eight(2000, radius=1.5, random_state=0)
    left = np.linalg.norm(F - [-1.5, 0], axis=1)
    right = np.linalg.norm(F - [1.5, 0], axis=1)
    assert np.allclose(np.minimum(left, right), 1.5)
    assert 0.45 < (F[:, 0] < 0).mean() < 0.55
    with pytest.raises(ValueError, match="'inner_radius' .* smaller than 'outer_radius'"):
        make_annulus(10, inner_radius=2.0, outer_radius=1.0)
    with pytest.raises(ValueError, match="'dim' parameter of make_sphere"):
        make_sphere(10, dim=1)


def _betti(points, threshold, threshold_h2=0.05):
    """Betti numbers from Alpha persistence: features longer than ``threshold`` (H0, H1) or
    ``threshold_h2`` (H2: a thin tube's void is born late, at about the point spacing)."""
    tree = gudhi.AlphaComplex(points=points).create_simplex_tree(output_squared_values=False)
    betti = [0, 0, 0]
    for dim, (birth, death) in tree.persistence():
        if death - birth > (threshold_h2 if dim == 2 else threshold):
            betti[dim] += 1
    return betti


@pytest.mark.parametrize("genus", [2, 3])
def test_genus_surface_topology(genus):
    X = make_genus_surface(1500 * genus, genus=genus, random_state=0)
    # Tube loops die near r = 0.3, handle loops near R - r = 0.7; sampling noise ~0.1.
    b0, b1, b2 = _betti(X, threshold=0.17)
    assert (b0, b1, b2) == (1, 2 * genus, 1)
    assert b0 - b1 + b2 == 2 - 2 * genus


def test_genus_surface_on_boundary_of_union():
    R, r = 1.0, 0.3
    X = make_genus_surface(20_000, genus=3, R=R, r=r, random_state=1)
    centres = np.array([-2.0, 0.0, 2.0])
    core = np.stack(
        [np.hypot(np.hypot(X[:, 0] - c, X[:, 1]) - R, X[:, 2]) for c in centres], axis=1
    )
    # On the surface of one torus, inside none.
    assert np.allclose(core.min(axis=1), r)
    assert np.all(core >= r - 1e-12)


def test_shapes_topology_by_persistence():
    assert _betti(make_figure_eight(400, random_state=0), 0.3)[:2] == [1, 2]
    assert _betti(make_circle(300, random_state=0), 0.3)[:2] == [1, 1]
    assert _betti(make_torus(2000, random_state=0), 0.15) == [1, 2, 1]
    assert _betti(make_sphere(800, random_state=0), 0.3) == [1, 0, 1]


@pytest.mark.parametrize("kind", ["fractal", "blob"])
def test_rock_area_volume_and_points_on_faces(kind):
    rock = make_rock(3000, kind=kind, resolution=24, random_state=3)
    h = rock.voxel_size
    assert rock.solid.shape == (24, 24, 24) and rock.solid.dtype == bool and h == 1 / 24
    assert rock.area > 0 and rock.volume > 0
    assert rock.volume == pytest.approx(rock.solid.sum() * h**3)
    assert rock.area == pytest.approx(voxel_surface_area(rock.solid, h))
    # Direct count: a face is exposed where the solid changes along an axis (outside empty).
    padded = np.pad(rock.solid, 1)
    faces = sum(np.count_nonzero(np.diff(padded, axis=a)) for a in range(3))
    assert rock.area == pytest.approx(faces * h * h)
    # Each point lies on a voxel face: one coordinate is a multiple of h, and the two voxels
    # sharing that face differ (one solid, one empty).
    P = rock.points / h
    on_plane = np.abs(P - np.round(P)) < 1e-9
    assert np.all(on_plane.any(axis=1))
    for p, plane in zip(P[:200], on_plane[:200], strict=True):
        a = int(np.argmax(plane))
        cell = np.floor(p).astype(int) + 1  # index into `padded`
        lo, hi = cell.copy(), cell.copy()
        lo[a] = int(round(p[a]))
        hi[a] = int(round(p[a])) + 1
        assert padded[tuple(lo)] != padded[tuple(hi)]
    # One face-connected solid without cavities.
    from scipy import ndimage

    assert ndimage.label(rock.solid)[1] == 1
    assert ndimage.label(~np.pad(rock.solid, 1))[1] == 1


def test_rock_kinds_are_distinguishable():
    def sphericity(rock):
        return np.pi ** (1 / 3) * (6 * rock.volume) ** (2 / 3) / rock.area

    blob = [sphericity(make_rock(10, kind="blob", resolution=32, random_state=s)) for s in range(6)]
    frac = [
        sphericity(make_rock(10, kind="fractal", random_state=s, resolution=32)) for s in range(6)
    ]
    assert max(frac) < min(blob)


def test_rock_jitter_and_errors():
    rock = make_rock(500, kind="blob", resolution=16, jitter=0.5, random_state=0)
    P = rock.points / rock.voxel_size
    assert not np.all((np.abs(P - np.round(P)) < 1e-9).any(axis=1))
    with pytest.raises(ValueError, match="'kind' parameter of make_rock must be one of"):
        make_rock(10, kind="granite")
    with pytest.raises(ValueError, match="'resolution' parameter of make_rock"):
        make_rock(10, resolution=4)


def test_voxel_helpers():
    cube = np.zeros((4, 4, 4), dtype=bool)
    cube[1:3, 1:3, 1:3] = True
    assert voxel_volume(cube, 0.5) == pytest.approx(8 * 0.125)
    assert voxel_surface_area(cube, 0.5) == pytest.approx(24 * 0.25)
    assert voxel_surface_area(np.ones((1, 1, 1), dtype=bool)) == 6.0
