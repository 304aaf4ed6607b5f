"""FloodComplex: scikit-learn conventions, input rules, output format, determinism."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from flood import FloodComplex, flood_complex
from flood.datasets import make_circle, make_shapes_dataset, make_sphere


def _fc(**params):
    params = {
        "n_landmarks": 30,
        "homology_dimensions": (0, 1),
        "device": "cpu",
        "random_state": 0,
        **params,
    }
    return FloodComplex(**params)


def _equal(a, b):
    return len(a) == len(b) and all(
        len(s) == len(t) and all(np.array_equal(x, y) for x, y in zip(s, t, strict=True))
        for s, t in zip(a, b, strict=True)
    )


@pytest.fixture(scope="module")
def clouds():
    X, _ = make_shapes_dataset(6, 250, dim=2, noise=0.03, random_state=1)
    return X


def test_sklearn_data_free_checks(sklearn_data_free_check):  # one per check (conftest.py)
    sklearn_data_free_check("FloodComplex", FloodComplex())


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"n_landmarks": 0},
            r"'n_landmarks' parameter of FloodComplex must be an int in "
            r"the range \[1, inf\)\. Got 0 instead",
        ),
        ({"n_landmarks": 2.5}, r"'n_landmarks' .* Got 2\.5 instead"),
        ({"n_landmarks": 2}, r"'n_landmarks' .* at least dim \+ 1 = 3 for 2-D clouds\. Got 2"),
        ({"homology_dimensions": (0, -1)}, r"'homology_dimensions' .* Got \(0, -1\) instead"),
        ({"homology_dimensions": (1, 1)}, r"'homology_dimensions' .* distinct .* Got \(1, 1\)"),
        ({"homology_dimensions": (0.0, 1)}, r"'homology_dimensions' .* Got \(0\.0, 1\)"),
        ({"homology_dimensions": ()}, r"'homology_dimensions' .* non-empty .* Got \(\)"),
        ({"homology_dimensions": "H1"}, r"'homology_dimensions' .* Got 'H1' instead"),
        (
            {"tol": -0.5},
            r"'tol' parameter of FloodComplex must be a float in the range "
            r"\[0\.0, inf\) or None\. Got -0\.5 instead",
        ),
        ({"method": "exact"}, r"'method' parameter .* Got 'exact' instead"),
        ({"points_per_edge": 1}, r"'points_per_edge' .* \[2, inf\)\. Got 1 instead"),
        ({"device": 0}, r"'device' parameter .* Got 0 instead"),
        ({"device": "tpu"}, r"'device' parameter must be 'cpu'.* Got 'tpu' instead"),
        ({"n_jobs": "all"}, r"'n_jobs' parameter .* Got 'all' instead"),
        ({"random_state": "seed"}, r"'random_state' parameter .* Got 'seed' instead"),
        ({"verbose": "yes"}, r"'verbose' parameter .* Got 'yes' instead"),
    ],
)
def test_invalid_parameters_name_parameter_and_value(clouds, params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _fc(**params).fit(clouds)


def test_invalid_inputs_name_sample_and_shape(clouds):
    fc = _fc()
    mixed = [np.zeros((100, 3)), np.ones((80, 3)), np.zeros((120, 2))]
    with pytest.raises(
        ValueError,
        match=r"X\[2\] has shape \(120, 2\); expected "
        r"\(n_points, 3\)",
    ):
        fc.fit(mixed)
    with pytest.raises(
        ValueError, match=r"X has shape \(250, 2\); .* \(pass \[X\] for a single cloud\)"
    ):
        fc.fit(clouds[0])
    with pytest.raises(TypeError, match="X is a str; expected a sequence of point clouds"):
        fc.fit("clouds")
    with pytest.raises(ValueError, match="at least one point cloud"):
        fc.fit([])
    bad = [clouds[0], clouds[1].copy()]
    bad[1][5, 0] = np.nan
    with pytest.raises(ValueError, match=r"X\[1\] has 1 row\(s\) with NaN"):
        fc.fit(bad)
    fc.fit(clouds)
    with pytest.raises(
        ValueError,
        match=r"X\[0\] has shape \(50, 3\); expected "
        r"\(n_points, 2\) as in fit",
    ):
        fc.transform([np.zeros((50, 3))])


def test_not_fitted():
    with pytest.raises(NotFittedError):
        FloodComplex().transform([np.zeros((10, 2))])
    with pytest.raises(NotFittedError):
        FloodComplex().get_feature_names_out()


def test_fit_attributes_and_stateless_transform(clouds):
    fc = _fc().fit(clouds[:2])
    assert (fc.dim_, fc.n_samples_fit_, fc.device_) == (2, 2, "cpu")
    assert fc.get_feature_names_out().tolist() == ["H0", "H1"]
    # transform works on any clouds of the fitted dimension, of any size and number
    out = fc.transform([clouds[3], make_circle(90, random_state=0)])
    assert len(out) == 2


@pytest.mark.parametrize("dims", [(0, 1), [1], np.array([1, 0]), (2,)])
def test_output_format_is_one_list_of_float_arrays_per_sample(clouds, dims):
    if list(dims) == [2]:
        with pytest.warns(UserWarning, match=r"dimension\(s\) 2 of 2-D points"):
            out = _fc(homology_dimensions=dims).fit_transform(clouds[:3])
    else:
        out = _fc(homology_dimensions=dims).fit_transform(clouds[:3])
    assert isinstance(out, list) and len(out) == 3
    for sample in out:
        assert isinstance(sample, list) and len(sample) == len(dims)
        for d in sample:
            assert isinstance(d, np.ndarray) and d.dtype == np.float64 and d.ndim == 2
            assert d.shape[1] == 2
    if list(dims) == [2]:  # no 2-D cloud has H2
        assert all(len(s[0]) == 0 for s in out)


def test_matches_flood_complex_with_derived_seeds(clouds):
    fc = _fc(homology_dimensions=(0, 1))
    out = fc.fit_transform(clouds[:3])
    seeds = np.random.RandomState(0).randint(np.iinfo(np.int32).max, size=3)
    for sample, cloud, seed in zip(out, clouds, seeds, strict=False):
        direct = flood_complex(cloud, 30, device="cpu", random_state=int(seed)).diagrams()
        assert _equal([sample], [direct])
    # one H0 class never dies; H1 of a noisy circle or figure eight has a long bar
    assert all(np.isinf(s[0][:, 1]).sum() == 1 for s in out)


def test_three_d_array_input_equals_list_input():
    X = np.stack([make_sphere(200, random_state=i) for i in range(2)])
    fc = FloodComplex(n_landmarks=25, device="cpu", random_state=3)
    assert _equal(fc.fit_transform(X), fc.fit_transform(list(X)))


def test_same_random_state_same_output_and_n_jobs_invariance(clouds):
    serial = _fc(n_jobs=1).fit_transform(clouds)
    assert _equal(serial, _fc(n_jobs=1).fit_transform(clouds))
    assert _equal(serial, _fc(n_jobs=None).fit_transform(clouds))
    assert _equal(serial, _fc(n_jobs=2).fit_transform(clouds))
    other = _fc(random_state=1).fit_transform(clouds)
    assert not _equal(serial, other)


def test_failure_names_the_sample(clouds):
    X = [clouds[0], clouds[1], np.array([[0.0, 0.0], [1.0, 0.0]])]
    for n_jobs in (None, 2):
        with pytest.warns(UserWarning, match=r"exceeds the size of 1 cloud\(s\) \(first: X\[2\]"):
            with pytest.raises(ValueError, match=r"sample 2 failed: 2 landmark\(s\) cannot span"):
                _fc(n_jobs=n_jobs).fit_transform(X)


def test_pickle_and_clone(clouds):
    fc = _fc().set_output(transform="pandas").fit(clouds)
    restored = pickle.loads(pickle.dumps(fc))
    assert restored.dim_ == 2
    rows = [list(r) for r in restored.transform(clouds[:2]).itertuples(index=False)]
    assert _equal(rows, [list(r) for r in fc.transform(clouds[:2]).itertuples(index=False)])
    cloned = clone(fc)
    assert cloned.get_params() == fc.get_params()
    assert not hasattr(cloned, "dim_")
    assert cloned._sklearn_output_config == {"transform": "pandas"}


def test_pandas_output(clouds):
    import pandas as pd

    fc = _fc()
    default = fc.fit_transform(clouds[:3])
    frame = _fc().set_output(transform="pandas").fit_transform(clouds[:3])
    assert isinstance(frame, pd.DataFrame)
    assert frame.columns.tolist() == ["H0", "H1"] and frame.shape == (3, 2)
    assert all(frame[c].dtype == object for c in frame.columns)
    assert _equal(default, [list(row) for row in frame.itertuples(index=False)])
    with pytest.raises(ValueError, match=r"'transform' parameter .* Got 'polars' instead"):
        fc.set_output(transform="polars")
    assert fc.set_output(transform=None) is fc


def test_verbose_shows_a_progress_bar(clouds, capsys):
    out = _fc(verbose=True).fit_transform(clouds[:2])
    assert "FloodComplex" in capsys.readouterr().err
    assert _equal(out, _fc().fit_transform(clouds[:2]))


def test_output_plugs_into_gudhi_representations(clouds):
    from gudhi.representations import DiagramSelector, DimensionSelector, Landscape
    from sklearn.pipeline import make_pipeline

    diagrams = _fc().fit_transform(clouds)
    pipe = make_pipeline(
        DimensionSelector(index=1),
        DiagramSelector(use=True, point_type="finite"),
        Landscape(num_landscapes=2, resolution=20),
    )
    features = pipe.fit_transform(diagrams)
    assert features.shape == (len(clouds), 40) and np.isfinite(features).all()


@pytest.mark.parametrize(
    ("dim", "n_points", "grid"), [(2, 250, [20, 40]), (3, 200, [20, 30])], ids=["2d", "3d"]
)
def test_pipeline_in_grid_search_scores_well_above_chance(dim, n_points, grid):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from flood import PersistenceFeatures

    X, y = make_shapes_dataset(12, n_points, dim=dim, noise=0.02, random_state=dim)
    pipe = Pipeline(
        [
            (
                "flood",
                FloodComplex(
                    homology_dimensions=(1, 2) if dim == 3 else (1,), device="cpu", random_state=0
                ),
            ),
            ("features", PersistenceFeatures(vectorizer="stats")),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression()),
        ]
    )
    search = GridSearchCV(
        pipe, {"flood__n_landmarks": grid}, cv=StratifiedKFold(2, shuffle=True, random_state=0)
    )
    search.fit(X, y)
    assert search.best_score_ >= 0.8
    assert search.best_params_["flood__n_landmarks"] in grid
    names = search.best_estimator_[:-2].get_feature_names_out()
    assert names[0] == ("H1_count")


def test_default_homology_dimensions_are_those_of_the_clouds(clouds):
    fc = _fc(homology_dimensions=None).fit(clouds[:2])
    assert fc.get_feature_names_out().tolist() == ["H0", "H1"]
    assert [len(s) for s in fc.transform(clouds[:2])] == [2, 2]


def test_a_bare_int_homology_dimension_means_one_diagram(clouds):
    one = _fc(homology_dimensions=1).fit_transform(clouds[:2])
    both = _fc(homology_dimensions=(0, 1)).fit_transform(clouds[:2])
    assert _equal(one, [[s[1]] for s in both])


def test_dimensions_the_clouds_cannot_have_warn_once_in_fit(clouds):
    import warnings

    with pytest.warns(UserWarning, match=r"dimension\(s\) 2, 5 of 2-D points") as record:
        out = _fc(homology_dimensions=(1, 2, 5)).fit_transform(clouds[:2])
    assert sum("homology dimension" in str(w.message) for w in record) == 1
    assert all(len(s[1]) == len(s[2]) == 0 and len(s[0]) > 0 for s in out)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _fc(homology_dimensions=(0, 1)).fit(clouds[:2])


def test_min_persistence_leaves_out_short_pairs(clouds):
    full = _fc().fit_transform(clouds[:2])
    cut = _fc(min_persistence=0.05).fit_transform(clouds[:2])
    expected = [[d[d[:, 1] - d[:, 0] > 0.05] for d in s] for s in full]
    assert _equal(cut, expected)
    assert sum(len(d) for s in cut for d in s) < sum(len(d) for s in full for d in s)
    with pytest.raises(ValueError, match=r"'min_persistence' parameter of FloodComplex"):
        _fc(min_persistence=-1.0).fit(clouds[:2])


def test_other_errors_than_input_errors_pass_unchanged(clouds, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr("flood._estimator.flood_complex", broken)
    with pytest.raises(KeyError, match=r"^'a bug'$"):
        _fc().fit_transform(clouds[:2])
