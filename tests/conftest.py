"""Shared fixtures: the Warp devices to test on, a quiet, repo-local kernel cache, toy clouds,
and the scikit-learn checks that need no data."""

import os
import pathlib

os.environ.setdefault(
    "WARP_CACHE_PATH", str(pathlib.Path(__file__).resolve().parents[1] / "build" / "warp-cache")
)
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.utils import estimator_checks as ec  # noqa: E402

#: scikit-learn's checks that need no data (`parametrize_with_checks` skips estimators whose
#: input is not 2-D). A test asking for ``sklearn_data_free_check`` runs once per check.
DATA_FREE_CHECKS = [
    ec.check_estimator_cloneable,
    ec.check_estimator_repr,
    ec.check_no_attributes_set_in_init,
    ec.check_parameters_default_constructible,
    ec.check_get_params_invariance,
    ec.check_set_params,
    ec.check_mixin_order,
    ec.check_estimators_unfitted,
    ec.check_transformers_unfitted,
    ec.check_estimator_tags_renamed,
    ec.check_valid_tag_types,
    ec.check_do_not_raise_errors_in_init_or_set_params,
    ec.check_param_validation,
]


def pytest_generate_tests(metafunc):
    if "sklearn_data_free_check" in metafunc.fixturenames:
        metafunc.parametrize("sklearn_data_free_check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)


def _devices():
    devices = ["cpu"]
    try:
        import warp as wp

        from flood._warp import init_warp, quiet_startup

        quiet_startup()
        init_warp()
        if wp.is_cuda_available():
            devices.append("cuda:0")
    except ImportError:  # pragma: no cover - warp is a core dependency
        pass
    return devices


DEVICES = _devices()


@pytest.fixture(params=DEVICES)
def device(request):
    """Each Warp device present: ``cpu`` always, ``cuda:0`` when a GPU is there."""
    return request.param


def spheres_and_cubes(n_per_class, n_points, seed):
    """Sphere surfaces vs cube surfaces at random scales and offsets, ragged sizes."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for _ in range(n_per_class):
        sphere = rng.normal(size=(n_points + rng.integers(-10, 10), 3))
        sphere /= np.linalg.norm(sphere, axis=1, keepdims=True)
        cube = rng.uniform(-1, 1, size=(n_points + rng.integers(-10, 10), 3))
        face = rng.integers(0, 3, len(cube))
        cube[np.arange(len(cube)), face] = rng.choice([-1.0, 1.0], len(cube))
        for cloud, label in ((sphere, "sphere"), (cube, "cube")):
            X.append(cloud * rng.uniform(0.5, 2.0) + rng.normal(size=3))
            y.append(label)
    return X, np.array(y)


@pytest.fixture(scope="session")
def toy():
    """80 training clouds, 40 test clouds (test_sparse_nn.py sized its thresholds on these)."""
    return spheres_and_cubes(40, 100, 0), spheres_and_cubes(20, 100, 1)


@pytest.fixture
def one_torch_thread():
    """Tiny networks: one intra-op thread is faster and immune to CPU oversubscription."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
