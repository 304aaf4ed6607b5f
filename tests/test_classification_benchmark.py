"""Smoke test of benchmarks/classification.py on tiny clouds (quick mode, fewer sizes)."""

import csv
import importlib.util
import pathlib

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "classification.py"

#: Rocks (blob vs fractal, 12 test clouds over 2 splits, chance 0.5) at the smoke sizes below:
#: Flood PH and Alpha PH each scored 0.75-1.0 over --seed 0-9 (0.917 and 1.0 at seed 0).
ROCKS_MIN_ACCURACY = 0.65
#: R2 of the surface area on the rocks: measured 0.75-0.97 (Flood), 0.85-0.995 (Alpha) over
#: --seed 0-9; predicting the mean scores 0.
ROCKS_MIN_R2 = 0.5


def _load():
    spec = importlib.util.spec_from_file_location("flood_bench_classification", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_classification_quick(tmp_path):
    import matplotlib  # noqa: F401
    import torch  # noqa: F401

    bench = _load()
    argv = ["--quick", "--out", str(tmp_path), "--n-clouds", "20", "--n-points", "800",
            "--landmarks", "15", "--alpha-points", "150", "--nn-points", "64",
            "--jobs", "1"]  # fmt: skip
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
    assert {f"PointNet {name}" for name in bench.PRUNING.values()} <= methods  # every method
    _, quick = bench.parse_args(["--quick"])
    for r in written:
        assert float(r["cpu_s_per_cloud"]) > 0 and float(r["std"]) >= 0
        if r["metric"] == "accuracy":  # a mean over splits of right / n_test: a whole count
            right = float(r["mean"]) * int(r["n_test"]) * quick["repeats"]
            assert abs(right - round(right)) < 1e-9, (r["method"], r["mean"], r["n_test"])
        if r["family"] in ("PointNet", "DGCNN"):
            assert float(r["epochs"]) >= 1
    # the PH pipelines learn the rocks at these sizes (the networks and swiss cheese need
    # more points than a smoke test has: at chance here)
    scores = {(r["method"], r["metric"]): float(r["mean"]) for r in written if r["task"] == "rocks"}
    for method in ("Flood PH", "Alpha PH"):
        assert scores[method, "accuracy"] >= ROCKS_MIN_ACCURACY, (method, scores)
        assert scores[method, "R2 (area)"] >= ROCKS_MIN_R2, (method, scores)
    for r in written:
        if r["method"] in ("PointNet gradual magnitude", "PointNet sparse model soup"):
            assert abs(float(r["achieved_sparsity"]) - 0.8) < 0.02
    table = (tmp_path / "classification.md").read_text()
    assert "| Flood PH | 15 landmarks | 800 |" in table
    with open(tmp_path / "curves.csv", newline="") as f:
        curves = list(csv.DictReader(f))
    assert {c["method"] for c in curves} == {"PointNet dense", "DGCNN dense"}
    assert {c["split"] for c in curves} == {"0", "1"}
    for name in ("accuracy_vs_points", "accuracy_vs_sparsity", "accuracy_vs_time",
                 "training_curves"):  # fmt: skip
        assert (tmp_path / f"{name}.png").stat().st_size > 5_000


def test_grid_choice_uses_validation_only(monkeypatch):
    """The dense learning rate per split is the one with the best validation score."""
    bench = _load()
    _, cfg = bench.parse_args(["--quick"])
    cfg = dict(cfg, lr_grid=(1e-3, 3e-3), sparsities=(0.5,))
    assert cfg["families"] == bench.FAMILIES

    def fake_job(clouds, y, train, test, params, seed):
        lr = params["learning_rate"]
        good = (lr == 3e-3) == (seed == 0)  # split 0 prefers 3e-3, split 1 prefers 1e-3
        return dict(test=1.0 - good, train=1.0, val=0.9 if good else 0.6, val_loss=0.1,
                    epochs=3, best_epoch=2, curve=[(0.5, 0.5)], achieved=params["sparsity"],
                    fit_cpu=1.0, predict_cpu=0.1)  # fmt: skip

    monkeypatch.setattr(bench, "network_job", fake_job)
    import numpy as np

    splits = [(np.arange(6), np.arange(6, 8))] * 2
    inputs = dict(nn=np.zeros((8, 4, 3)), y=np.array([0, 1] * 4))
    results = bench.run_networks("swiss_cheese", cfg, inputs, splits, lambda jobs: [
        job[0](*job[1], **job[2]) for job in jobs])  # fmt: skip
    picks = results["pointnet", None, 0.0]
    assert [p["lr"] for p in picks] == [3e-3, 1e-3] and [p["test"] for p in picks] == [0, 0]
    assert all(p["grid_cpu"] == 2.0 for p in picks)  # both grid points paid for
    soups = results["pointnet", "soup", 0.5]
    assert [r["lr"] for r in soups] == [3e-3, 1e-3]  # pruned nets reuse the split's choice
    assert bench.network_params(cfg, "pointnet", "nm", 0.9, 1e-3)["sparsity"] == 0.875


def test_classification_modes_and_overrides():
    bench = _load()
    _, cfg = bench.parse_args(["--full"])
    assert cfg["n_points"] == 1_000_000 and cfg["landmarks"] == (2_000,)
    assert cfg["n_clouds"] >= 200 and cfg["repeats"] >= 5 and cfg["nn_points"] >= 1_024
    assert cfg["sparsities"] == (0.5, 0.8, 0.9, 0.95)
    args, cfg = bench.parse_args(["--landmarks", "50,80", "--tol", "-1", "--sparsities", "0.7"])
    assert cfg["mode"] == "default" and cfg["landmarks"] == (50, 80) and args.tol is None
    assert cfg["sparsities"] == (0.7,) and cfg["repeats"] >= 5
    _, cfg = bench.parse_args(["--families", "flood,pointnet"])
    assert cfg["alpha_points"] == () and cfg["landmarks"] == (500, 2_000)
    for bad in (["--quick", "--full"], ["--landmarks", "0"], ["--sparsities", "1.5"],
                ["--n-clouds", "18"], ["--tasks", "bunny"], ["--jobs", "0"],
                ["--families", "flood,pruned"], ["--families", "vr"]):  # fmt: skip
        with pytest.raises(SystemExit):
            bench.parse_args(bad)
