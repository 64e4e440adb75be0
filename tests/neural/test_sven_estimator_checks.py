"""scikit-learn's estimator checks for the Sven estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from numsolve.neural._sven._estimators import SvenClassifier, SvenRegressor


@parametrize_with_checks([
    SvenRegressor(hidden_layer_sizes=(8,), max_iter=10, random_state=0),
    SvenClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)
