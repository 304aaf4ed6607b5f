"""FloodComplex feeding a giotto-tda vectorizer: flood.to_giotto between the two.

Circles vs figure eights (one loop vs two) in 2-D. ``FloodComplex`` computes the diagrams,
``flood.to_giotto`` turns them into giotto-tda's padded ``(n_samples, n_points, 3)`` array
(essential classes written at ``INFINITY_VALUE``, as giotto writes its ``max_edge_length``),
and giotto-tda's ``PersistenceEntropy`` and a logistic regression classify them::

    python examples/giotto_pipeline.py

giotto-tda is optional and not a test dependency of flood: its 0.6.2 release pins
scikit-learn==1.3.2. Without it, the script stops at the array (``vectorize=False``).
"""

import importlib.util

from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

import flood
from flood.datasets import make_shapes_dataset

#: Death written for essential classes: above every death of these clouds (radii of at most
#: ~1), so a class that never dies counts as the longest bar, and giotto sees finite values.
INFINITY_VALUE = 2.0


def _giotto_vectorizer():
    try:
        from gtda.diagrams import PersistenceEntropy
    except ImportError as exc:
        raise ImportError(
            "This example's vectorizer needs giotto-tda: pip install giotto-tda "
            "(or call main(vectorize=False))."
        ) from exc
    return PersistenceEntropy(normalize=True)


def main(n_samples=36, n_points=300, n_landmarks=30, vectorize=True, random_state=0):
    """Return the giotto array of all clouds and, with giotto-tda, the test accuracy."""
    X, y = make_shapes_dataset(n_samples, n_points, dim=2, noise=0.03, random_state=random_state)
    fc = flood.FloodComplex(
        n_landmarks=n_landmarks, homology_dimensions=(0, 1), device="cpu", random_state=0
    )
    to_giotto = FunctionTransformer(
        flood.to_giotto, kw_args={"infinity_values": INFINITY_VALUE}, validate=False
    )
    diagrams = to_giotto.transform(fc.fit_transform(X))
    print(f"giotto-tda array of shape {diagrams.shape} (samples, points, (birth, death, q))")
    if not vectorize:
        return {"X": diagrams, "test_accuracy": None}
    pipe = Pipeline(
        [
            ("flood", fc),
            ("giotto", to_giotto),
            ("entropy", _giotto_vectorizer()),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=random_state
    )
    score = pipe.fit(X_train, y_train).score(X_test, y_test)
    print(f"test accuracy {score:.3f} on {len(y_test)} clouds (chance 0.5)")
    return {"X": diagrams, "test_accuracy": score}


if __name__ == "__main__":
    main(vectorize=importlib.util.find_spec("gtda") is not None)
