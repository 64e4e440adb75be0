"""One dtype rule, as the linear models: float32 input gives float32 fitted parameters and
float32 predictions; float64 and integer input give float64."""

import numpy as np
import pytest

from numsolve.neural import GBNNClassifier, GBNNRegressor, SvenClassifier, SvenRegressor

PARAMETERS = ("coefs_", "intercepts_", "output_weights_", "stage_intercepts_", "init_")


def _fitted_parameters(model):
    for name in PARAMETERS:
        value = getattr(model, name, None)
        yield from (value if isinstance(value, list) else [] if value is None else [value])


@pytest.mark.parametrize("make", [
    lambda: GBNNRegressor(n_estimators=3, random_state=0),
    lambda: GBNNClassifier(n_estimators=3, random_state=0),
    lambda: SvenRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0),
    lambda: SvenClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0),
])
@pytest.mark.parametrize("dtype, expected", [(np.float32, np.float32),
                                             (np.float64, np.float64), (np.int64, np.float64)])
def test_parameters_and_predictions_follow_the_input_dtype(make, dtype, expected):
    rng = np.random.default_rng(0)
    X = rng.integers(-3, 4, size=(40, 3)).astype(dtype)
    y = X[:, 0] - X[:, 1] + 0.5 * rng.standard_normal(40)
    model = make()
    is_classifier = hasattr(model, "predict_proba")
    model.fit(X, (y > 0).astype(int) if is_classifier else y)
    dtypes = {p.dtype for p in _fitted_parameters(model)}
    assert dtypes == {np.dtype(expected)}
    outputs = [model.predict_proba(X)] if is_classifier else [model.predict(X)]
    assert [o.dtype for o in outputs] == [np.dtype(expected)]
