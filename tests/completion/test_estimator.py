"""MatrixCompletion: completion quality, biases, fold-in, imputation in a Pipeline, pickling."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from numsolve.completion import MatrixCompletion, make_low_rank

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def ratings():
    """A planted rank-3 matrix plus row and column offsets, noisy, with held-out entries."""
    problem = make_low_rank(200, 120, 3, density=0.25, noise=0.1, test_fraction=0.2,
                            random_state=4)
    rng = np.random.default_rng(4)
    row_off, col_off = rng.normal(0, 1, 200), rng.normal(0, 1, 120)

    def shift(X):
        coo = X.tocoo()
        data = coo.data + 3.0 + row_off[coo.row] + col_off[coo.col]
        return sp.csr_matrix((data, (coo.row, coo.col)), shape=X.shape)

    return shift(problem.observed), shift(problem.heldout), problem.noise


def _heldout_rmse(model, heldout):
    coo = heldout.tocoo()
    pred = model.predict_entries(coo.row, coo.col)
    return float(np.sqrt(np.mean((pred - coo.data) ** 2)))


def test_biases_reach_noise_level_on_offset_data(ratings):
    train, test, noise = ratings
    model = MatrixCompletion(rank=3, bias="full", bias_reg=1.0, random_state=0)
    model.fit(train, X_valid=test)
    assert _heldout_rmse(model, test) < 1.3 * noise
    np.testing.assert_allclose(model.history_["validation_rmse"][-1],
                               _heldout_rmse(model, test), rtol=1e-6)
    assert model.row_factors_.shape == (200, 3) and model.components_.shape == (3, 120)


def test_fold_in_recovers_training_rows(ratings):
    train, _, _ = ratings
    model = MatrixCompletion(rank=3, reg=0.02, solver="exact", bias="global",
                             tol=1e-10, max_iter=300, random_state=0).fit(train)
    factors, _ = model.fold_in(train[:10])
    np.testing.assert_allclose(factors, model.row_factors_[:10], rtol=1e-4, atol=1e-5)


def test_transform_imputes_and_keeps_observed_entries():
    problem = make_low_rank(80, 50, 2, density=0.4, random_state=5)
    X = problem.observed_dense()
    model = MatrixCompletion(rank=2, random_state=0)
    filled = model.fit_transform(X)
    observed = ~np.isnan(X)
    np.testing.assert_array_equal(filled[observed], X[observed])
    assert np.abs(filled - problem.matrix).max() < 1e-4
    sparse_filled = MatrixCompletion(rank=2, random_state=0).fit(problem.observed).transform(
        problem.observed)
    np.testing.assert_allclose(sparse_filled, filled, atol=1e-6)


def test_transform_of_rows_without_observations_predicts_baseline(ratings):
    train, _, _ = ratings
    model = MatrixCompletion(rank=3, reg=0.1, bias="full", random_state=0).fit(train)
    filled = model.transform(np.full((2, 120), np.nan))
    np.testing.assert_allclose(filled[0], model.intercept_ + model.column_bias_, rtol=1e-6)


def test_imputer_in_a_pipeline():
    problem = make_low_rank(120, 30, 2, density=0.6, random_state=6)
    X = problem.observed_dense()
    y = problem.matrix[:, 0] + problem.matrix[:, 1]
    pipe = make_pipeline(MatrixCompletion(rank=2, random_state=0), Ridge(alpha=1e-6))
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.999


def test_warm_start_reuses_factors(ratings):
    train, _, _ = ratings
    model = MatrixCompletion(rank=3, reg=0.05, max_iter=100, tol=1e-5, warm_start=True,
                             random_state=0).fit(train)
    first = model.n_iter_
    model.fit(train)
    assert model.n_iter_ < first


def test_pickle_round_trip_and_determinism(ratings):
    train, _, _ = ratings
    model = MatrixCompletion(rank=3, reg=0.05, max_iter=5, random_state=3).fit(train)
    again = MatrixCompletion(rank=3, reg=0.05, max_iter=5, random_state=3).fit(train)
    np.testing.assert_array_equal(model.row_factors_, again.row_factors_)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_entries([0, 1], [2, 3]),
                                  model.predict_entries([0, 1], [2, 3]))


def test_float32_input_gives_float32_output():
    problem = make_low_rank(60, 40, 2, density=0.5, random_state=0)
    X = problem.observed_dense().astype(np.float32)
    model = MatrixCompletion(rank=2, random_state=0)
    out = model.fit_transform(X)
    assert out.dtype == np.float32 and model.row_factors_.dtype == np.float32
    assert np.abs(out - problem.matrix).max() < 1e-3


def test_bad_inputs(ratings):
    train, _, _ = ratings
    with pytest.raises(ValueError, match="larger than the matrix"):
        MatrixCompletion(rank=500).fit(train)
    with pytest.raises(ValueError, match="infinity"):
        MatrixCompletion(rank=1).fit(np.array([[1.0, np.inf], [2.0, np.nan]]))
    with pytest.raises(ValueError, match="no observed entries"):
        MatrixCompletion(rank=1).fit(np.full((3, 3), np.nan))
    model = MatrixCompletion(rank=3, max_iter=3, random_state=0).fit(train)
    with pytest.raises(ValueError, match="outside"):
        model.predict_entries([0, 500], [0, 1])
    with pytest.raises(ValueError, match="differ in length"):
        model.predict_entries([0, 1], [0])
    with pytest.raises(TypeError, match="integers"):
        model.predict_entries([0.5], [1])
    with pytest.raises(ValueError, match="features"):
        model.transform(np.ones((2, 5)))
