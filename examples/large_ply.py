"""A large cloud from a PLY file: write, read back, Flood complex with progress bars.

Generates a swiss-cheese cloud (a cube with spherical voids), writes it to a PLY file in a
temporary folder with :func:`flood.datasets.write_point_cloud` (needs open3d:
``pip install flood-tda[io]``), reads it back and computes its certified Flood complex with
tqdm progress bars. Scale ``n_points`` to millions for a real run::

    python examples/large_ply.py [N_POINTS]
"""

import pathlib
import sys
import tempfile
import time

import numpy as np

from flood import flood_complex
from flood.datasets import make_swiss_cheese, read_point_cloud, write_point_cloud


def main(n_points=30_000, n_landmarks=80, out_dir=None):
    """Run the example; return the PLY path, the cloud read back, diagrams and timings."""
    points = make_swiss_cheese(n_points, n_voids=10, random_state=0)
    tmp = None
    if out_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="flood-ply-")
        out_dir = tmp.name
    try:
        path = pathlib.Path(out_dir) / "swiss_cheese.ply"
        start = time.perf_counter()
        write_point_cloud(path, points)
        cloud = read_point_cloud(path)
        io_s = time.perf_counter() - start
        print(
            f"wrote and read {len(cloud):,} points ({path.stat().st_size / 1e6:.1f} MB) "
            f"in {io_s:.2f} s"
        )
        result = flood_complex(cloud, n_landmarks, device="cpu", random_state=0, progress=True)
        diagrams = result.diagrams((0, 1, 2))
        h2 = diagrams[2]
        print(
            f"H2: {len(h2)} classes, the 10 most persistent at "
            f"{np.round(np.sort(h2[:, 1] - h2[:, 0])[::-1][:10], 2).tolist()}"
        )
        print("timings (s):", {k: round(v, 2) for k, v in result.timings.items()})
        return {
            "path": path,
            "points": cloud,
            "original": points,
            "diagrams": diagrams,
            "timings": result.timings,
        }
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30_000)
