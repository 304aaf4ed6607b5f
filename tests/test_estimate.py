"""flood.estimate: its predictions against measured runs, its input rules, ``--estimate``."""

import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from flood import Estimate, estimate
from flood import _costs as costs
from flood._cli import main

#: A prediction passes when it is within this factor of the measurement (issue 31, point 6).
#: Measured at 65b0246, load 1.6-3.3, 7 runs each: CPU 0.81-1.08 and 0.82-1.03, peak
#: 1.08-1.13 and 0.72-1.37; after R29's recalibration (issue 30's ninth round), 2 runs each:
#: CPU 0.91 and 1.05, peak 0.98-1.03 and 1.03-1.22 (one run's peak varies up to 1.7x
#: between repeats: glibc keeps freed batch arrays; benchmarks/RESULTS.md, issue 31 point 6).
FACTOR = 2.0
#: ... except that the filtration's peak may also be lower by this much: how much of the
#: freed batch arrays glibc keeps differs between identical runs (the "simplices" run's
#: VmHWM: 192-367 MiB here, 83 MiB in a CI run of a fresh clone at 587cc65, predicted 277
#: MiB). A prediction above the measurement is the safe side; one below it by more than
#: FACTOR still fails.
RETAINED = 2.5

#: One fresh interpreter per run, so that its high-water mark is its own: VmHWM is reset to
#: the current RSS after the warm-up (as in tests/test_resources.py); time is the process's
#: CPU seconds (all threads), which load on a shared machine changes far less than wall time.
MEASURE_SCRIPT = textwrap.dedent(
    """
    import json, time
    import numpy as np
    from flood import flood_complex

    def status(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))

    X = np.random.default_rng(1).uniform(size=({n}, 3))
    flood_complex(X[:300], 8, device="cpu", random_state=0).diagrams()  # loads the kernels
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # the high-water mark starts again from the current RSS
    except OSError:
        pass  # then the warm-up's peak is the base: a lower reading, never a higher one
    base = status("VmHWM:")
    start = time.process_time()
    res = flood_complex(X, {landmarks}, max_dimension={max_dimension}, device="cpu",
                        random_state=0)
    res.diagrams()
    print(json.dumps({{"cpu": time.process_time() - start, "peak": status("VmHWM:") - base,
                      "n_simplices": res.n_simplices}}))
    """
)

#: Two small runs that load different constants: "points" is led by the per-point costs (1M
#: points, 100 landmarks, edges only: index and landmarks), "simplices" by the per-simplex
#: ones (51,000 simplices of 2,000 landmarks: filtration and its scratch).
RUNS = {
    "points": dict(n=1_000_000, landmarks=100, max_dimension=1),
    "simplices": dict(n=200_000, landmarks=2_000, max_dimension=3),
}


@pytest.fixture(scope="module")
def measured():
    if sys.platform != "linux":
        pytest.skip("reads VmHWM from /proc/self/status")
    out = {}
    for name, run in RUNS.items():
        proc = subprocess.run(
            [sys.executable, "-c", MEASURE_SCRIPT.format(**run)],
            capture_output=True,
            text=True,
            timeout=300,
            env=dict(os.environ),
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def ratios(measured):
    """Predicted over measured CPU seconds and peak bytes, per run."""
    out = {}
    for name, run in RUNS.items():
        est = estimate(run["n"], 3, run["landmarks"], max_dimension=run["max_dimension"])
        m = measured[name]
        assert est.n_simplices[1:] == pytest.approx(m["n_simplices"][1:], rel=0.05)
        out[f"{name} cpu"] = est.total_cpu_seconds / m["cpu"]
        out[f"{name} peak"] = est.run_peak_bytes / m["peak"]
    return out


def outside(found):
    """The ratios out of their band: [1/FACTOR, FACTOR], up to FACTOR * RETAINED for the
    filtration's peak."""
    high = {k: FACTOR * (RETAINED if k == "simplices peak" else 1.0) for k in found}
    return {k: round(v, 2) for k, v in found.items() if not 1 / FACTOR <= v <= high[k]}


def test_prediction_within_2x_of_measured_runs(measured):
    found = ratios(measured)
    print(found)  # pytest -s shows them; the measured ranges are in FACTOR's comment
    bad = outside(found)
    assert not bad, (bad, measured)


def _times(value, factor):
    if isinstance(value, dict):
        return {k: _times(v, factor) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_times(v, factor) for v in value)
    return value * factor


@pytest.mark.parametrize(
    "name",
    [
        "INDEX_NS_PER_POINT_LOG2",
        "LANDMARKS_US_PER_POINT",
        "FILTRATION_US_PER_SIMPLEX",
        "INDEX_BYTES_PER_POINT",
        "LANDMARKS_BYTES_PER_POINT",
    ],
)
def test_a_constant_10x_wrong_fails_the_check(measured, monkeypatch, name):
    """The check above can fail: each constant that leads one of the runs, 10x too large,
    moves a ratio out of its band (measured: to 4.5-11x, at 65b0246; the peak constants
    to 7.5x or more of the largest peak measured). FPS's per-point cost is ~23 % of the
    "points" run since issue 30's ninth round (10x: ~3x). The Delaunay and persistence
    times are 1-20 % of these runs: 10x on one of them moves a total by 1.2-2.2x, too close
    to the 2x a loaded machine may need; the simplex counts they scale with are checked
    below, against Del(L) of few landmarks and Euler's formula. FILTRATION_BYTES_PER_SIMPLEX
    is not here since issue 30 made the refinement's arrays leaner (230 B per simplex, ~1/3
    of the "simplices" run's peak: 10x on it reads ~4x, inside the band that the peaks'
    spread, glibc's retained heap, needs), nor SCRATCH_BYTES_PER_VERTEX (one row per
    thread since issue 30's eighth round: ~0.75 MB in 3-D)."""
    monkeypatch.setattr(costs, name, _times(getattr(costs, name), 10))
    assert outside(ratios(measured))


# -- the model -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dim", "landmarks", "expected"),
    [
        (1, 10, [10, 9]),  # a line: L - 1 edges
        (3, 4, [4, 6, 4, 1]),  # dim + 1 landmarks: one simplex and its faces
        (6, 7, [7, 21, 35, 35, 21, 7, 1]),
    ],
)
def test_simplices_of_small_triangulations(dim, landmarks, expected):
    assert estimate(100, dim, landmarks).n_simplices == expected


def test_simplices_in_2d_follow_euler():
    """Del(L) in the plane: E = 3L - 3 - h, F = 2L - 2 - h (h hull vertices, ~L**0.5)."""
    n_simplices = estimate(10**7, 2, 10**6).n_simplices
    assert n_simplices[1] == pytest.approx(3 * 10**6, rel=0.01)
    assert n_simplices[2] == pytest.approx(2 * 10**6, rel=0.01)


def test_more_points_or_landmarks_cost_more():
    """CPU grows with the points and with the landmarks; the peak with the points, and with 4x
    the landmarks (measured at 100,000 uniform points, 1,000 / 2,000 / 4,000 landmarks:
    84.2 / 83.8 / 93.4 MB; at 2x the peak stays flat: fewer points per simplex touch less
    of the kernel's scratch, which balances the simplices' arrays)."""
    small = estimate(100_000, 3, 1000)
    for bigger in (estimate(200_000, 3, 1000), estimate(100_000, 3, 2000)):
        assert bigger.total_cpu_seconds > small.total_cpu_seconds
    assert estimate(200_000, 3, 1000).run_peak_bytes > small.run_peak_bytes
    assert estimate(100_000, 3, 4000).run_peak_bytes > small.run_peak_bytes


def test_wall_seconds_share_the_filtration_among_threads():
    one = estimate(1_000_000, 3, 1000, n_threads=1)
    two = estimate(1_000_000, 3, 1000, n_threads=2)
    assert one.seconds == one.cpu_seconds and two.cpu_seconds == one.cpu_seconds
    gain = 1 + costs.THREAD_GAIN * (min(2, os.cpu_count() or 1) - 1)
    assert two.seconds["filtration"] == pytest.approx(one.seconds["filtration"] / gain)
    assert two.seconds["index"] == one.seconds["index"]


def test_exact_tol_and_grid_method():
    default = estimate(300_000, 3, 300)
    exact = estimate(300_000, 3, 300, tol=0)
    ratio = exact.cpu_seconds["filtration"] / default.cpu_seconds["filtration"]
    assert ratio == pytest.approx(costs.EXACT_TOL_FACTOR)
    assert not default.notes and not exact.notes
    assert "costed as the default tol" in estimate(300_000, 3, 300, tol=0.01).notes[0]
    grid = estimate(300_000, 3, 300, method="grid", points_per_edge=10)
    queries = sum(n * math.comb(8, k) for k, n in enumerate(grid.n_simplices) if k)
    assert grid.cpu_seconds["filtration"] == pytest.approx(1e-6 * costs.GRID_US_PER_QUERY * queries)


def test_table_names_every_stage_and_the_machine():
    est = estimate(1_000_000, 3, 1000)
    assert isinstance(est, Estimate)
    text = str(est)
    for stage in ("index", "landmarks", "delaunay", "filtration", "persistence", "total"):
        assert f"\n{stage} " in text
    assert "this machine class (2 x86-64 cores" in text
    assert est.total_bytes == est.base_bytes + 8 * 3 * 10**6 + est.run_peak_bytes


def test_calibrate_scales_times_only():
    plain = estimate(500_000, 3, 500)
    calibrated = estimate(500_000, 3, 500, calibrate=True)
    assert 0.1 < calibrated.time_scale < 10  # this machine class: ~1 (1.17 measured)
    for stage, seconds in plain.cpu_seconds.items():
        assert calibrated.cpu_seconds[stage] == pytest.approx(seconds * calibrated.time_scale)
    assert calibrated.peak_bytes == plain.peak_bytes
    assert "scaled by" in str(calibrated)


# -- input rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            dict(dim=0),
            ValueError,
            r"'dim' parameter of flood.estimate must be an int in the "
            r"range \[1, 6\]. Got 0 instead",
        ),
        (dict(dim=7), ValueError, r"range \[1, 6\]. Got 7 instead"),
        (dict(dim=3.0), TypeError, r"'dim' parameter of flood.estimate must be an int. Got 3.0"),
        (
            dict(n_points=3),
            ValueError,
            r"'n_points' parameter of flood.estimate must be an int "
            r"in the range \[4, inf\) for 3-D points .* Got 3 instead",
        ),
        (dict(n_points=True), TypeError, r"'n_points' parameter .* must be an int. Got True"),
        (dict(n_points="1e6"), TypeError, r"must be an int. Got '1e6' instead"),
        (dict(landmarks=0), ValueError, r"'landmarks' parameter must be an int in the range"),
        (dict(landmarks=2.5), TypeError, r"'landmarks' parameter must be an int"),
        (dict(landmarks=3), ValueError, r"at least dim \+ 1 = 4. Got 3 instead"),
        (
            dict(max_dimension=4),
            ValueError,
            r"'max_dimension' parameter must be an int in the "
            r"range \[0, 3\]",
        ),
        (dict(tol=-1.0), ValueError, r"'tol' parameter must be a float in the range \[0, inf\)"),
        (dict(method="alpha"), ValueError, r"'method' parameter must be 'certified' or 'grid'"),
        (dict(points_per_edge=1), ValueError, r"'points_per_edge' parameter must be an int"),
        (dict(n_threads=0), ValueError, r"'n_threads' parameter must be an int in the range"),
        (
            dict(calibrate="yes"),
            TypeError,
            r"'calibrate' parameter of flood.estimate must be a "
            r"bool. Got 'yes' instead",
        ),
    ],
)
def test_bad_input_is_refused_naming_parameter_rule_and_value(kwargs, error, match):
    args = dict(n_points=1000, dim=3, landmarks=10) | kwargs
    with pytest.raises(error, match=match):
        estimate(args.pop("n_points"), args.pop("dim"), args.pop("landmarks"), **args)


def test_landmarks_clamped_or_given_as_coordinates():
    with pytest.warns(UserWarning, match="exceeds the number of points"):
        assert estimate(100, 3, 500).n_landmarks == 100
    coords = np.random.default_rng(0).uniform(size=(40, 3))
    assert estimate(1000, 3, coords).n_landmarks == 40


# -- the command line ------------------------------------------------------------------------


def test_cli_estimate_prints_the_table_and_computes_nothing(tmp_path, capsys):
    path = tmp_path / "cloud.npy"
    np.save(path, np.random.default_rng(0).uniform(size=(2_000, 3)))
    status = main(["compute", str(path), "--estimate", "--landmarks", "50", "--dims", "0,1"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out.startswith(
        "estimate: 2,000 points in 3-D, 50 landmarks, simplices up to dimension 2, certified"
    )
    assert str(estimate(2_000, 3, 50, max_dimension=2)) in out
    assert not (tmp_path / "cloud_npy_diagrams.npz").exists()


def test_cli_estimate_reads_text_files_and_refuses_chunks(tmp_path, capsys):
    path = tmp_path / "cloud.csv"
    path.write_text("x,y\n" + "\n".join(f"{i},{i * i % 7}" for i in range(30)))
    assert main(["compute", str(path), "--estimate", "--landmarks", "5", "--columns", "x,y"]) == 0
    assert capsys.readouterr().out.startswith("estimate: 30 points in 2-D, 5 landmarks")
    assert main(["compute", str(path), "--estimate", "--chunks", "10"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "flood: error: --estimate predicts a run in one process; got it with --workers, "
        "--scheduler or --chunks"
    )
    assert main(["compute", str(path), "--estimate", "--landmarks", "0", "--columns", "x,y"]) == 2
    assert "--landmarks must be an int in the range [1, inf)" in capsys.readouterr().err
