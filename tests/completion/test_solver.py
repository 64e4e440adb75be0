"""altmin: planted recovery, solver agreement, noise level, inputs, determinism."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from numsolve.completion import altmin, make_low_rank
from numsolve.completion._observed import check_observed

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _relative_error(result, problem):
    estimate = result.U @ result.V.T
    return np.linalg.norm(estimate - problem.matrix) / np.linalg.norm(problem.matrix)


@pytest.fixture(scope="module")
def planted():
    return make_low_rank(150, 120, 4, density=0.25, random_state=1)


@pytest.mark.parametrize("solver", ["sketched", "cg", "exact"])
def test_exact_recovery_of_noiseless_low_rank_matrix(planted, solver):
    result = altmin(planted.observed, 4, solver=solver, tol=1e-9, max_iter=300,
                    random_state=0)
    assert result.converged
    assert _relative_error(result, planted) <= 1e-6
    assert np.all(np.diff(result.history["rmse"][:5]) < 0)


def test_sketched_and_exact_solvers_agree(planted):
    sketched = altmin(planted.observed, 4, solver="sketched", tol=1e-8, max_iter=200,
                      random_state=0)
    exact = altmin(planted.observed, 4, solver="exact", tol=1e-8, max_iter=200,
                   random_state=0)
    assert sketched.converged and exact.converged
    np.testing.assert_allclose(sketched.U @ sketched.V.T, exact.U @ exact.V.T, atol=1e-6)


def test_noisy_heldout_rmse_near_noise_level():
    problem = make_low_rank(200, 150, 3, density=0.3, noise=0.1, test_fraction=0.2,
                            random_state=2)
    result = altmin(problem.observed, 3, reg=0.02, validation=problem.heldout, tol=1e-5,
                    random_state=0)
    heldout = result.history["validation_rmse"][-1]
    assert heldout < 1.25 * problem.noise
    assert 0.8 * problem.noise < result.rmse < 1.05 * problem.noise


def test_power_law_sampling_is_handled():
    problem = make_low_rank(300, 200, 3, density=0.15, sampling="power_law", exponent=0.6,
                            noise=0.05, test_fraction=0.1, random_state=3)
    result = altmin(problem.observed, 3, reg=0.05, validation=problem.heldout, tol=1e-5,
                    random_state=0)
    mean_only = np.sqrt(np.mean((problem.heldout.data - problem.observed.data.mean()) ** 2))
    assert result.history["validation_rmse"][-1] < 0.3 * mean_only


def test_dense_nan_input_equals_sparse_input(planted):
    sparse = altmin(planted.observed, 4, max_iter=5, tol=0.0, random_state=0)
    dense = altmin(planted.observed_dense(), 4, max_iter=5, tol=0.0, random_state=0)
    np.testing.assert_allclose(dense.U @ dense.V.T, sparse.U @ sparse.V.T, atol=1e-10)


@pytest.mark.parametrize("solver", ["cg", "sketched", "exact"])
def test_float32_is_kept_and_accurate(planted, solver):
    X32 = planted.observed.astype(np.float32)
    result = altmin(X32, 4, solver=solver, tol=1e-6, max_iter=100, random_state=0)
    assert result.U.dtype == np.float32 and result.V.dtype == np.float32
    assert _relative_error(result, planted) < 1e-4


def test_determinism_with_random_state(planted):
    first = altmin(planted.observed, 4, max_iter=4, tol=0.0, random_state=7)
    second = altmin(planted.observed, 4, max_iter=4, tol=0.0, random_state=7)
    np.testing.assert_array_equal(first.U, second.U)
    np.testing.assert_array_equal(first.V, second.V)


def test_input_is_not_modified(planted):
    X = planted.observed.copy()
    dense = planted.observed_dense()
    dense_copy = dense.copy()
    altmin(X, 4, max_iter=3, tol=0.0, random_state=0)
    altmin(dense, 4, max_iter=3, tol=0.0, random_state=0)
    assert (X != planted.observed).nnz == 0
    np.testing.assert_array_equal(dense, dense_copy)


def test_empty_rows_and_columns_get_zero_factors(planted):
    X = planted.observed.tolil()
    X[5, :] = 0
    X[:, 7] = 0
    result = altmin(X.tocsr(), 4, reg=0.1, max_iter=10, random_state=0)
    assert np.all(np.isfinite(result.U)) and np.all(np.isfinite(result.V))
    np.testing.assert_array_equal(result.U[5], 0.0)
    np.testing.assert_array_equal(result.V[7], 0.0)


def test_explicit_zeros_are_observations_only_when_asked():
    X = sp.csr_matrix((np.array([0.0, 1.0, 2.0]), np.array([0, 1, 0]), np.array([0, 2, 3])),
                      shape=(2, 2))
    assert check_observed(X).nnz == 2
    assert check_observed(X, observe_zeros=True).nnz == 3
    dense = np.array([[0.0, 1.0], [2.0, np.nan]])
    assert check_observed(dense).nnz == 3
    result = altmin(X, 1, observe_zeros=True, max_iter=50, random_state=0)
    assert abs((result.U @ result.V.T)[0, 0]) < 0.5


def test_fractional_reg_scaling_reaches_its_stationary_point():
    """At convergence every row and column satisfies its normal equations with the ridge
    ``reg * (n_i / n_mean) ** 0.5``, computed here independently; a flat ridge does not."""
    problem = make_low_rank(80, 60, 3, density=0.3, noise=0.3, sampling="power_law",
                            random_state=2)
    M = problem.observed
    result = altmin(M, 3, reg=2.0, reg_scaling=0.5, solver="exact", tol=1e-13, max_iter=2000,
                    random_state=0)
    gaps = {}
    for name, X, own, fixed in (("rows", M.tocsr(), result.U, result.V),
                                ("cols", M.T.tocsr(), result.V, result.U)):
        counts = np.diff(X.indptr)
        ridge = 2.0 * np.sqrt(counts / counts[counts > 0].mean())
        coo = X.tocoo()
        residual = sp.csr_matrix((np.einsum("ij,ij->i", own[coo.row], fixed[coo.col])
                                  - coo.data, (coo.row, coo.col)), shape=X.shape)
        gradient = residual @ fixed
        scale = np.abs(X @ fixed).max()
        gaps[name] = np.abs(gradient + ridge[:, None] * own).max() / scale
        gaps[name + " flat"] = np.abs(gradient + 2.0 * own).max() / scale
    assert result.converged
    assert gaps["rows"] < 1e-6 and gaps["cols"] < 1e-6
    assert gaps["rows flat"] > 1e-2 and gaps["cols flat"] > 1e-2


def test_warm_start_from_given_factors(planted):
    first = altmin(planted.observed, 4, solver="exact", tol=1e-10, max_iter=300,
                   random_state=0)
    again = altmin(planted.observed, 4, solver="exact", init=(first.U, first.V), max_iter=2,
                   tol=1e-6, random_state=0)
    assert again.n_iter <= 2 and _relative_error(again, planted) <= 1e-6


def test_not_converged_warns(planted):
    with pytest.warns(ConvergenceWarning):
        result = altmin(planted.observed, 4, max_iter=2, tol=1e-12, random_state=0)
    assert not result.converged and result.n_iter == 2


@pytest.mark.parametrize("kwargs, error, match", [
    ({"rank": 200}, ValueError, "larger than the matrix"),
    ({"rank": 0}, ValueError, "at least 1"),
    ({"rank": 2.5}, TypeError, "integer"),
    ({"reg": -1.0}, ValueError, "reg"),
    ({"solver": "qr"}, ValueError, "solver"),
    ({"reg_scaling": "rows"}, ValueError, "reg_scaling"),
    ({"reg_scaling": 1.5}, ValueError, "reg_scaling"),
    ({"init": "zeros"}, ValueError, "init"),
    ({"max_iter": 0}, ValueError, "max_iter"),
])
def test_bad_parameters(planted, kwargs, error, match):
    params = {"rank": 4, **kwargs}
    rank = params.pop("rank")
    with pytest.raises(error, match=match):
        altmin(planted.observed, rank, **params)


def test_bad_matrices():
    dense = np.array([[1.0, np.nan], [np.inf, 2.0]])
    with pytest.raises(ValueError, match="non-finite"):
        altmin(dense, 1)
    sparse = sp.csr_matrix(np.array([[1.0, np.nan], [0.0, 2.0]]))
    with pytest.raises(ValueError, match="non-finite"):
        altmin(sparse, 1)
    with pytest.raises(ValueError, match="no observed entries"):
        altmin(np.full((3, 3), np.nan), 1)
    with pytest.raises(ValueError, match="2-D"):
        altmin(np.ones(4), 1)
    with pytest.raises(TypeError, match="complex"):
        altmin(np.ones((3, 3), dtype=complex), 1)
    with pytest.raises(ValueError, match="validation has shape"):
        altmin(np.ones((3, 3)), 1, validation=np.ones((2, 3)))


def test_verbose_shows_a_progress_bar(planted, capsys):
    altmin(planted.observed, 4, max_iter=2, tol=0.0, verbose=1, random_state=0)
    assert "altmin" in capsys.readouterr().err


def test_robustness_to_inexact_updates(planted):
    """The paper's claim: updates solved only approximately (one CG step per row and sweep)
    still converge to the planted matrix."""
    result = altmin(planted.observed, 4, solver="cg", inner_iter=1, tol=1e-10, max_iter=500,
                    random_state=0)
    assert _relative_error(result, planted) <= 1e-6
    assert np.all(result.history["cg_steps"] <= sum(planted.observed.shape))
