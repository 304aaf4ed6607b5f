"""Shared fixtures: the Warp devices to test on, and a quiet, repo-local kernel cache."""

import os
import pathlib

os.environ.setdefault(
    "WARP_CACHE_PATH", str(pathlib.Path(__file__).resolve().parents[1] / "build" / "warp-cache")
)
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402


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
