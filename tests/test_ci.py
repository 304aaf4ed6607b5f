"""CI checks what the style promises: ruff (lint and format) runs before the tests."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_ci_runs_ruff_check_and_format_before_the_tests():
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    lint = commands.index("python -m ruff check .")
    form = commands.index("python -m ruff format --check .")
    tests = next(i for i, c in enumerate(commands) if c.startswith("python -m pytest"))
    assert lint < tests and form < tests
    # ... and the test extra installs ruff.
    test_extra = re.search(r"\ntest = \[(.*?)\n\]", (ROOT / "pyproject.toml").read_text(), re.S)
    assert '"ruff' in test_extra.group(1)
