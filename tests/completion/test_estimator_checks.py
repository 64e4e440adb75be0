"""scikit-learn's estimator checks for MatrixCompletion."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from numsolve.completion import MatrixCompletion


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([
    MatrixCompletion(rank=1, max_iter=20, random_state=0),
    MatrixCompletion(rank=1, bias="full", solver="exact", reg=0.1, max_iter=20,
                     random_state=0),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)
