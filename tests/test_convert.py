"""flood's diagrams to and from giotto-tda's padded triples and persim's lists: round trips,
giotto's padding rule, shapes and refusals."""

import importlib.util
import pathlib

import numpy as np
import pytest

import flood
from flood._diagrams import Diagrams

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "giotto_pipeline.py"

# giotto-tda 0.6.2's own output (scikit-learn 1.3.2, numpy 1.26, in a separate virtualenv:
# giotto-tda pins scikit-learn==1.3.2, so it cannot be a test dependency here):
# VietorisRipsPersistence(homology_dimensions=(0, 1, 2)).fit_transform(clouds) on three
# clouds of 5, 8 and 6 points. H1 is padded with its smallest birth over the samples (not 0),
# H2, empty everywhere, with one (0, 0, 2) point per sample; giotto drops H0's essential bar.
_B = 0.6733498573303223  # the one H1 birth, in every sample
GIOTTO_VR = np.array(
    [
        [
            [0.0, 0.6277738213539124, 0],
            [0.0, 0.639218270778656, 0],
            [0.0, 0.7009992599487305, 0],
            [0.0, 0.7629547715187073, 0],
            [0.0, 0.0, 0],
            [0.0, 0.0, 0],
            [0.0, 0.0, 0],
            [_B, _B, 1],
            [0.0, 0.0, 2],
        ],
        [
            [0.0, 0.22226110100746155, 0],
            [0.0, 0.22759613394737244, 0],
            [0.0, 0.40632498264312744, 0],
            [0.0, 0.45694637298583984, 0],
            [0.0, 0.4990991950035095, 0],
            [0.0, 0.5309425592422485, 0],
            [0.0, 0.5900847315788269, 0],
            [_B, 0.7131619453430176, 1],
            [0.0, 0.0, 2],
        ],
        [
            [0.0, 0.3196873366832733, 0],
            [0.0, 0.33271610736846924, 0],
            [0.0, 0.39370039105415344, 0],
            [0.0, 0.42201894521713257, 0],
            [0.0, 0.6057227253913879, 0],
            [0.0, 0.0, 0],
            [0.0, 0.0, 0],
            [_B, _B, 1],
            [0.0, 0.0, 2],
        ],
    ]
)


def _unpadded(X):
    """The off-diagonal pairs of each sample and dimension, written out independently."""
    return [[x[(x[:, 2] == q) & (x[:, 1] > x[:, 0]), :2] for q in (0, 1, 2)] for x in np.asarray(X)]


def _random_samples(seed, n_samples=4, dims=(0, 1, 2)):
    """flood-like diagrams: H0 with one essential class, random sizes (some empty)."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n_samples):
        sample = []
        for q in dims:
            n = int(rng.integers(0, 6))
            birth = rng.random(n) if q else np.zeros(n)
            pairs = np.column_stack([birth, birth + 0.01 + rng.random(n)])
            if q == 0:
                pairs = np.vstack([pairs, [[0.0, np.inf]]])
            sample.append(pairs)
        samples.append(sample)
    return samples


def _assert_same(got, expected, dims):
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert isinstance(g, Diagrams) and g.homology_dimensions == tuple(dims)
        for a, b in zip(g, e, strict=True):
            assert a.dtype == np.float64 and a.shape == np.shape(b)
            np.testing.assert_array_equal(a, b)


def test_to_giotto_pads_as_giotto_does():
    X = flood.to_giotto(_unpadded(GIOTTO_VR))
    assert X.shape == (3, 9, 3) and X.dtype == np.float64
    np.testing.assert_array_equal(X, GIOTTO_VR)


def test_from_giotto_reads_giottos_output():
    out = flood.from_giotto(GIOTTO_VR)
    assert [[len(d) for d in s] for s in out] == [[4, 0, 0], [7, 1, 0], [5, 0, 0]]
    _assert_same(out, _unpadded(GIOTTO_VR), (0, 1, 2))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("dims", [(0, 1, 2), (1,), (2, 0)])
def test_giotto_round_trip_keeps_inf(seed, dims):
    samples = _random_samples(seed, dims=dims)
    X = flood.to_giotto(samples, homology_dimensions=dims)
    n_points = sum(max(max(len(s[j]) for s in samples), 1) for j in range(len(dims)))
    assert X.shape == (len(samples), n_points, 3)
    assert (0 in dims) == bool(np.isinf(X[:, :, 1]).any())
    _assert_same(flood.from_giotto(X), samples, dims)


@pytest.mark.parametrize("seed", range(5))
def test_giotto_round_trip_with_finite_infinity_values(seed):
    samples = _random_samples(seed)
    X = flood.to_giotto(samples, infinity_values=5.0)  # every finite death is below 2
    assert np.isfinite(X).all() and (X[:, :, 1] == 5.0).sum() == len(samples)
    _assert_same(flood.from_giotto(X, infinity_values=5.0), samples, (0, 1, 2))
    # read without the value, the essential classes stay finite pairs dying at 5
    assert all(d[0][-1, 1] == 5.0 for d in flood.from_giotto(X))


def test_giotto_padding_rule():
    a = [np.array([[0.0, 1.0], [0.0, np.inf]]), np.array([[0.3, 0.5], [0.2, 0.4]])]
    b = [np.array([[0.0, 2.0]]), np.array([[0.7, 0.9]])]
    X = flood.to_giotto([a, b])
    # H0: 2 points each, padded with (0, 0, 0); H1: 2 each, padded with the smallest birth 0.2
    np.testing.assert_array_equal(X[1], [[0, 2, 0], [0, 0, 0], [0.7, 0.9, 1], [0.2, 0.2, 1]])
    np.testing.assert_array_equal(X[0, :, :2], np.vstack(a))
    # a dimension empty in every sample still gets one (0, 0, q) point per sample
    X = flood.to_giotto([[np.empty((0, 2))], [np.empty((0, 2))]], homology_dimensions=(3,))
    np.testing.assert_array_equal(X, [[[0, 0, 3]], [[0, 0, 3]]])
    assert [d.homology_dimensions for d in flood.from_giotto(X)] == [(3,), (3,)]


def test_giotto_drops_pairs_on_the_diagonal_as_giotto_does():
    X = flood.to_giotto([[np.array([[0.0, 0.0], [0.0, 1.0]])]])
    np.testing.assert_array_equal(X, [[[0, 1, 0]]])


def test_to_giotto_takes_flood_complex_output_and_recorded_dimensions():
    from flood.datasets import make_circle

    clouds = [make_circle(200, random_state=i) for i in range(2)]
    fc = flood.FloodComplex(n_landmarks=20, homology_dimensions=(0, 1), device="cpu")
    dgms = fc.fit_transform(clouds)
    X = flood.to_giotto(dgms)
    assert X.shape[0] == 2 and set(np.unique(X[:, :, 2])) == {0.0, 1.0}
    _assert_same(flood.from_giotto(X), dgms, (0, 1))
    res = flood.flood_complex(clouds[0], landmarks=20, device="cpu", random_state=0)
    recorded = res.diagrams((1, 0))
    _assert_same(flood.from_giotto(flood.to_giotto([recorded])), [recorded], (1, 0))


@pytest.mark.parametrize("dims", [(0, 1, 2), (1, 2), (2,), (2, 0)])
def test_persim_round_trip(dims):
    sample = _random_samples(1, n_samples=1, dims=dims)[0]
    dgms = flood.to_persim(Diagrams(sample, dims))
    assert len(dgms) == max(dims) + 1
    assert all(dgms[q].shape == (0, 2) for q in range(max(dims) + 1) if q not in dims)
    _assert_same([flood.from_persim(dgms, homology_dimensions=dims)], [sample], dims)
    assert flood.from_persim(dgms).homology_dimensions == tuple(range(max(dims) + 1))


def test_persim_list_is_ripsers_with_inf_kept():
    h0 = np.array([[0.0, 0.3], [0.0, np.inf]])
    dgms = flood.to_persim([h0, np.array([[0.4, 0.9]])])
    assert np.isinf(dgms[0][1, 1]) and dgms[0] is not h0
    np.testing.assert_array_equal(flood.from_persim([h0, np.empty(0)])[1], np.empty((0, 2)))


def test_persim_functions_take_the_converted_diagrams():
    persim = pytest.importorskip("persim")
    a = flood.to_persim([np.array([[0.0, 0.3], [0.0, np.inf]]), np.array([[0.4, 0.9]])])
    b = flood.to_persim([np.array([[0.0, 0.35], [0.0, np.inf]]), np.array([[0.4, 0.8]])])
    assert persim.bottleneck(a[1], b[1]) == pytest.approx(0.1)
    assert persim.wasserstein(a[1], b[1]) == pytest.approx(0.1)
    assert persim.bottleneck(a[1], flood.to_persim(flood.from_persim(a))[1]) == 0.0
    with pytest.warns(UserWarning, match="non-finite"):  # persim ignores essential classes
        assert persim.bottleneck(a[0], b[0]) == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: flood.to_giotto(np.zeros((2, 3, 2))), TypeError, "'diagrams' parameter"),
        (lambda: flood.to_giotto([]), ValueError, ">= 1 sample"),
        (lambda: flood.to_giotto([np.zeros((2, 2))]), ValueError, r"diagrams\[0\] is one array"),
        (lambda: flood.to_giotto([[np.zeros((2, 3))]]), ValueError, r"shape \(2, 3\)"),
        (lambda: flood.to_giotto([[[[1.0, 0.5]]]]), ValueError, "death < birth"),
        (lambda: flood.to_giotto([[[[np.nan, 1.0]]]]), ValueError, "NaN"),
        (lambda: flood.to_giotto([[["a", "b"]]]), TypeError, "not a real array"),
        (lambda: flood.to_giotto([[[[0, 1]]], [[], []]]), ValueError, "has 2 diagram"),
        (lambda: flood.to_giotto([[[[0, 1]]]], (1, 1)), ValueError, "distinct"),
        (lambda: flood.to_giotto([[[[0, 1]]]], infinity_values=np.nan), ValueError, "inf"),
        (
            lambda: flood.to_giotto([[[[2.0, np.inf]]]], infinity_values=1.0),
            ValueError,
            "exceed the birth",
        ),
        (
            lambda: flood.to_giotto([Diagrams([[]], (0,)), Diagrams([[]], (1,))]),
            ValueError,
            "different homology dimensions",
        ),
        (lambda: flood.to_giotto([[], []]), ValueError, "holds no diagram"),
        (lambda: flood.from_giotto([[[0, 1, 0]]], infinity_values=-np.inf), ValueError, "-inf"),
        (lambda: flood.from_giotto(np.zeros((3, 3))), ValueError, r"Got shape \(3, 3\)"),
        (lambda: flood.from_giotto(np.zeros((0, 1, 3))), ValueError, "n_samples >= 1"),
        (lambda: flood.from_giotto("X"), TypeError, "'X' parameter"),
        (lambda: flood.from_giotto([[[0, 1, 0.5]]]), ValueError, "ints in the range"),
        (lambda: flood.from_giotto([[[0, 1, np.inf]]]), ValueError, "Stacking"),
        (lambda: flood.from_giotto([[[1, 0, 0]]]), ValueError, "death < birth"),
        (lambda: flood.to_persim([]), ValueError, ">= 1 diagram"),
        (lambda: flood.to_persim(np.zeros((3, 2))), ValueError, "is one array"),
        (lambda: flood.to_persim([[[0, 1]]], (0, 1)), ValueError, "one dimension per"),
        (lambda: flood.to_persim(5), TypeError, "'diagrams' parameter"),
        (lambda: flood.from_persim([[[0, 1]]], (1,)), ValueError, "below len"),
        (lambda: flood.from_persim([]), ValueError, "below len"),
        (lambda: flood.from_persim([[0, 1]]), ValueError, r"dgms\[0\] has shape \(2,\)"),
    ],
)
def test_bad_input_is_refused_with_a_message(call, error, match):
    with pytest.raises(error, match=match):
        call()


def _load_example():
    spec = importlib.util.spec_from_file_location("flood_example_giotto_pipeline", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_giotto_example_without_giotto_stops_at_the_array():
    out = _load_example().main(n_samples=6, n_points=200, n_landmarks=20, vectorize=False)
    X = out["X"]
    assert X.ndim == 3 and X.shape[0] == 6 and X.shape[2] == 3
    assert np.isfinite(X).all()  # essential classes written at a finite value
    assert out["test_accuracy"] is None


def test_giotto_example_feeds_a_giotto_vectorizer():
    pytest.importorskip("gtda")
    out = _load_example().main(n_samples=24, n_points=200, n_landmarks=20)
    assert out["test_accuracy"] > 0.5
