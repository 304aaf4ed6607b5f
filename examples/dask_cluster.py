"""FloodComplex over many clouds on a Dask LocalCluster (needs ``dask[distributed]``).

Starts a two-worker ``LocalCluster``, runs :class:`flood.FloodComplex` inside
``joblib.parallel_backend("dask")`` (one task per cloud) and checks that the diagrams equal
those of a serial run: each cloud's seed is drawn up front, so the backend does not matter.
Point ``Client`` at a real scheduler address to use a cluster instead::

    python examples/dask_cluster.py
"""

import time

import joblib
import numpy as np

from flood import FloodComplex
from flood.datasets import make_shapes_dataset


def main(n_clouds=8, n_points=1_000, n_landmarks=40, n_workers=2):
    """Run both ways; return the diagrams, whether they agree and the wall times."""
    from dask.distributed import Client, LocalCluster

    X, _ = make_shapes_dataset(n_clouds, n_points, dim=3, noise=0.02, random_state=0)
    fc = FloodComplex(
        n_landmarks=n_landmarks, homology_dimensions=(0, 1, 2), device="cpu", random_state=0
    )
    fc.fit(X)
    start = time.perf_counter()
    serial = fc.transform(X)
    serial_s = time.perf_counter() - start
    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        print("dask client:", client)
        start = time.perf_counter()
        with joblib.parallel_backend("dask"):
            on_dask = fc.set_params(n_jobs=-1).transform(X)
        dask_s = time.perf_counter() - start
    same = all(
        np.array_equal(a, b)
        for s, t in zip(serial, on_dask, strict=True)
        for a, b in zip(s, t, strict=True)
    )
    print(
        f"{n_clouds} clouds: serial {serial_s:.1f} s, dask ({n_workers} workers) {dask_s:.1f} s, "
        f"identical diagrams: {same}"
    )
    return {
        "serial": serial,
        "dask": on_dask,
        "identical": same,
        "serial_s": serial_s,
        "dask_s": dask_s,
    }


if __name__ == "__main__":
    main()
