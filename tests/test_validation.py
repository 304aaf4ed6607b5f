"""Every bad input to flood_complex gets a specific error; accepted dtypes compute correctly."""

import os
import subprocess
import sys

import numpy as np
import pytest

from flood import FloodComplex, flood_complex
from flood._validation import check_points


def cloud(n=120, dim=3, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, dim))


def run(X, landmarks=8, **kw):
    kw.setdefault("device", "cpu")
    return flood_complex(X, landmarks, random_state=0, **kw)


@pytest.mark.parametrize(
    ("points", "error", "match"),
    [
        (
            None,
            TypeError,
            r"points is a NoneType; expected an array-like of shape \(n_points, dim\)\.",
        ),
        ("cloud.npy", TypeError, r"points is a str; expected an array-like"),
        (np.array([[1, 2, "a"]] * 5, dtype=object), TypeError, r"object array that does not"),
        (np.array([["1", "2"]] * 5), TypeError, r"points has dtype <U1; expected real numbers\."),
        (np.ones((5, 2), dtype=complex), TypeError, r"complex dtype complex128"),
        ([[0.0, 1.0], [2.0]], ValueError, r"ragged sequence \(rows of different lengths\)"),
        (
            np.zeros(30),
            ValueError,
            r"points has shape \(30,\); expected \(n_points, dim\)\.",
        ),
        (
            np.zeros((2, 30, 3)),
            ValueError,
            r"points has shape \(2, 30, 3\); expected \(n_points, dim\)\.",
        ),
        (
            np.empty((0, 3)),
            ValueError,
            r"points has shape \(0, 3\); expected \(n_points, dim\) with n_points >= 1\.",
        ),
        (
            np.zeros((10, 0)),
            ValueError,
            r"points has shape \(10, 0\); expected \(n_points, dim\) with 1 <= dim <= 6\.",
        ),
        (
            np.zeros((10, 7)),
            ValueError,
            r"points has shape \(10, 7\); expected .* with 1 <= dim <= 6",
        ),
        (
            np.r_[cloud(), [[np.nan, 0, 0]]],
            ValueError,
            r"points has 1 row\(s\) with NaN or infinity \(first: row 120: \[nan, 0\.0, 0\.0\]\); "
            r"expected finite coordinates\.",
        ),
        (np.r_[cloud(), [[0, np.inf, 0]]], ValueError, r"NaN or infinity .* row 120"),
        (
            cloud(3),
            ValueError,
            r"3 landmark\(s\) cannot span a 3-D .*: points has only 3 point\(s\)",
        ),
        (cloud(1, 2), ValueError, r"a 2-D cloud needs at least dim \+ 1 = 3 points"),
    ],
)
def test_bad_points(points, error, match):
    with pytest.raises(error, match=match):
        run(points)


def test_sparse_input_is_refused_with_a_hint():
    import scipy.sparse as sparse

    with pytest.raises(TypeError, match=r"sparse csr_matrix.*toarray"):
        check_points(sparse.csr_matrix(np.eye(4, 3)))


@pytest.mark.parametrize(
    ("landmarks", "error", "match"),
    [
        (0, ValueError, r"'landmarks' parameter must be an int in the range \[1, inf\).* Got 0"),
        (-3, ValueError, r"Got -3 instead"),
        (3, ValueError, r"3 landmark\(s\) cannot span a 3-D .* at least dim \+ 1 = 4. Got 3"),
        (8.0, TypeError, r"'landmarks' parameter must be an int .* Got 8.0 instead"),
        (True, TypeError, r"Got True instead"),
        ("8", TypeError, r"Got '8' instead"),
        (None, TypeError, r"Got None instead"),
        (
            np.zeros((10, 2)),
            ValueError,
            r"landmarks has shape \(10, 2\); expected \(n_landmarks, 3\) to match points",
        ),
        (np.zeros(3), ValueError, r"landmarks has shape \(3,\); expected \(n_landmarks, 3\)"),
        (
            np.empty((0, 3)),
            ValueError,
            r"landmarks has shape \(0, 3\); expected \(n_landmarks, 3\) with n_landmarks >= 1",
        ),
        (np.full((5, 3), np.nan), ValueError, r"landmarks has 5 row\(s\) with NaN"),
        (cloud(3), ValueError, r"landmarks has shape \(3, 3\); expected at least dim \+ 1 = 4"),
    ],
)
def test_bad_landmarks(landmarks, error, match):
    with pytest.raises(error, match=match):
        run(cloud(), landmarks)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"tol": -1e-3}, r"'tol' parameter must be a float in the range \[0, inf\) or None"),
        ({"tol": float("nan")}, r"'tol' .* Got nan"),
        ({"method": "exact"}, r"'method' parameter must be 'certified' or 'grid'. Got 'exact'"),
        ({"points_per_edge": 1}, r"'points_per_edge' .* \[2, inf\). Got 1"),
        ({"max_dimension": 4}, r"'max_dimension' .* \[0, 3\] for 3-D points. Got 4"),
        ({"device": "tpu"}, r"'device' parameter must be 'cpu', 'cuda' or 'cuda:<n>'. Got 'tpu'"),
    ],
)
def test_bad_options(kw, match):
    with pytest.raises(ValueError, match=match):
        run(cloud(), **kw)


def test_cuda_without_gpu_is_a_clear_error():
    import warp as wp

    from flood._warp import init_warp

    init_warp()
    if wp.is_cuda_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(ValueError, match=r"device='cuda' was requested but no CUDA device"):
        flood_complex(cloud(), 8, device="cuda")


def test_more_landmarks_than_points_is_clamped_with_a_warning():
    X = cloud(30)
    with pytest.warns(UserWarning, match=r"landmarks=50 exceeds the number of points \(30\)"):
        res = run(X, 50)
    assert len(res.landmarks) == 30 and res.covering_radius == 0.0


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.float32, np.float16])
def test_integer_and_low_precision_input_equals_float64(dtype):
    X = np.random.default_rng(1).integers(0, 100, size=(150, 3)).astype(dtype)
    res = run(X, 10)
    ref = run(X.astype(np.float64), 10)
    np.testing.assert_array_equal(res.landmarks, ref.landmarks)
    for a, b in zip(res.filtration, ref.filtration):
        np.testing.assert_array_equal(a, b)


def test_lists_and_object_arrays_of_numbers_are_accepted():
    X = cloud(40, 2)
    ref = run(X)
    for variant in (X.tolist(), X.astype(object)):
        res = run(variant)
        for a, b in zip(res.filtration, ref.filtration):
            np.testing.assert_array_equal(a, b)


def test_landmarks_not_in_the_cloud_get_their_distance_as_vertex_value():
    rng = np.random.default_rng(5)
    X = rng.uniform(size=(300, 2))
    L = rng.uniform(-0.2, 1.2, size=(9, 2))
    res = run(X, L)
    assert res.landmark_indices is None
    d = np.sqrt(((L[:, None] - X[None]) ** 2).sum(-1)).min(axis=1)
    np.testing.assert_allclose(res.filtration[0], d, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.lower[0], d, rtol=0, atol=1e-12)
    # an edge is flooded no earlier than its endpoints
    e = res.simplices[1]
    assert np.all(res.filtration[1] >= d[e].max(axis=1) - 1e-12)
    assert res.max_gap <= res.tol * (1 + 1e-9)


def test_landmarks_given_as_points_of_the_cloud_get_their_indices():
    X = cloud(200)
    res = run(X, X[[5, 17, 40, 99, 150, 3]])
    np.testing.assert_array_equal(res.landmark_indices, [5, 17, 40, 99, 150, 3])
    assert np.all(res.filtration[0] == 0)


def test_duplicate_landmark_rows_are_dropped_with_a_warning():
    X = cloud(200)
    L = X[[5, 17, 5, 40, 99, 17]]
    with pytest.warns(UserWarning, match=r"landmarks holds 6 landmarks but only 4 distinct"):
        res = run(X, L)
    np.testing.assert_array_equal(res.landmark_indices, [5, 17, 40, 99])
    assert len(res.diagrams((0,))[0]) == 4


def test_estimator_rejects_mixed_dimensions_and_names_the_sample():
    X = [cloud(50, 3), cloud(50, 2)]
    with pytest.raises(ValueError, match=r"X\[1\] has shape \(50, 2\); expected \(n_points, 3\)"):
        FloodComplex(n_landmarks=8, device="cpu").fit(X)
    fc = FloodComplex(n_landmarks=8, device="cpu").fit([cloud(50, 3)])
    with pytest.raises(ValueError, match=r"X\[0\] has shape \(50, 2\); expected .* as in fit"):
        fc.transform([cloud(50, 2)])


def test_estimator_names_the_sample_with_bad_values():
    bad = cloud(50)
    bad[7, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\[1\] has 1 row\(s\) with NaN .* row 7"):
        FloodComplex(n_landmarks=8, device="cpu").fit([cloud(50), bad])


def test_estimator_failure_in_one_cloud_names_the_sample():
    X = [cloud(60, 2, seed=i) for i in range(3)]
    X[1] = np.zeros((60, 2))  # fine: all points equal gives one vertex
    X.append(np.array([[0.0, 0.0], [1.0, 0.0]]))
    fc = FloodComplex(n_landmarks=8, homology_dimensions=(0, 1), device="cpu", random_state=0)
    with pytest.warns(UserWarning):
        with pytest.raises(
            ValueError, match=r"sample 3 failed: 2 landmark\(s\) cannot span .* only 2 point"
        ):
            fc.fit_transform(X)


def test_a_run_is_quiet_on_stderr(tmp_path):
    """No Warp CUDA banner (printed natively once per process: so also once per joblib
    worker) and no open3d RPly lines (point clouds and meshes), on a fresh interpreter."""
    header = "ply\nformat ascii 1.0\nelement vertex 4\n" + "".join(
        f"property double {c}\n" for c in "xyz"
    )
    header += "element face 2\nproperty list uchar int v\nend_header\n"
    (tmp_path / "mesh.ply").write_text(header + "0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2\n3 1")
    code = (
        "import numpy as np, flood\n"
        "from flood.datasets import read_point_cloud\n"
        "X = np.random.default_rng(0).uniform(size=(40, 3))\n"
        "flood.flood_complex(X, 8, device='cpu')\n"
        "flood.FloodComplex(n_landmarks=8, device='cpu', n_jobs=2).fit_transform([X, X + 1])\n"
        f"assert read_point_cloud({str(tmp_path / 'mesh.ply')!r}).shape == (4, 3)\n"
        "from flood.datasets import read_mesh\n"
        "try:\n"
        f"    read_mesh({str(tmp_path / 'mesh.ply')!r})\n"
        "except ValueError as e:\n"  # the cut face list: refused, and without RPly noise
        "    assert 'no triangles' in str(e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FLOOD_WARP_VERBOSE"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert "CUDA" not in proc.stderr and "RPly" not in proc.stderr, proc.stderr
