"""``LogisticRegression`` takes integer and boolean class labels without scikit-learn's
target-type inspection, and still refuses continuous targets before any work."""

import numpy as np
import pytest

from numsolve.linear_model import LogisticRegression


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    return X, X[:, 0] + 0.3 * rng.standard_normal(60)


@pytest.mark.parametrize("labels", [np.int64, np.uint8, bool])
def test_integer_labels_fit_like_their_float_copies(labels):
    X, score = _data()
    y = (score > 0).astype(labels)
    model = LogisticRegression(penalty="l1").fit(X, y)
    reference = LogisticRegression(penalty="l1").fit(X, y.astype(float))
    np.testing.assert_array_equal(model.classes_, np.unique(y))
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-12)


def test_continuous_target_is_refused():
    X, score = _data()
    with pytest.raises(ValueError, match="Unknown label type"):
        LogisticRegression(penalty="l1").fit(X, score)
