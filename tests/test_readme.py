"""The README's Python examples run as written."""

import pathlib
import re

import numpy as np

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples():
    assert len(python_blocks()) >= 2


def test_readme_examples_run():
    blocks = python_blocks()
    first = {}
    exec(compile(blocks[0], "README-1", "exec"), first)
    assert first["res"].max_gap <= first["res"].tol
    assert [len(d) > 0 for d in (first["h0"], first["h1"], first["h2"])] == [True] * 3
    assert np.isinf(first["h0"][:, 1]).sum() == 1
    second = {}
    exec(compile(blocks[1], "README-2", "exec"), second)
    assert second["search"].best_score_ > 0.8


def test_readme_dask_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # it writes torus.npy
    blocks = python_blocks()
    assert len(blocks) >= 3
    third = {}
    exec(compile(blocks[2], "README-3", "exec"), third)
    res = third["res"]
    assert res.max_gap <= res.tol
    assert len(res.landmarks) == 300
    X = np.load(tmp_path / "torus.npy")
    cover = max(  # brute force over X, 10,000 rows at a time
        np.sqrt(((X[i : i + 10_000, None] - res.landmarks[None]) ** 2).sum(-1)).min(1).max()
        for i in range(0, len(X), 10_000)
    )
    assert abs(res.covering_radius - cover) <= 1e-12 * cover
    h1 = res.diagrams(1)[0]
    assert ((h1[:, 1] - h1[:, 0]) > 0.2).sum() == 2  # the torus's two long H1 bars
