"""Parameters and attributes carry scikit-learn's names for the same things."""

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.neural_network import MLPRegressor

from numsolve.neural import GBNNRegressor, SvenRegressor


def test_gbnn_counts_stages_as_boosting_counts_estimators():
    assert "n_estimators" in GradientBoostingRegressor().get_params()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    model = GBNNRegressor(n_estimators=4, random_state=0).fit(X, X[:, 0] ** 2)
    assert model.n_estimators_ == 4 and len(list(model.staged_predict(X))) == 4
    assert "n_stages" not in model.get_params()


def test_sven_counts_epochs_as_mlp_counts_iterations():
    assert "max_iter" in MLPRegressor().get_params()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    model = SvenRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, X[:, 0])
    assert model.n_iter_ == 3 and len(model.loss_curve_) == 3
    assert "max_epochs" not in model.get_params()
