"""The Array API path (array_api_strict, its second device, torch) against the NumPy path."""

import numpy as np
import pytest
from sklearn import config_context

from numsolve._array_api import to_numpy
from numsolve.completion import MatrixCompletion, altmin, make_low_rank

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def problem():
    return make_low_rank(40, 30, 2, density=0.5, noise=0.01, random_state=0)


@pytest.mark.parametrize("solver", ["exact", "cg"])
@pytest.mark.parametrize("bias", [False, True])
def test_generic_path_matches_numpy(xp_device, problem, solver, bias):
    xp, device = xp_device
    dense = problem.observed_dense()
    init = (np.linalg.qr(np.random.default_rng(0).standard_normal((40, 2)))[0],
            np.zeros((30, 2)))
    kwargs = dict(solver=solver, bias=bias, reg=0.1, max_iter=6, tol=0.0, init=init)
    reference = altmin(dense, 2, **kwargs)
    result = altmin(xp.asarray(dense, device=device), 2, **kwargs)
    assert result.U.device == device if device is not None else True
    estimate = to_numpy(result.U) @ to_numpy(result.V).T
    np.testing.assert_allclose(estimate, reference.U @ reference.V.T, atol=1e-8)
    np.testing.assert_allclose(result.history["rmse"], reference.history["rmse"], rtol=1e-8)
    if bias:
        np.testing.assert_allclose(to_numpy(result.row_bias), reference.row_bias, atol=1e-8)


def test_generic_path_recovers_planted_matrix(xp_device):
    xp, device = xp_device
    planted = make_low_rank(50, 40, 2, density=0.5, random_state=1)
    M = xp.asarray(planted.observed_dense(), device=device)
    result = altmin(M, 2, solver="exact", tol=1e-10, max_iter=200, random_state=0)
    estimate = to_numpy(result.U @ result.V.T)
    assert np.linalg.norm(estimate - planted.matrix) / np.linalg.norm(planted.matrix) < 1e-6


def test_generic_bad_input(xp_device):
    xp, device = xp_device
    with pytest.raises(ValueError, match="larger than the matrix"):
        altmin(xp.ones((3, 4), device=device), 5)
    bad = xp.asarray([[1.0, float("inf")], [2.0, 3.0]], device=device)
    with pytest.raises(ValueError, match="non-finite"):
        altmin(bad, 1)


def test_estimator_with_array_api_dispatch(xp_device, problem, monkeypatch):
    # scikit-learn reads this variable when dispatch is switched on; the estimator's generic
    # path calls no SciPy function on the namespace's arrays
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    xp, device = xp_device
    dense = problem.observed_dense()
    params = dict(rank=2, bias="full", reg=0.05, solver="exact", max_iter=20, random_state=0)
    reference = MatrixCompletion(**params).fit(dense)
    with config_context(array_api_dispatch=True):
        model = MatrixCompletion(**params).fit(xp.asarray(dense, device=device))
        filled = model.transform(xp.asarray(dense, device=device))
        entries = model.predict_entries([0, 5], [1, 2])
    np.testing.assert_allclose(to_numpy(filled), reference.transform(dense), atol=1e-6)
    np.testing.assert_allclose(to_numpy(entries), reference.predict_entries([0, 5], [1, 2]),
                               atol=1e-6)


def test_estimator_defaults_on_the_generic_path(xp_device, problem, monkeypatch):
    """The relative ridge, the joint biases and the clipping give the NumPy path's model."""
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    xp, device = xp_device
    dense = problem.observed_dense()
    params = dict(rank=2, solver="exact", random_state=0)
    reference = MatrixCompletion(**params).fit(dense)
    with config_context(array_api_dispatch=True):
        model = MatrixCompletion(**params).fit(xp.asarray(dense, device=device))
        filled = model.transform(xp.asarray(dense, device=device))
    assert model.scale_ == pytest.approx(reference.scale_, rel=1e-12)
    assert model.value_range_ == pytest.approx(reference.value_range_, rel=1e-12)
    np.testing.assert_allclose(to_numpy(filled), reference.transform(dense), atol=1e-6)


def test_generic_path_refuses_non_finite_factors(xp_device, problem):
    xp, device = xp_device
    U = np.ones((40, 2))
    U[3, 1] = np.inf
    M = xp.asarray(problem.observed_dense(), device=device)
    with pytest.raises(ValueError, match="init factors contain NaN or infinity"):
        altmin(M, 2, init=(U, np.zeros((30, 2))))
    with pytest.raises(ValueError, match=r"init factors have shapes \(40, 2\) and \(29, 2\)"):
        altmin(M, 2, init=(np.ones((40, 2)), np.zeros((29, 2))))
