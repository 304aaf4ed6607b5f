"""Resources: bounded memory on large clouds, and a Warp kernel cache that cannot break us."""

import os
import subprocess
import sys
import textwrap

import pytest

#: Peak resident memory flood_complex may add per input point (bytes), on top of the input
#: array itself (48 B/pt for 3-D float64). Measured: ~160 B/pt on 2M points (centred copy,
#: k-d tree copy and order, inverse order, nearest-landmark pass); 132 B/pt by VmHWM at d3b6b8c.
MEMORY_BUDGET_PER_POINT = 256
#: Below this (a quarter of the 132 B/pt measured) the measurement, not flood, is broken.
MEMORY_FLOOR_PER_POINT = 32

#: The peak is Linux's VmHWM, the high-water mark of this address space, reset to the current
#: RSS after the warm-up (clear_refs "5"). Not ``ru_maxrss``: it survives fork and exec, so a
#: child of a big pytest process starts at its parent's peak and the growth reads as 0.
MEMORY_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from flood import flood_complex

    def high_water_kib():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

    X = np.random.default_rng(0).uniform(size=({n}, 3))
    flood_complex(X[:2000], 10, max_dimension=1, device="cpu", random_state=0)  # warm up
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # the high-water mark starts again from the current RSS
    except OSError:
        pass  # then the warm-up's own peak is the base: a lower reading, never a higher one
    base = high_water_kib()
    res = flood_complex(X, 10, max_dimension=1, device="cpu", random_state=0)
    print((high_water_kib() - base) * 1024 / len(X), len(res.landmarks))
    """
)


def run_python(code, env=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.skipif(sys.platform != "linux", reason="reads VmHWM from /proc/self/status")
def test_peak_memory_per_point_stays_within_budget():
    """2M points, 10 landmarks, edges only: the per-point stages (index, sampling,
    covering radius) dominate; the peak RSS growth must stay under the budget."""
    proc = run_python(MEMORY_SCRIPT.format(n=2_000_000))
    assert proc.returncode == 0, proc.stderr[-2000:]
    per_point, n_landmarks = proc.stdout.strip().splitlines()[-1].split()
    assert int(n_landmarks) == 10
    # a reading near 0 measured nothing (a base already at the peak, as ru_maxrss gives in a
    # child of a big process), not a frugal run: the k-d tree alone copies the points
    assert MEMORY_FLOOR_PER_POINT < float(per_point) < MEMORY_BUDGET_PER_POINT, per_point


CACHE_SCRIPT = textwrap.dedent(
    """
    import os, warnings
    import numpy as np
    import warp as wp
    from flood import flood_complex

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = flood_complex(np.random.default_rng(0).uniform(size=(60, 2)), 6, device="cpu")
    messages = [str(w.message) for w in caught if "kernel cache" in str(w.message)]
    print(len(messages))
    print(messages[0] if messages else "")
    print(wp.config.kernel_cache_dir)
    print(res.max_gap <= res.tol)
    """
)


def test_unwritable_warp_cache_falls_back_to_a_temporary_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # a path under a file is unwritable, even for root
    proc = run_python(CACHE_SCRIPT, env={"WARP_CACHE_PATH": str(blocker / "cache")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    count, message, folder, ok = proc.stdout.strip().splitlines()[-4:]
    assert count == "1"
    assert f"the Warp kernel cache '{blocker / 'cache'}" in message
    assert "is not writable (Not a directory); using the temporary folder" in message
    assert "flood-warp-cache-" in folder and os.access(folder, os.W_OK)
    assert ok == "True"


def test_writable_warp_cache_is_left_alone(tmp_path, monkeypatch):
    from flood import _warp

    monkeypatch.setattr(_warp, "_warp_initialized", lambda: False)
    monkeypatch.setenv("WARP_CACHE_PATH", str(tmp_path / "cache"))
    import warp as wp

    monkeypatch.setattr(wp.config, "kernel_cache_dir", None)
    assert _warp.ensure_kernel_cache() is None
    assert (tmp_path / "cache").is_dir()


def test_unwritable_cache_helper_warns(tmp_path, monkeypatch):
    from flood import _warp

    (tmp_path / "f").write_text("")
    monkeypatch.setattr(_warp, "_warp_initialized", lambda: False)
    monkeypatch.setenv("WARP_CACHE_PATH", str(tmp_path / "f" / "cache"))
    import warp as wp

    monkeypatch.setattr(wp.config, "kernel_cache_dir", None)
    with pytest.warns(UserWarning, match=r"Warp kernel cache .* is not writable"):
        folder = _warp.ensure_kernel_cache()
    assert wp.config.kernel_cache_dir == folder and os.path.isdir(folder)
