"""flood compute/demo --features N --report FILE.html."""

import csv

import numpy as np
import pytest

from flood._cli import main
from flood.datasets import make_swiss_cheese

pytest.importorskip("oineus")


@pytest.fixture(scope="module")
def cheese_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cheese") / "cheese.npy"
    X, centres, radii = make_swiss_cheese(
        40_000, n_voids=4, radii=(0.5, 0.8), return_voids=True, random_state=0
    )
    np.save(path, X)
    return path, centres, radii


def test_compute_features_prints_and_writes_csv(cheese_file, capsys):
    path, centres, radii = cheese_file
    assert main(["compute", str(path), "--landmarks", "300", "--quiet", "--features", "4"]) == 0
    out = capsys.readouterr().out
    assert "4 most persistent holes" in out
    table = path.with_name("cheese_npy_diagrams_features.csv")
    assert f"wrote {table}" in out
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == 4 and all(r["dimension"] == "2" for r in rows)
    found = np.array([[float(r[f"centre_{j}"]) for j in range(3)] for r in rows])
    dist = np.linalg.norm(found[:, None] - centres[None], axis=2)
    assert sorted(dist.argmin(axis=1)) == [0, 1, 2, 3] and dist.min(axis=1).max() < 0.1
    assert all(len(r["death_simplex"].split()) == 4 and int(r["cycle_simplices"]) > 3 for r in rows)


def test_report_option_writes_html(cheese_file, tmp_path, capsys):
    path, *_ = cheese_file
    report = tmp_path / "r.html"
    args = ["compute", str(path), "--landmarks", "200", "--quiet", "--out", str(tmp_path / "d")]
    assert main([*args, "--report", str(report)]) == 0
    assert report.stat().st_size < 1_000_000 and "wrote " + str(report) in capsys.readouterr().out


@pytest.mark.parametrize(
    "option, message",
    [(["--features", "-1"], "--features must be an int >= 0"), (["--report", "r.txt"], "--report")],
)
def test_bad_options_are_refused_before_work(cheese_file, tmp_path, option, message, capsys):
    path, *_ = cheese_file
    assert main(["compute", str(path), "--quiet", *option]) == 2
    assert message in capsys.readouterr().err
