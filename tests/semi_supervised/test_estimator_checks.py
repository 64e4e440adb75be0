"""scikit-learn's common estimator checks for the semi_supervised estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from numsolve.semi_supervised import LabelPropagation, LabelSpreading


@parametrize_with_checks([
    LabelPropagation(),
    LabelPropagation(kernel="knn", n_neighbors=5),
    LabelPropagation(kernel="radius", radius=2.0, blocks="colour"),
    LabelSpreading(),
    LabelSpreading(kernel="knn", n_neighbors=5),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)
