"""scikit-learn's common estimator checks for every numsolve.linear_model estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from numsolve.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge


@parametrize_with_checks([
    Lasso(alpha=0.1, tol=1e-10),
    ElasticNet(alpha=0.1, tol=1e-14),
    Ridge(),
    LogisticRegression(),
    LogisticRegression(penalty="l1", C=10.0, tol=1e-10),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)
