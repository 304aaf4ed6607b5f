"""The offline HTML report: self-contained, small for big clouds, rendered by Chromium."""

import shutil
import subprocess

import numpy as np
import pytest

from flood import flood_complex, write_report
from flood.datasets import make_torus

pytest.importorskip("oineus")
CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium")


@pytest.fixture(scope="module")
def torus():
    X = make_torus(5_000, random_state=0)
    return X, flood_complex(X, 200, random_state=0, device="cpu")


def test_report_is_offline_and_small_for_a_million_points(torus, tmp_path):
    X, res = torus
    big = np.random.default_rng(0).normal(size=(1_000_000, 3))  # only its size matters
    size = write_report(res, tmp_path / "r.html", big, top=20)
    text = (tmp_path / "r.html").read_text()
    assert size == len(text.encode()) and size < 3_000_000  # 20,000 drawn points
    assert "http://" not in text and "https://" not in text and "src=" not in text
    assert '"n_points":1000000' in text


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium-headless-shell or chromium")
def test_report_renders_in_headless_chromium(torus, tmp_path):
    """The page's script ran to its end (it marks the body) with nothing on the console
    (Chromium logs console messages and uncaught errors to stderr as ``CONSOLE`` lines),
    and the screenshot is not blank: many distinct colours (points grey, the selected cycle
    orange)."""
    X, res = torus
    path = tmp_path / "r.html"
    write_report(res, path, X, top=5)
    flags = [CHROMIUM, "--no-sandbox", "--disable-gpu", "--window-size=1200,800"]
    dom = subprocess.run(
        [*flags, "--enable-logging=stderr", "--v=0", "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert 'data-rendered="yes"' in dom.stdout
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", path.as_uri()], capture_output=True, timeout=120
    )
    import matplotlib.image

    img = matplotlib.image.imread(shot)[..., :3]
    orange = (img[..., 0] > 0.8) & (img[..., 1] > 0.25) & (img[..., 1] < 0.5) & (img[..., 2] < 0.2)
    assert img.std() > 0.05 and orange.sum() > 200
