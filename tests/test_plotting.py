"""flood.plotting: diagrams, barcodes and complexes on the Agg backend."""

import matplotlib  # noqa: E402
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from flood import flood_complex  # noqa: E402
from flood.datasets import make_circle, make_torus  # noqa: E402
from flood.plotting import plot_barcode, plot_complex, plot_diagrams  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def circle_result():
    return flood_complex(make_circle(300, noise=0.02, random_state=0), 25, device="cpu")


@pytest.fixture(scope="module")
def torus_result():
    return flood_complex(make_torus(800, random_state=0), 40, device="cpu", random_state=0)


def _collection(ax, label):
    (found,) = [c for c in ax.collections if c.get_label() == label]
    return found


def test_plotting_is_not_a_core_import():
    import subprocess
    import sys

    code = "import sys, flood; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plot_complex_2d_colours_follow_filtration(circle_result, tmp_path):
    ax = plot_complex(circle_result, dims=(0, 1, 2))
    assert ax.name != "3d"
    edges = _collection(ax, "1-simplices")
    np.testing.assert_array_equal(edges.get_array(), circle_result.filtration[1])
    assert len(edges.get_segments()) == len(circle_result.simplices[1])
    # the segment of edge k joins the landmarks of simplices[1][k]
    k = int(np.argmax(circle_result.filtration[1]))
    seg = np.asarray(edges.get_segments()[k])
    np.testing.assert_allclose(seg, circle_result.landmarks[circle_result.simplices[1][k]])
    # colours are the colour map of the normalised filtration values
    rgba = edges.to_rgba(edges.get_array())
    expected = plt.get_cmap("viridis")(edges.norm(circle_result.filtration[1]))
    np.testing.assert_allclose(rgba, expected)
    assert edges.norm.vmax == pytest.approx(max(f.max() for f in circle_result.filtration))
    triangles = _collection(ax, "2-simplices")
    np.testing.assert_array_equal(triangles.get_array(), circle_result.filtration[2])
    vertices = _collection(ax, "0-simplices")
    assert len(vertices.get_offsets()) == len(circle_result.landmarks)
    path = tmp_path / "complex.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 1000


def test_plot_complex_3d_and_threshold(torus_result, tmp_path):
    cut = float(np.median(torus_result.filtration[1]))
    ax = plot_complex(torus_result, max_filtration=cut, cmap="magma", colorbar=False)
    assert ax.name == "3d"
    edges = _collection(ax, "1-simplices")
    kept = torus_result.filtration[1] <= cut
    np.testing.assert_array_equal(edges.get_array(), torus_result.filtration[1][kept])
    assert edges.get_cmap().name == "magma"
    assert edges.norm.vmax == pytest.approx(cut)
    path = tmp_path / "torus.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 1000


def test_plot_complex_rejects_bad_input(circle_result, torus_result):
    with pytest.raises(ValueError, match="'dims' parameter of plot_complex"):
        plot_complex(circle_result, dims=(3,))
    with pytest.raises(ValueError, match="needs a 3-D axes"):
        _, ax = plt.subplots()
        plot_complex(torus_result, ax=ax)
    with pytest.raises(ValueError, match="needs a 2-D axes"):
        ax = plt.figure().add_subplot(projection="3d")
        plot_complex(circle_result, ax=ax)


def test_diagrams_and_barcode_with_inf_deaths(tmp_path):
    diagrams = [
        np.array([[0.0, 0.3], [0.0, 0.5], [0.0, np.inf]]),
        np.array([[0.2, 0.9], [0.4, 0.45]]),
        np.empty((0, 2)),
    ]
    ax = plot_diagrams(diagrams, title="dgm")
    offsets = ax.collections[0].get_offsets()
    assert np.isfinite(offsets).all()
    assert offsets[:, 1].max() == pytest.approx(0.9 * 1.1)  # inf drawn above the top
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["H0 (3)", "H1 (2)", "H2 (0)"]
    ax.figure.savefig(tmp_path / "dgm.png")
    ax = plot_barcode(diagrams, homology_dimensions=[0, 1, 2])
    assert len(ax.lines) >= 5 and all(np.isfinite(line.get_xdata()).all() for line in ax.lines)
    ax.figure.savefig(tmp_path / "bars.png")
    assert (tmp_path / "dgm.png").stat().st_size > 1000
    assert (tmp_path / "bars.png").stat().st_size > 1000


def test_plot_diagrams_of_a_real_result(circle_result):
    ax = plot_diagrams(circle_result.diagrams((0, 1)), homology_dimensions=(0, 1))
    assert len(ax.collections) == 2


def test_legend_labels_come_from_the_diagrams_own_dimensions(circle_result):
    ax = plot_diagrams(circle_result.diagrams((1,)))
    n = len(circle_result.diagrams((1,))[0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [f"H1 ({n})"]
    plt.close("all")
    ax = plot_barcode(circle_result.diagrams((1, 0)))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("H1 (") and labels[1].startswith("H0 (")
    with pytest.raises(ValueError, match=r"'homology_dimensions' parameter of plot_diagrams "):
        plot_diagrams(circle_result.diagrams((0, 1)), homology_dimensions=(1,))


def test_infinite_deaths_sit_on_a_labelled_infinity_line(circle_result, tmp_path):
    dgms = circle_result.diagrams((0, 1))
    ax = plot_diagrams(dgms)
    top = max(float(d[np.isfinite(d)].max()) for d in dgms)
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 1
    level = dashed[0].get_ydata()[0]
    assert top < level <= 1.2 * top
    ticks = dict(zip(ax.get_yticks(), [t.get_text() for t in ax.get_yticklabels()]))
    assert ticks[level] == "\u221e" and list(ticks.values()).count("\u221e") == 1
    assert all(t < level for t, label in ticks.items() if label != "\u221e")
    h0 = ax.collections[0].get_offsets()
    assert np.isinf(dgms[0][:, 1]).sum() == (h0[:, 1] == level).sum() == 1
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("birth (radius)", "death (radius)")
    diagonal = [line for line in ax.lines if line.get_linestyle() == "-"]
    assert len(diagonal) == 1 and np.array_equal(*diagonal[0].get_data())
    ax.figure.savefig(tmp_path / "dgm.png")
    plt.close("all")
    ax = plot_barcode(dgms)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[-1] == "\u221e" and ax.get_xticks()[-1] == pytest.approx(level)


def test_no_infinity_line_without_infinite_deaths():
    ax = plot_diagrams([np.array([[0.1, 0.4]])], homology_dimensions=[1])
    assert not [line for line in ax.lines if line.get_linestyle() == "--"]
    assert "\u221e" not in [t.get_text() for t in ax.get_yticklabels()]
