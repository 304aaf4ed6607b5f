"""Smoke tests of benchmarks/scaling.py and benchmarks/accuracy.py on tiny clouds."""

import csv
import importlib.util
import math
import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"flood_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: Seconds a benchmark script may run before its test fails as hung: 17x the slowest of the
#: smoke runs (scaling --quick, 14 s at load 3.7 on 2 cores).
BENCH_TIMEOUT_S = 240
#: The profile run (kernel built with line tables, run under perf, samples resolved with
#: addr2line) took 48 s in this test at load 3.6-3.9 on 2 cores, the same with an empty Warp
#: cache (4 s by hand with a warm one): 12x that.
PROFILE_TIMEOUT_S = 600


def _run(name, argv, timeout=BENCH_TIMEOUT_S):
    """Run a benchmark script in a fresh interpreter (its workers are spawned processes)."""
    proc = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _refused(name, argv):
    """stderr of a benchmark script run with bad options, after checking it exited with
    argparse's usage status (2)."""
    proc = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    return proc.stderr


def _read(path):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def test_scaling_quick(tmp_path):
    import matplotlib  # noqa: F401  (the plot needs the test extra's matplotlib)

    scaling = _load("scaling")
    peers = "flooder,alpha"  # flooder and torch come with the test extra
    out = tmp_path / "scaling.csv"
    _run(
        "scaling",
        ["--quick", "--sizes", "4000", "--landmarks", "60", "--peers", peers, "--csv", str(out)]
        + ["--seed", "3"],
    )
    columns, rows = _read(out)
    assert columns == scaling.COLUMNS
    assert len(rows) == 1
    row = rows[0]
    assert row["cloud"] == "cube" and int(row["n_points"]) == 4000 and int(row["seed"]) == 3
    with pytest.raises(SystemExit):  # another cloud: a seed >= 0
        scaling.parse_args(["--seed", "-1"])
    for c in (
        "flood_index_s",
        "flood_filtration_s",
        "flood_persistence_s",
        "flood_s",
        "kdtree_s",
        "alpha_s",
    ):
        assert float(row[c]) > 0, c
    assert int(row["n_tetrahedra"]) > 0
    assert 0 <= float(row["max_gap"]) <= float(row["tol"]) * (1 + 1e-9)
    assert float(row["evals_tetrahedron"]) > 0
    assert math.isclose(
        float(row["alpha_over_flood"]), float(row["alpha_s"]) / float(row["flood_s"]), rel_tol=1e-6
    )
    if "flooder" in peers:
        assert float(row["flooder_s"]) > 0
    assert out.with_suffix(".png").stat().st_size > 0


def test_scaling_mode(tmp_path):
    scaling = _load("scaling")
    out = tmp_path / "flood.csv"
    stdout = _run(
        "scaling",
        ["--scaling", "--sizes", "2000,4000", "--landmarks", "40", "--csv", str(out), "--plot", ""],
    )
    columns, read = _read(out)
    assert columns == scaling.SCALING_COLUMNS
    assert [int(r["n_points"]) for r in read] == [2000, 4000]
    assert all(float(r["flood_peak_rss_mb"]) > 0 for r in read)
    slope = float(stdout.split("fitted log-log slope of time against N:")[1].split()[0])
    assert math.isfinite(slope)
    # the table's header records how free the second core was (two processes / one)
    ratio = float(stdout.split("two-core check")[1].split()[0])
    assert 0.5 < ratio < 4.0


def test_accuracy_quick(tmp_path):
    accuracy = _load("accuracy")
    out = tmp_path / "accuracy.csv"
    _run(
        "accuracy",
        [
            "--quick",
            "--clouds",
            "torus",
            "--n-points",
            "3000",
            "--landmarks",
            "40",
            "--flooder-float64",
            "--csv",
            str(out),
        ],
    )
    columns, rows = _read(out)
    assert columns == accuracy.COLUMNS
    assert [int(r["dim"]) for r in rows] == [0, 1, 2, 3]
    for r in rows:
        assert int(r["n_unmatched"]) == 0
        assert float(r["flood_max_gap"]) <= float(r["tol"]) * (1 + 1e-9)
        assert float(r["frac_above_upper"]) == 0.0
        assert float(r["grid_vs_flooder_max_abs"]) <= 1e-9, r["grid_vs_flooder_argmax"]
        assert float(r["max_abs_diff"]) >= float(r["max_grid_error_bound"]) - 1e-12
    # stability: on one complex, the bottleneck distance between the H_k diagrams of two
    # filtrations is at most their sup distance over the simplices of dimension <= k + 1
    # (measured: 0.013 / 0.061, 0.048 / 0.088, 0.026 / 0.088 for H0, H1, H2)
    for k, r in enumerate(rows[:3]):
        sup = max(float(s["max_abs_diff"]) for s in rows[: k + 2])
        assert 0 < float(r["bottleneck"]) <= sup + 1e-12, (k, r["bottleneck"], sup)


def test_stages_quick(capsys):
    """The stage benchmark runs, checks the covering radius against cKDTree, and reports."""
    rows = _load("stages").main(["--quick"])
    header = capsys.readouterr().out.split("two-core check")[1]
    assert 0.5 < float(header.split()[0]) < 4  # two processes' time over one's
    assert [r[2] for r in rows] == [
        "tree build vs cKDTree(X)",
        "FPS vs fpsample",
        "covering radius vs cKDTree query",
        "check + index + landmarks vs cKDTree(X)",
    ]
    assert all(r[3] > 0 and r[4] > 0 for r in rows)


def _perf_works():
    try:
        proc = subprocess.run(
            ["perf", "record", "-q", "-o", "/dev/null", "--", "true"],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def test_profile_kernel_maps_samples_to_warp_functions():
    """The profiler finds the JIT-loaded kernel and charges its samples to @wp.func names."""
    import pytest

    if not _perf_works():
        pytest.skip("needs Linux perf with user-space sampling")
    out = _run(
        "profile_kernel",
        ["--n", "20000", "--landmarks", "200", "--repeats", "2", "--frequency", "4000"],
        timeout=PROFILE_TIMEOUT_S,
    )
    share = {}
    for line in out.split("self time per function")[1].split("hottest lines")[0].splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "%":
            share[parts[2]] = float(parts[0])
    assert "classify_0" in share, out[-2000:]  # the polytope cut's inner loop is always hot
    # shares of the process's own CPU samples, so other load does not dilute them: named
    # @wp.funcs held 89 % (classify_0 21 %) at load 3.7 on 2 cores
    assert 50 < sum(share.values()) <= 100.05


def test_profile_kernel_rejects_bad_options():
    assert "--repeats must be >= 1; got 0" in _refused("profile_kernel", ["--repeats", "0"])


def test_stack_offset_sweeps_and_keeps_the_values(tmp_path):
    """The stack-placement sweep runs the filtration below each offset, one time per offset,
    and the bounds do not move with it."""
    import shutil

    import pytest

    if not any(shutil.which(c) for c in ("cc", "gcc", "clang")):
        pytest.skip("needs a C compiler for the shim")
    argv = ["--n", "20000", "--landmarks", "200", "--offsets", "0:384:128"]
    out = _run("stack_offset", [*argv, "--cache", str(tmp_path)])
    rows = [line.split() for line in out.splitlines() if line.strip().endswith(" s")]
    assert [int(r[0]) for r in rows] == [0, 128, 256] and all(float(r[2]) > 0 for r in rows)
    ratio = float(out.split("slowest / fastest")[1].split()[0])
    # the ratio is the rows' slowest over fastest (rows and ratio printed to 3 decimals)
    lo, hi = min(float(r[2]) for r in rows), max(float(r[2]) for r in rows)
    slack = (hi / lo) * (0.0005 / lo + 0.0005 / hi) + 0.0005
    assert ratio == pytest.approx(hi / lo, abs=slack)
    assert "upper-bound sums identical at every offset" in out


def test_stack_offset_rejects_bad_offsets():
    err = _refused("stack_offset", ["--offsets", "512:0:64"])
    assert "--offsets must be start:stop:step" in err and "got '512:0:64'" in err


def test_many_landmarks_quick(tmp_path):
    """The issue-30 measurement runs at two landmark counts and its rows add up."""
    bench = _load("many_landmarks")
    out = tmp_path / "many.csv"
    stdout = _run("many_landmarks", ["--quick", "--csv", str(out)])
    assert 0.5 < float(stdout.split("two-core check")[1].split()[0]) < 4
    columns, rows = _read(out)
    assert columns == bench.COLUMNS
    assert [int(r["landmarks"]) for r in rows] == [200, 2000]
    for r in rows:
        stages = [float(r[f"{s}_s"]) for s in bench.STAGES]
        assert all(s > 0 for s in stages)
        assert sum(stages) <= float(r["total_s"]) * (1 + 1e-9)
        counts = [int(r[f"n_{k}"]) for k in ("vertices", "edges", "triangles", "tetrahedra")]
        assert int(r["n_vertices"]) == int(r["landmarks"]) and sum(counts) == int(r["n_simplices"])
        # Del(L) triangulates a 3-ball: Euler characteristic 1
        assert counts[0] - counts[1] + counts[2] - counts[3] == 1
        assert int(r["n_pairs"].split("/")[0]) >= 1  # H0 has its essential class
        assert math.isclose(
            float(r["total_over_kdtree"]), float(r["total_s"]) / float(r["kdtree_s"]), rel_tol=1e-6
        )


def test_same_bounds_saves_compares_and_flags_moved_bounds(tmp_path):
    """A run compared with its own saved bounds is identical; bounds edited in the saved
    file are counted as moved, and an interval pushed off the true value as disjoint (exit
    status 1)."""
    import numpy as np

    argv = ["--n", "20000", "--landmarks", "100", "--cache", str(tmp_path / "cache")]
    out = _run("same_bounds", [*argv, "--save", str(tmp_path / "a")])
    assert "100 landmarks: CPU" in out and "saved" in out
    out = _run("same_bounds", [*argv, "--compare", str(tmp_path / "a")])
    assert "bounds moved 0, disjoint 0 (identical)" in out
    path = tmp_path / "a" / "cheese_20000_100.npz"
    z = dict(np.load(path))
    z["u0"] = z["u0"].copy()
    z["u0"][:3] = z["l0"][:3] - 1.0  # three edges' saved intervals now lie below the new ones
    np.savez(path, **z)
    proc = subprocess.run(
        [sys.executable, str(BENCH / "same_bounds.py"), *argv, "--compare", str(tmp_path / "a")],
        capture_output=True,
        text=True,
        timeout=BENCH_TIMEOUT_S,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "bounds moved 3, disjoint 3" in proc.stdout


def test_same_bounds_rejects_bad_options(tmp_path):
    for argv, message in (
        (
            ["--landmarks", "1000,x"],
            "--landmarks must be comma-separated integers >= 2; got '1000,x'",
        ),
        (["--repeats", "0"], "--repeats must be >= 1; got 0"),
        (["--compare", str(tmp_path / "none")], "--compare must be a folder written by --save"),
    ):
        assert message in _refused("same_bounds", argv)


def test_cut_stats_counts_what_the_kernel_does(tmp_path):
    """The counting build's table: one row per dimension whose counts hang together (every
    candidate added is a cut; a polytope has at least 2 (k + 1) vertices; tasks are at least
    the simplices), and its query counts equal certified_bounds' (else exit status 1)."""
    argv = ["--n", "20000", "--landmarks", "200", "--cache", str(tmp_path / "cache")]
    out = _run("cut_stats", argv)
    rows = [line for line in out.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [int(r.split("|")[1]) for r in rows] == [1, 2, 3]
    for r in rows:
        cells = [c.strip().replace(",", "").replace(" %", "") for c in r.strip("|").split("|")]
        k, n, tasks, queries, cuts, vertices, removed, skipped, candidates, sites = map(
            float, cells
        )
        assert tasks >= n > 0 and queries > 0
        assert cuts >= candidates > 0 and vertices >= 2 * (k + 1) and removed > 0
        assert 0 <= skipped <= 100 and sites >= 1


def test_cut_stats_rejects_bad_options():
    err = _refused("cut_stats", ["--landmarks", "1"])
    assert "--landmarks must be comma-separated integers >= 2; got '1'" in err
    assert "--n must be >= 1; got 0" in _refused("cut_stats", ["--n", "0"])


def test_counters_refuse_a_kernel_built_without_them():
    """count_events after the certified kernel's first launch would count nothing: it
    raises instead (a fresh process, so no other test has built the kernel)."""
    code = (
        "import flood\n"
        "from flood.datasets import make_torus\n"
        "flood.flood_complex(make_torus(2000, random_state=0), 50, random_state=0)\n"
        "from flood.kernels._counters import count_events\n"
        "try:\n"
        "    count_events()\n"
        "except RuntimeError as exc:\n"
        "    print('refused:', exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "refused: count_events() must be called before" in out.stdout


def test_flood_job_compiles_missing_kernels_before_its_clock(monkeypatch):
    """scaling.py's flood job calls compile_kernels before the timed flood_complex (a first
    run, or another checkout path, would otherwise time Warp's compiler: 9.66 s against
    1.29 s on the 1M cheese), and times the rest as before."""
    import time

    import flood
    import flood._progress

    peers = _load("_peers")
    calls = []
    compile_kernels, flood_complex = flood._progress.compile_kernels, flood.flood_complex

    def spy_compile(method, device, stream=None):
        calls.append(("compile", method, device, time.perf_counter()))
        return compile_kernels(method, device, stream)

    def spy_complex(*args, **kwargs):
        calls.append(("complex", time.perf_counter()))
        return flood_complex(*args, **kwargs)

    monkeypatch.setattr(flood._progress, "compile_kernels", spy_compile)
    monkeypatch.setattr(flood, "flood_complex", spy_complex)
    out = peers._job_flood("torus", 3000, 0, 60, kdtree=False)
    assert [c[0] for c in calls] == ["compile", "complex"]
    assert calls[0][1:3] == ("certified", "cpu")
    assert 0 < out["complex"] <= out["seconds"]
    assert sum(out["n_simplices"]) > 60
