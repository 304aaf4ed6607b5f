"""benchmarks/gpu_check.py on the CPU alone (its dry run: cpu against cpu), on tiny sizes."""

import importlib.util
import json
import pathlib

import numpy as np

BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


def _load():
    spec = importlib.util.spec_from_file_location("flood_bench_gpu_check", BENCH / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_check_dry_run_agrees_and_writes_its_files(tmp_path, capsys):
    gpu_check = _load()
    argv = ["--devices", "cpu", "--n-points", "3000", "--landmarks", "50", "--out", str(tmp_path)]
    assert gpu_check.main(argv) == 0
    out = capsys.readouterr().out
    assert "installed: " in out and "comparing cpu against cpu" in out
    assert "AGREE: " in out and "MISMATCH" not in out
    summary = json.loads((tmp_path / "gpu_check.json").read_text())
    assert summary["ok"] and summary["devices"] == ["cpu", "cpu"]
    cases = {r["case"] for r in summary["rows"]}
    assert {"uniform2d_tol0", "torus20k", "normal6d", "cheese3000", "tasks3d"} <= cases
    assert all(r["ok"] and r["n_simplices"] > 0 for r in summary["rows"])
    header = (tmp_path / "gpu_check.csv").read_text().splitlines()[0]
    assert header.split(",") == gpu_check.COLUMNS


def test_gpu_check_compares_intervals_not_bits():
    gpu_check = _load()
    lower, upper = np.array([1.0, 2.0]), np.array([1.1, 2.1])
    times = [0.0] * 4
    # other bits, overlapping intervals within tol: agreement
    row = gpu_check.compare("c", 1, 0.1, (lower, upper), (lower + 0.05, upper + 0.04), 1e-10, times)
    assert row["ok"] and row["max_separation"] < 0
    # disjoint intervals: a mismatch, though each gap is within tol
    row = gpu_check.compare("c", 1, 0.1, (lower, upper), (lower + 0.2, upper + 0.2), 1e-10, times)
    assert not row["ok"] and row["max_separation"] > 0
    # overlapping, but a gap above tol: a mismatch
    row = gpu_check.compare("c", 1, 0.1, (lower, upper), (lower, upper + 0.5), 1e-10, times)
    assert not row["ok"]


def test_gpu_check_reports_a_failing_device_and_exits_1(tmp_path, monkeypatch, capsys):
    """A device that raises is a mismatch row with its message; the JSON is still written."""
    gpu_check = _load()

    def broken(X, L, tol, device, n_threads):
        raise RuntimeError("kernel launch failed")

    monkeypatch.setattr(gpu_check, "run_complex", broken)
    argv = ["--devices", "cpu", "--n-points", "0", "--out", str(tmp_path)]
    assert gpu_check.main(argv) == 1
    assert "MISMATCH" in capsys.readouterr().out
    summary = json.loads((tmp_path / "gpu_check.json").read_text())
    assert summary["ok"] is False
    failed = [r for r in summary["rows"] if not r["ok"]]
    assert failed and all("kernel launch failed" in r["error"] for r in failed)
    assert all(r["ok"] for r in summary["rows"] if r["case"].startswith("tasks"))
