"""The ``flood`` command: bad files and options give status 2 and one line, no traceback."""

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from flood._cli import main


@pytest.fixture
def cloud():
    return np.random.default_rng(0).uniform(size=(200, 3))


def write(folder, name, content):
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def truncated(folder, name, cloud):
    good = folder / ("good" + name[-4:])
    (np.save if name.endswith(".npy") else np.savez)(good, cloud)
    data = good.read_bytes()
    return write(folder, name, data[: len(data) // 2])


CASES = {
    "trunc.npy": (truncated, r"trunc\.npy: not a readable \.npy file"),
    "trunc.npz": (truncated, r"trunc\.npz: not a readable \.npz file"),
    "empty.txt": ("", r"empty\.txt: no points found"),
    "empty.npy": (b"", r"empty\.npy: not a readable \.npy file"),
    "cols.txt": ("1 2 3\n4 5\n6 7 8\n", r"cols\.txt: line 2 has 2 columns; expected 3"),
    "nan.csv": ("x,y,z\n1,2,3\nnan,1,2\n4,5,6\n", r"nan\.csv: line 3 contains a non-finite"),
    "words.xyz": ("1 2 3\na b c\n", r"words\.xyz: line 2 has a value that is not a number"),
    "few.txt": ("1 2 3\n4 5 6\n", r"cannot span a 3-D .*few\.txt has only 2 point\(s\)"),
    "seven.txt": ("1 2 3 4 5 6 7\n" * 9, r"seven\.txt must have between 1 and 6 coordinates"),
    "cloud.foo": ("1 2 3\n", r"unknown point-cloud extension '\.foo'"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_files_exit_2_with_one_line(tmp_path, capsys, cloud, name):
    content, match = CASES[name]
    path = content(tmp_path, name, cloud) if callable(content) else write(tmp_path, name, content)
    status = main(["compute", str(path), "--landmarks", "8", "--quiet"])
    out, err = capsys.readouterr()
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("flood: error: "), err
    assert "Traceback" not in err
    assert re.search(match, lines[0]), lines[0]


def test_missing_file(tmp_path, capsys):
    assert main(["compute", str(tmp_path / "nope.npy")]) == 2
    assert capsys.readouterr().err.strip() == f"flood: error: {tmp_path / 'nope.npy'}: no such file"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        (["--landmarks", "0"], r"'landmarks' parameter must be an int in the range \[1, inf\)"),
        (["--tol", "-1"], r"'tol' parameter must be a float in the range \[0, inf\)"),
        (["--device", "tpu"], r"'device' parameter must be 'cpu', 'cuda'"),
        (["--dims", "0,x"], r"--dims must be comma-separated ints; got '0,x'"),
        (["--dims", "0,7"], r"--dims must be homology dimensions in the range \[0, 3\] .* got 7"),
    ],
)
def test_bad_options_exit_2(tmp_path, capsys, cloud, options, match):
    path = tmp_path / "c.npy"
    np.save(path, cloud)
    landmarks = [] if "--landmarks" in options else ["--landmarks", "8"]
    assert main(["compute", str(path), "--quiet", *landmarks, *options]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert re.search(match, err), err


def test_usage_errors_return_2(capsys):
    assert main(["compute"]) == 2
    assert main(["compute", "x.npy", "--landmarks", "many"]) == 2
    assert "invalid int value" in capsys.readouterr().err
    assert main(["--help"]) == 0


def test_compute_writes_diagrams_and_warns_in_one_line(tmp_path, capsys, cloud):
    path = tmp_path / "c.npy"
    np.save(path, cloud[:40])
    out = tmp_path / "d.npz"
    status = main(["compute", str(path), "--landmarks", "60", "--quiet", "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert captured.err.strip() == (
        "flood: warning: landmarks=60 exceeds the number of points (40); using all 40 points "
        "as landmarks."
    )
    with np.load(out) as d:
        assert set(d.files) >= {"H0", "H1", "H2", "landmarks"}
        assert d["landmarks"].shape == (40, 3)


def test_missing_plot_dependency_names_the_extra(tmp_path, capsys, cloud, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    path = tmp_path / "c.npy"
    np.save(path, cloud)
    status = main(["compute", str(path), "--quiet", "--plot", str(tmp_path / "p.png")])
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err == "flood: error: plotting needs matplotlib: pip install flood-tda[plot]"


def test_missing_io_dependency_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "open3d", None)
    path = write(tmp_path, "c.ply", "ply\n")
    assert main(["compute", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("flood: error: ") and "pip install flood-tda[io]" in err


def test_console_script_on_a_malformed_file(tmp_path):
    path = write(tmp_path, "bad.csv", "x,y,z\n1,2,3\n4,5\n")
    exe = shutil.which("flood")
    cmd = [exe] if exe else [sys.executable, "-m", "flood._cli"]
    proc = subprocess.run(
        [*cmd, "compute", str(path), "--quiet"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"flood: error: {path}: line 3 has 2 columns; expected 3"
    )
