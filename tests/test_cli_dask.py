"""``flood compute FILE --chunks/--workers/--scheduler``: one file read in chunks, on a local
Dask cluster or in this process, equals the single-process run with the same landmarks."""

import re

import gudhi
import numpy as np
import pytest

from flood import flood_complex
from flood._cli import main
from flood._memory import MEMORY_SHARE, WORKER_BASELINE
from flood.datasets import make_torus

N_LANDMARKS = 120
#: A worker's baseline (MiB), and a memory limit whose 80% leaves the tasks 3.2 MiB.
_BASE = WORKER_BASELINE // 2**20
_LIMIT = round((_BASE + 3.2) / MEMORY_SHARE)


@pytest.fixture(scope="module")
def torus_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli_dask") / "torus.npy"
    np.save(path, make_torus(20_000, noise=0.01, random_state=3))
    return path


def _compute(path, out, *options):
    argv = ["compute", str(path), "--landmarks", str(N_LANDMARKS), "--out", str(out), "--quiet"]
    assert main([*argv, *options]) == 0
    return np.load(out)


def _bottleneck(a, b):
    return max(gudhi.bottleneck_distance(a[q], b[q]) for q in ("H0", "H1", "H2"))


def test_chunks_alone_equal_the_single_process_run(torus_file, tmp_path):
    got = _compute(torus_file, tmp_path / "chunked.npz", "--chunks", "3001")
    X = np.load(torus_file)
    tol = float(got["tol"])
    ref = flood_complex(X, got["landmarks"], tol=tol, device="cpu")
    dgms = dict(zip(("H0", "H1", "H2"), ref.diagrams((0, 1, 2)), strict=True))
    assert _bottleneck(got, dgms) <= 2 * tol
    assert got["covering_radius"] == pytest.approx(ref.covering_radius, rel=0, abs=1e-15)
    # the torus: one long H1 bar of the tube and one of the hole, one H2 void
    h1 = got["H1"][:, 1] - got["H1"][:, 0]
    assert (h1 > 0.2).sum() == 2


def test_workers_equal_chunks_alone(torus_file, tmp_path):
    alone = _compute(torus_file, tmp_path / "alone.npz", "--chunks", "5000")
    cluster = _compute(torus_file, tmp_path / "cluster.npz", "--chunks", "5000", "--workers", "2")
    np.testing.assert_array_equal(alone["landmarks"], cluster["landmarks"])
    assert float(cluster["tol"]) == float(alone["tol"])
    assert _bottleneck(alone, cluster) <= 2 * float(alone["tol"])


@pytest.mark.parametrize(
    ("options", "match"),
    [
        (["--workers", "0"], r"--workers must be an int >= 1; got 0"),
        (["--chunks", "0"], r"--chunks must be an int >= 1 \(rows per chunk\); got 0"),
        (
            ["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"],
            r"--workers and --scheduler exclude each other",
        ),
        (["--scheduler", " "], r"--scheduler must be a scheduler address"),
        (["--memory-limit", "1GiB"], r"--memory-limit applies to the local cluster of --workers"),
        (
            ["--workers", "1", "--memory-limit", "lots"],
            r"--memory-limit must be a positive size such as 2GiB or 800MiB; got 'lots'",
        ),
        (["--work-dir", "."], r"--work-dir applies to chunked runs"),
        (["--chunks", "10", "--work-dir", "/no/such"], r"--work-dir must be an existing folder"),
        (  # a limit that leaves the tasks 3.2 MiB: 17,476 rows of 192 bytes
            ["--workers", "1", "--chunks", "20000", "--memory-limit", f"{_LIMIT}MiB", "--quiet"],
            rf"a chunk of 20,000 rows needs about {_BASE + 4} MiB on a dask worker .* over 80% "
            rf"of the workers' memory limit {_LIMIT} MiB\. Read the cloud in chunks of at most "
            r"17,476 rows",
        ),
        (
            ["--workers", "1", "--memory-limit", f"{_BASE}MiB", "--quiet"],
            rf"a dask worker holds about {_BASE} MiB before its first task",
        ),
    ],
)
def test_bad_dask_options_exit_2_naming_the_option(torus_file, tmp_path, capsys, options, match):
    status = main(["compute", str(torus_file), "--out", str(tmp_path / "o.npz"), *options])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("flood: error: ")
    assert len(err.strip().splitlines()) == 1
    assert re.search(match, err), err


def test_chunks_of_a_format_without_chunked_reads_is_refused(tmp_path, capsys):
    path = tmp_path / "cloud.xyz"
    np.savetxt(path, np.random.default_rng(0).uniform(size=(50, 3)))
    status = main(["compute", str(path), "--chunks", "10", "--out", str(tmp_path / "o.npz")])
    err = capsys.readouterr().err
    assert status == 2
    assert "chunks" in err and "cloud.xyz" in err, err


def test_unreachable_scheduler_exits_2(torus_file, tmp_path, capsys):
    status = main(
        [
            "compute",
            str(torus_file),
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--out",
            str(tmp_path / "o.npz"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert "--scheduler tcp://127.0.0.1:9: cannot connect" in err, err


def test_work_dir_and_memory_limit_are_used(torus_file, tmp_path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    got = _compute(
        torus_file,
        tmp_path / "o.npz",
        "--chunks",
        "5000",
        "--workers",
        "1",
        "--memory-limit",
        "900MiB",
        "--work-dir",
        str(work),
    )
    assert list(work.iterdir()) == []  # the tiles were written there and removed
    assert "H2" in got
