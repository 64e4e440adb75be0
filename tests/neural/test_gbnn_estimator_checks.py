from sklearn.utils.estimator_checks import parametrize_with_checks

from numsolve.neural import GBNNClassifier, GBNNRegressor


@parametrize_with_checks([GBNNRegressor(n_estimators=5, max_iter=30, random_state=0),
                          GBNNClassifier(n_estimators=5, max_iter=30, random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
