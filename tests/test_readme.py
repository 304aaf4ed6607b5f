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
