"""FloodComplex on a Dask cluster through joblib's "dask" backend equals the serial run."""

import distributed  # noqa: E402  (the test extra installs dask[distributed])
import joblib  # noqa: E402
import numpy as np
import pytest

from flood import FloodComplex
from flood.datasets import make_shapes_dataset


def _equal(a, b):
    return len(a) == len(b) and all(
        all(np.array_equal(x, y) for x, y in zip(s, t, strict=True))
        for s, t in zip(a, b, strict=True)
    )


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_dask_backend_equals_serial(client):
    X, _ = make_shapes_dataset(8, 250, dim=2, noise=0.02, random_state=2)
    fc = FloodComplex(n_landmarks=30, device="cpu", random_state=5)
    serial = fc.fit_transform(X)
    with joblib.parallel_backend("dask"):
        on_dask = fc.transform(X)
        with_bar = FloodComplex(
            n_landmarks=30, device="cpu", random_state=5, n_jobs=-1, verbose=True
        ).fit_transform(X)
    assert _equal(serial, on_dask)
    assert _equal(serial, with_bar)
    assert len(client.scheduler_info()["workers"]) == 2


def test_dask_failure_names_the_sample(client):
    X, _ = make_shapes_dataset(3, 200, dim=2, random_state=0)
    X.append(np.array([[0.0, 0.0], [1.0, 1.0]]))
    with joblib.parallel_backend("dask"), pytest.warns(UserWarning, match="exceeds the size"):
        with pytest.raises(ValueError, match=r"sample 3 failed: 2 landmark\(s\)"):
            FloodComplex(n_landmarks=20, device="cpu", random_state=0).fit_transform(X)
