"""Smoke test of benchmarks/classification.py on tiny clouds (quick mode, fewer sizes)."""

import csv
import importlib.util
import pathlib

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "classification.py"


def _load():
    spec = importlib.util.spec_from_file_location("flood_bench_classification", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_classification_quick(tmp_path):
    import matplotlib  # noqa: F401
    import torch  # noqa: F401

    bench = _load()
    argv = ["--quick", "--out", str(tmp_path), "--n-clouds", "10", "--n-points", "800",
            "--landmarks", "15", "--alpha-points", "150", "--nn-points", "64"]  # fmt: skip
    rows = bench.main(argv)
    with open(tmp_path / "classification.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == bench.COLUMNS
        written = list(reader)
    assert len(written) == len(rows)
    groups = {(r["task"], r["metric"]) for r in written}
    assert groups == {("swiss_cheese", "accuracy"), ("rocks", "accuracy"), ("rocks", "R2 (area)")}
    methods = {r["method"] for r in written if r["metric"] == "accuracy"}
    assert {"Flood PH", "Alpha PH", "PointNet dense", "DGCNN dense"} <= methods
    assert {"PointNet gradual magnitude", "PointNet random (ERK)"} <= methods
    for r in written:
        assert float(r["time_s"]) >= 0 and float(r["std"]) >= 0
        if r["metric"] == "accuracy":
            assert 0.0 <= float(r["mean"]) <= 1.0
    pruned = [r for r in written if "gradual" in r["method"]]
    assert all(abs(float(r["achieved_sparsity"]) - 0.8) < 0.02 for r in pruned)
    table = (tmp_path / "classification.md").read_text()
    assert "| Flood PH | 15 landmarks | 800 |" in table
    for name in ("accuracy_vs_points", "accuracy_vs_sparsity", "accuracy_vs_time"):
        assert (tmp_path / f"{name}.png").stat().st_size > 5_000


def test_classification_modes_and_overrides():
    bench = _load()
    _, cfg = bench.parse_args(["--full"])
    assert cfg["n_points"] == 1_000_000 and cfg["landmarks"] == (2_000,)
    assert cfg["n_clouds"] == 1_000 and cfg["epochs"] == 200
    args, cfg = bench.parse_args(["--landmarks", "50,80", "--tol", "-1"])
    assert cfg["mode"] == "default" and cfg["landmarks"] == (50, 80) and args.tol is None
    with pytest.raises(SystemExit):
        bench.parse_args(["--quick", "--full"])
