"""The ``flood`` command: bad files and options give status 2 and one line, no traceback."""

import pathlib
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
    # A text file's extra columns are attributes (issue 12, point 2): 7 coordinates need .npy.
    "seven.npy": (
        lambda folder, name, cloud: np.save(folder / name, np.ones((9, 7))) or folder / name,
        r"seven\.npy has shape \(9, 7\); expected \(n_points, dim\) with 1 <= dim <= 6",
    ),
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
        (["--landmarks", "0"], r"error: --landmarks must be an int in the range \[1, inf\)"),
        (["--landmarks", "3"], r"error: 3 landmark\(s\) .* --landmarks must be at least dim"),
        (["--tol", "-1"], r"error: --tol must be a float in the range \[0, inf\)"),
        (["--device", "tpu"], r"error: --device must be 'cpu', 'cuda'"),
        (["--dims", "0,x"], r"--dims must be comma-separated ints; got '0,x'"),
        (["--dims", "0,0,1"], r"--dims must hold distinct ints; 0 is repeated"),
        (["--dims", "-1"], r"--dims must be an int or a non-empty .* Got \[-1\] instead"),
        (["--min-persistence", "-1"], r"--min-persistence must be a float in the range \[0"),
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
        "flood: warning: --landmarks 60 exceeds the number of points (40); using all 40 points "
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
    monkeypatch.setitem(sys.modules, "laspy", None)  # PLY/PCD need no dependency: LAS does
    path = write(tmp_path, "c.las", "LASF")
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


def _compute(tmp_path, cloud, *options, name="c.npy"):
    path = tmp_path / name
    np.save(path, cloud)
    return main(["compute", str(path), "--landmarks", "12", "--quiet", *options])


@pytest.mark.parametrize(
    ("option", "value", "match"),
    [
        ("--out", "{tmp}/missing/d.npz", r"--out '.*missing/d\.npz': the folder '.*missing'"),
        ("--out", "{tmp}/d.txt", r"--out must name a \.npz file\. Got '.*d\.txt' instead"),
        ("--out", "{tmp}", r"--out .* is a folder; expected a file name"),
        ("--plot", "{tmp}/missing/p.png", r"--plot '.*missing/p\.png': the folder"),
        ("--plot", "{tmp}/p.npz", r"--plot must name a \.png or \.pdf or \.svg file"),
    ],
)
def test_output_paths_are_checked_before_the_work(
    tmp_path, capsys, cloud, monkeypatch, option, value, match
):
    def no_work(*args, **kwargs):
        raise AssertionError("the computation started")

    monkeypatch.setattr("flood._cli.flood_complex", no_work)
    assert _compute(tmp_path, cloud, option, value.format(tmp=tmp_path)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(match, err), err


def test_unwritable_output_folder_is_refused_before_the_work(tmp_path, capsys, cloud, monkeypatch):
    """A folder the user may not write to (simulated: CI runs as root, who may write anywhere)."""
    import os
    import pathlib

    locked = tmp_path / "locked"
    locked.mkdir()
    access = os.access
    monkeypatch.setattr(
        "os.access", lambda path, mode: pathlib.Path(path) != locked and access(path, mode)
    )
    assert _compute(tmp_path, cloud, "--out", str(locked / "d.npz")) == 2
    assert "no permission to write there" in capsys.readouterr().err


def test_printed_names_are_the_written_names(tmp_path, capsys, cloud):
    status = _compute(tmp_path, cloud, "--out", str(tmp_path / "d"), "--plot", str(tmp_path / "p"))
    assert status == 0
    wrote = [
        line[len("wrote ") :]
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("wrote ")
    ]
    assert wrote == [str(tmp_path / "d.npz"), str(tmp_path / "p.png")]
    assert all(pathlib.Path(w).is_file() for w in wrote)


def test_default_output_names_differ_per_input_file(tmp_path, capsys, cloud):
    np.savetxt(tmp_path / "torus.xyz", cloud)
    np.save(tmp_path / "torus.npy", cloud)
    for name in ("torus.xyz", "torus.npy"):
        assert main(["compute", str(tmp_path / name), "--landmarks", "12", "--quiet"]) == 0
    out = capsys.readouterr().out
    for tag in ("xyz", "npy"):
        written = tmp_path / f"torus_{tag}_diagrams.npz"
        assert f"wrote {written}" in out and written.is_file()


def test_version_comes_from_the_one_version_source(capsys):
    from flood._version import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"flood {__version__}"


def test_every_argument_has_help_and_shows_its_default():
    import argparse

    from flood._cli import _parser

    parser = _parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in sub.choices.items():
        text = command.format_help()
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, (name, action.dest)
            if action.option_strings and action.default is not False:
                option = action.option_strings[0]
                options = text[text.index("options:") :]
                block = options[options.index(option) :].split("\n  -")[0]
                assert "default" in block, (name, option, block)


def test_dims_the_points_cannot_have_warn_once_and_are_empty(tmp_path, capsys, cloud):
    assert _compute(tmp_path, cloud, "--dims", "1,3", "--out", str(tmp_path / "d.npz")) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "flood: warning: homology dimension(s) 3 of 3-D points: H_q of a subset of R^3 is 0 "
        "for q >= 3, so their diagrams are empty."
    ]
    with np.load(tmp_path / "d.npz") as d:
        assert d["H3"].shape == (0, 2) and len(d["H1"]) > 0


def test_min_persistence_option_leaves_out_short_pairs(tmp_path, cloud):
    assert _compute(tmp_path, cloud, "--out", str(tmp_path / "all.npz")) == 0
    assert (
        _compute(tmp_path, cloud, "--min-persistence", "0.02", "--out", str(tmp_path / "cut.npz"))
        == 0
    )
    with np.load(tmp_path / "all.npz") as a, np.load(tmp_path / "cut.npz") as c:
        for q in ("H0", "H1", "H2"):
            keep = a[q][:, 1] - a[q][:, 0] > 0.02
            np.testing.assert_array_equal(c[q], a[q][keep])
        assert float(c["min_persistence"]) == 0.02


# --- Coordinates vs attributes (issue 12, point 2): --columns and the one-line description.
def _normals_file(tmp_path, cloud):
    path = tmp_path / "n.xyz"
    np.savetxt(path, np.hstack([cloud, cloud / np.linalg.norm(cloud, axis=1, keepdims=True)]))
    return path


def test_compute_says_what_it_read_before_the_work(tmp_path, capsys, cloud):
    path = _normals_file(tmp_path, cloud)
    out = str(tmp_path / "d.npz")
    assert main(["compute", str(path), "--landmarks", "12", "--out", out, "--dims", "0"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"read {path}: 200 points x 3 (columns 0, 1, 2; ignored: 3, 4, 5)"
    assert main(["compute", str(path), "--landmarks", "12", "--out", out, "--quiet"]) == 0
    assert "read" not in capsys.readouterr().err


@pytest.mark.parametrize(("columns", "picked"), [("0,1", [0, 1]), ("z,x", [2, 0])])
def test_columns_option_chooses_the_coordinates(tmp_path, capsys, cloud, columns, picked):
    path = tmp_path / "c.csv"
    path.write_text("x,y,z,nx\n" + "".join(f"{a:.17g},{b:.17g},{c:.17g},1\n" for a, b, c in cloud))
    out = str(tmp_path / "d.npz")
    assert (
        main(["compute", str(path), "--landmarks", "12", "--columns", columns, "--out", out]) == 0
    )
    names = ", ".join("xyz"[i] for i in picked)
    ignored = ", ".join(["xyz"[i] for i in range(3) if i not in picked] + ["nx"])
    line = capsys.readouterr().err.splitlines()[0]
    assert line == f"read {path}: 200 points x 2 (columns {names}; ignored: {ignored})"
    with np.load(out) as d:  # 2-D points: H0 and H1 only, landmarks from the chosen columns
        assert sorted(k for k in d.files if k.startswith("H")) == ["H0", "H1"]
        assert all(any(np.allclose(row, p) for p in cloud[:, picked]) for row in d["landmarks"])


@pytest.mark.parametrize("columns", ["0,9", "x,w", "1,1", ""])
def test_bad_columns_option_is_one_line_naming_the_option(tmp_path, capsys, cloud, columns):
    path = _normals_file(tmp_path, cloud)
    assert main(["compute", str(path), "--columns", columns, "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("flood: error: --columns must "), err
