"""MatrixCompletion: completion quality, biases, fold-in, imputation in a Pipeline, pickling."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from numsolve.completion import MatrixCompletion, make_low_rank
from numsolve.completion._estimators import DEFAULT_REG

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
    model = MatrixCompletion(rank=3, reg="auto", bias_reg=1.0, random_state=0)
    model.fit(train, X_valid=test)
    assert _heldout_rmse(model, test) < 1.3 * noise
    np.testing.assert_allclose(model.history_["validation_rmse"][-1],
                               _heldout_rmse(model, test), rtol=1e-6)
    assert model.row_factors_.shape == (200, 3) and model.components_.shape == (3, 120)


@pytest.mark.parametrize("reg_scaling, reg", [("none", 0.02), (0.5, 2.0), ("count", 0.05)])
def test_fold_in_recovers_training_rows(ratings, reg_scaling, reg):
    """Folded-in rows get the ridge they were fitted with: with a fractional scaling it is
    relative to the training rows' mean count, not to that of the rows folded in."""
    train, _, _ = ratings
    model = MatrixCompletion(rank=3, reg=reg, reg_scaling=reg_scaling, solver="exact",
                             bias="global", tol=1e-10, max_iter=300, random_state=0).fit(train)
    assert model.mean_row_count_ == pytest.approx(train.nnz / train.shape[0])
    busiest = np.argsort(np.diff(train.indptr))[-10:]  # their own mean count is far above
    factors, _ = model.fold_in(train[busiest])
    np.testing.assert_allclose(factors, model.row_factors_[busiest], rtol=1e-4, atol=1e-5)


def test_transform_imputes_and_keeps_observed_entries():
    problem = make_low_rank(80, 50, 2, density=0.4, random_state=5)
    X = problem.observed_dense()
    model = MatrixCompletion(rank=2, reg=0, random_state=0)
    filled = model.fit_transform(X)
    observed = ~np.isnan(X)
    np.testing.assert_array_equal(filled[observed], X[observed])
    assert np.abs(filled - problem.matrix).max() < 1e-4
    sparse_filled = MatrixCompletion(rank=2, reg=0, random_state=0).fit(
        problem.observed).transform(problem.observed)
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
    pipe = make_pipeline(MatrixCompletion(rank=2, reg=0, random_state=0), Ridge(alpha=1e-6))
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
    model = MatrixCompletion(rank=2, reg=0, random_state=0)
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
    with pytest.raises(ValueError, match="reg_scaling"):
        MatrixCompletion(rank=3, reg_scaling=1.5).fit(train)
    with pytest.raises(ValueError, match="validation_splits"):
        MatrixCompletion(rank=3, reg="auto", validation_splits=0).fit(train)
    model = MatrixCompletion(rank=3, max_iter=3, random_state=0).fit(train)
    with pytest.raises(ValueError, match="outside"):
        model.predict_entries([0, 500], [0, 1])
    with pytest.raises(ValueError, match="differ in length"):
        model.predict_entries([0, 1], [0])
    with pytest.raises(TypeError, match="integers"):
        model.predict_entries([0.5], [1])
    with pytest.raises(ValueError, match="features"):
        model.transform(np.ones((2, 5)))


def test_reg_zero_recovers_a_planted_matrix_exactly():
    """The paper's noiseless recovery is one argument away; biases stay on (their default)."""
    problem = make_low_rank(200, 150, 3, density=0.3, test_fraction=0.1, random_state=1)
    model = MatrixCompletion(rank=3, reg=0, random_state=0).fit(problem.observed)
    coo = problem.heldout.tocoo()
    error = model.predict_entries(coo.row, coo.col) - coo.data
    assert model.bias == "full" and model.value_range_ is None
    assert np.linalg.norm(error) <= 1e-6 * np.linalg.norm(coo.data)


def test_default_ridge_scales_with_the_data(ratings):
    train, test, _ = ratings
    model = MatrixCompletion(rank=3, random_state=0).fit(train)
    scaled = MatrixCompletion(rank=3, random_state=0).fit(train * 7.0)
    assert model.reg_ == scaled.reg_ == DEFAULT_REG
    assert scaled.scale_ == pytest.approx(7.0 * model.scale_, rel=1e-12)
    coo = test.tocoo()
    np.testing.assert_allclose(scaled.predict_entries(coo.row, coo.col),
                               7.0 * model.predict_entries(coo.row, coo.col), rtol=1e-6)


def test_auto_reg_chooses_on_held_out_training_entries_only(ratings, monkeypatch):
    from numsolve.completion import _reg_path

    train, test, noise = ratings
    seen = []
    original_split, original_altmin = _reg_path.split_observed, _reg_path.altmin
    monkeypatch.setattr(_reg_path, "split_observed", lambda X, held: (
        seen.append(original_split(X, held)) or seen[-1]))
    baselines, original_biases = [], _reg_path.fit_biases
    monkeypatch.setattr(_reg_path, "fit_biases", lambda kept, *args: (
        baselines.append(kept) or original_biases(kept, *args)))
    fitted = []
    monkeypatch.setattr(_reg_path, "altmin", lambda kept, rank, **kwargs: (
        fitted.append(kept) or original_altmin(kept, rank, **kwargs)))
    model = MatrixCompletion(rank=3, reg="auto", random_state=5).fit(train, X_valid=test)
    train_entries = set(zip(*train.nonzero()))
    test_entries = set(zip(*test.nonzero()))
    for kept, held in seen:
        kept_entries, held_entries = set(zip(*kept.nonzero())), set(zip(*held.nonzero()))
        assert held_entries and held_entries <= train_entries
        assert not held_entries & test_entries and not held_entries & kept_entries
        assert kept_entries | held_entries == train_entries
    held_parts = [set(zip(*held.nonzero())) for _, held in seen]
    assert len(seen) == model.validation_splits == 3
    assert sum(map(len, held_parts)) == len(set().union(*held_parts))  # disjoint parts
    # each part's baseline is fitted to its kept entries alone, never to its held-out ones
    assert [id(kept) for kept in baselines] == [id(kept) for kept, _ in seen]
    # each part's fits see exactly its kept entries (less the baseline fitted to them alone)
    stored = [frozenset(zip(kept.tocoo().row, kept.tocoo().col)) for kept in fitted]
    assert set(stored) == {frozenset(zip(*kept.nonzero())) for kept, _ in seen}
    # one fit per part and ridge walked, and two more per part where a move away from the
    # default is carried further
    assert len(fitted) - 3 * model.reg_path_["reg"].size in (0, 6)
    assert model.reg_path_["reg"].size >= 3
    # the caller's test set is recorded in history_ only: without it the choice is the same
    again = MatrixCompletion(rank=3, reg="auto", random_state=5).fit(train)
    assert again.reg_ == model.reg_
    np.testing.assert_array_equal(again.reg_path_["validation_rmse"],
                                  model.reg_path_["validation_rmse"])
    np.testing.assert_array_equal(again.row_factors_, model.row_factors_)
    fixed = MatrixCompletion(rank=3, reg=model.reg_, random_state=5).fit(train)
    np.testing.assert_array_equal(fixed.row_factors_, model.row_factors_)


def test_auto_reg_beats_the_default_ridge_on_low_noise_data(ratings):
    """Baseline: the fixed default ridge (tuned for ratings) over-smooths low-noise data."""
    train, test, noise = ratings
    auto = MatrixCompletion(rank=3, reg="auto", random_state=0).fit(train)
    default = MatrixCompletion(rank=3, random_state=0).fit(train)
    assert auto.reg_ < default.reg_ / 100
    assert auto.reg_ in auto.reg_path_["reg"]
    assert _heldout_rmse(auto, test) < 1.3 * noise < _heldout_rmse(default, test) / 3
    # the factor-2 grid is refined around its best point by steps of 2**(1/2), then 2**(1/4)
    octaves = np.log2(auto.reg_path_["reg"] / default.reg_) % 1.0
    refined = np.isclose(octaves[:, None], [0.25, 0.5, 0.75], atol=1e-9).any(axis=1)
    assert refined.sum() == 4


def test_auto_reg_walks_above_the_default_ridge_on_pure_noise():
    """Without low-rank signal a ridge above the default predicts better; the walk, which
    starts at twice the default, must go up to find it (walking down only, it stays below
    2.4x the default)."""
    rng = np.random.default_rng(3)
    coo = sp.random(120, 80, density=0.4, format="coo", random_state=3)
    values = rng.normal(3.0, 1.0, coo.nnz)
    test = rng.random(coo.nnz) < 0.2

    def observed(keep):
        return sp.csr_matrix((values[keep], (coo.row[keep], coo.col[keep])), shape=coo.shape)

    train, heldout = observed(~test), observed(test)
    auto = MatrixCompletion(rank=3, reg="auto", random_state=0).fit(train)
    default = MatrixCompletion(rank=3, random_state=0).fit(train)
    assert auto.reg_ >= 4 * default.reg_
    assert auto.reg_ in auto.reg_path_["reg"]
    assert _heldout_rmse(auto, heldout) < _heldout_rmse(default, heldout)


def test_clipped_predictions_stay_in_the_observed_range():
    rng = np.random.default_rng(0)
    problem = make_low_rank(150, 100, 3, density=0.3, noise=0.3, random_state=2)
    coo = problem.observed.tocoo()
    stars = np.clip(np.round(3 + coo.data), 1, 5)
    X = sp.csr_matrix((stars, (coo.row, coo.col)), shape=problem.observed.shape)
    rows, cols = rng.integers(0, 150, 5000), rng.integers(0, 100, 5000)
    clipped = MatrixCompletion(rank=3, reg=0.5, random_state=0).fit(X)
    free = MatrixCompletion(rank=3, reg=0.5, clip=False, random_state=0).fit(X)
    raw = free.predict_entries(rows, cols)
    assert raw.min() < 1 or raw.max() > 5  # without clipping the model leaves the scale
    pred = clipped.predict_entries(rows, cols)
    assert clipped.value_range_ == (1.0, 5.0) and free.value_range_ is None
    np.testing.assert_allclose(pred, np.clip(raw, 1, 5))
    dense = X.toarray()
    dense[dense == 0] = np.nan
    filled = clipped.transform(dense)
    assert filled.min() >= 1 and filled.max() <= 5


def test_auto_reg_is_refused_where_it_cannot_run():
    array_api_strict = pytest.importorskip("array_api_strict")
    from sklearn import config_context

    problem = make_low_rank(30, 20, 2, density=0.5, random_state=0)
    with config_context(array_api_dispatch=True), pytest.raises(ValueError, match="auto"):
        MatrixCompletion(rank=2, reg="auto").fit(
            array_api_strict.asarray(problem.observed_dense()))


def test_auto_solver_is_exact_up_to_rank_16_and_cg_above():
    """solver="auto" fits the same factors as the solver it names for the rank."""
    from numsolve.completion._estimators import EXACT_MAX_RANK

    X = make_low_rank(60, 50, 3, density=0.6, noise=0.1, random_state=1).observed
    for rank, named in ((EXACT_MAX_RANK, "exact"), (EXACT_MAX_RANK + 1, "cg")):
        auto = MatrixCompletion(rank=rank, max_iter=3, random_state=0).fit(X)
        same = MatrixCompletion(rank=rank, solver=named, max_iter=3, random_state=0).fit(X)
        other = MatrixCompletion(rank=rank, solver="cg" if named == "exact" else "exact",
                                 max_iter=3, random_state=0).fit(X)
        np.testing.assert_array_equal(auto.row_factors_, same.row_factors_)
        assert not np.array_equal(auto.row_factors_, other.row_factors_)
