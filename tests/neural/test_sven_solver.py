"""The low-level ``sven`` solver on generic least-squares problems."""

import warnings

import numpy as np
import pytest
from scipy.optimize import least_squares
from sklearn.exceptions import ConvergenceWarning

from numsolve import SolveResult
from numsolve._array_api import to_numpy
from numsolve.neural._sven._solver import sven

T = np.linspace(0.0, 2.0, 25)
Y_EXP = 1.5 * np.exp(-0.8 * T) + 0.3


def exp_residuals(x, rows=slice(None)):
    return (x[0] * np.exp(x[1] * T) + x[2] - Y_EXP)[rows]


def exp_jacobian(x, rows=slice(None)):
    e = np.exp(x[1] * T)
    return np.stack([e, x[0] * T * e, np.ones_like(T)], axis=1)[rows]


def run(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return sven(**kwargs)


def test_one_full_rank_step_is_the_gauss_newton_step():
    x0 = np.array([1.0, -0.5, 0.0])
    r, J = exp_residuals(x0), exp_jacobian(x0)
    gauss_newton = x0 - np.linalg.lstsq(J, r, rcond=None)[0]
    for method in ("gram", "svd"):
        res = run(residuals=exp_residuals, x0=x0, jac=exp_jacobian, method=method, k=3,
                  rtol=0.0, max_iter=1, safeguard=False)
        np.testing.assert_allclose(res.x, gauss_newton, rtol=1e-9)


def test_truncated_step_uses_only_the_leading_directions():
    x0 = np.array([1.0, -0.5, 0.0])
    r, J = exp_residuals(x0), exp_jacobian(x0)
    U, s, Vt = np.linalg.svd(J, full_matrices=False)
    expected = x0 - 0.5 * Vt[:2].T @ (U[:, :2].T @ r / s[:2])
    res = run(residuals=exp_residuals, x0=x0, jac=exp_jacobian, k=2, rtol=0.0,
              learning_rate=0.5, max_iter=1, safeguard=False)
    np.testing.assert_allclose(res.x, expected, rtol=1e-9)


def test_converges_like_scipy_least_squares():
    x0 = np.array([1.0, -0.5, 0.0])
    reference = least_squares(exp_residuals, x0, jac=exp_jacobian, method="lm").x
    res = sven(exp_residuals, x0, jac=exp_jacobian, rtol=1e-12, max_iter=50)
    assert isinstance(res, SolveResult) and res.converged
    np.testing.assert_allclose(res.x, reference, rtol=1e-7)
    np.testing.assert_allclose(res.x, [1.5, -0.8, 0.3], rtol=1e-7)
    assert res.cost < 1e-20 and res.fun.shape == T.shape


def test_overparametrised_linear_problem_lands_on_the_minimum_norm_solution():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 20))
    b = rng.standard_normal(6)
    res = sven(lambda x: A @ x - b, np.zeros(20), jac=lambda x: A, rtol=0.0, max_iter=3)
    np.testing.assert_allclose(res.x, np.linalg.pinv(A) @ b, atol=1e-10)


def test_cost_decreases_on_a_convex_least_squares_problem():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((200, 10))
    x_true = rng.standard_normal(10)
    b = A @ x_true + 0.1 * rng.standard_normal(200)
    optimum = 0.5 * np.sum((A @ np.linalg.lstsq(A, b, rcond=None)[0] - b) ** 2)
    full = run(residuals=lambda x: A @ x - b, x0=np.zeros(10), jac=lambda x: A,
               learning_rate=0.5, max_iter=30)
    excess = full.history["cost"] - optimum
    assert np.all(np.diff(full.history["cost"]) < 0)
    np.testing.assert_allclose(excess[1:11] / excess[:10], 0.25, rtol=1e-6)  # (1 - lr)^2
    # Mini-batches of 16 rows: a consistent system is solved exactly ...
    consistent = run(residuals=lambda x, rows: A[rows] @ x - (A @ x_true)[rows],
                     x0=np.zeros(10), jac=lambda x, rows: A[rows], batch_size=16,
                     max_iter=10, random_state=0)
    assert consistent.history["cost"][-1] < 1e-20 * consistent.history["cost"][0]
    assert np.all(np.diff(consistent.history["cost"]) < 0)
    # ... and a noisy one is approached with a small step.
    noisy = run(residuals=lambda x, rows: A[rows] @ x - b[rows], x0=np.zeros(10),
                jac=lambda x, rows: A[rows], batch_size=16, learning_rate=0.05,
                max_iter=10, random_state=0)
    assert noisy.history["cost"][-1] < 1.2 * optimum
    assert noisy.n_steps == noisy.n_iter * 13


def test_safeguard_prevents_blow_up():
    # A step of 50 Gauss-Newton steps overshoots; the backtracking keeps the cost falling.
    x0 = np.array([1.0, -0.5, 0.0])
    safe = run(residuals=exp_residuals, x0=x0, jac=exp_jacobian, learning_rate=50.0,
               rtol=1e-12, max_iter=20)
    assert np.all(np.diff(safe.history["cost"]) <= 0)
    with np.errstate(over="ignore", invalid="ignore"):
        unsafe = run(residuals=exp_residuals, x0=x0, jac=exp_jacobian, learning_rate=50.0,
                     rtol=1e-12, max_iter=3, safeguard=False)
    assert not unsafe.cost < safe.history["cost"][0]


def test_gram_callable_matches_jacobian_path():
    x0 = np.array([1.0, -0.5, 0.0])

    def gram(x, rows):
        J = exp_jacobian(x, rows)
        return exp_residuals(x, rows), J @ J.T, lambda w: J.T @ w

    kwargs = dict(residuals=exp_residuals, x0=x0, batch_size=7, max_iter=4, rtol=1e-6,
                  random_state=3)
    a = run(gram=gram, **kwargs)
    b = run(jac=exp_jacobian, **kwargs)
    c = run(jac=exp_jacobian, method="randomized", k=3, **kwargs)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-10)
    np.testing.assert_allclose(a.x, c.x, rtol=1e-6)


def test_deterministic_and_input_unchanged():
    x0 = np.array([1.0, -0.5, 0.0])
    copy = x0.copy()
    kwargs = dict(residuals=exp_residuals, x0=x0, jac=exp_jacobian, batch_size=5,
                  max_iter=3, random_state=0)
    np.testing.assert_array_equal(run(**kwargs).x, run(**kwargs).x)
    np.testing.assert_array_equal(x0, copy)


def test_float32():
    x0 = np.array([1.0, -0.5, 0.0], dtype=np.float32)
    T32, Y32 = T.astype(np.float32), Y_EXP.astype(np.float32)
    res = run(residuals=lambda x: x[0] * np.exp(x[1] * T32) + x[2] - Y32, x0=x0,
              jac=lambda x: np.stack([np.exp(x[1] * T32), x[0] * T32 * np.exp(x[1] * T32),
                                      np.ones_like(T32)], axis=1), rtol=1e-6, max_iter=30)
    assert res.x.dtype == np.float32
    np.testing.assert_allclose(res.x, [1.5, -0.8, 0.3], rtol=1e-3)


def test_history_warning_and_callback():
    x0 = np.array([1.0, -0.5, 0.0])
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = sven(exp_residuals, x0, jac=exp_jacobian, learning_rate=0.1, max_iter=2)
    assert not res.converged and res.n_iter == 2
    assert set(res.history) >= {"iteration", "elapsed", "cost", "rank", "step_norm"}
    assert len(res.history["cost"]) == 3
    seen = []
    res = sven(exp_residuals, x0, jac=exp_jacobian, learning_rate=0.1, max_iter=10,
               callback=lambda x, epoch, cost: seen.append(epoch) or epoch == 3)
    assert seen == [1, 2, 3] and res.n_iter == 3 and "callback" in res.message


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(residuals=1), TypeError, "residuals must be callable"),
    (dict(jac=None), ValueError, "exactly one of jac and gram"),
    (dict(gram=lambda x: None), ValueError, "exactly one of jac and gram"),
    (dict(jac=3), TypeError, "jac must be callable"),
    (dict(method="qr"), ValueError, "method must be one of"),
    (dict(method="randomized"), ValueError, "needs the rank k"),
    (dict(k=0), ValueError, "k must be a positive integer"),
    (dict(k=2.5), ValueError, "k must be a positive integer"),
    (dict(rtol=-1.0), ValueError, "rtol must lie in"),
    (dict(rtol=2.0), ValueError, "rtol must lie in"),
    (dict(learning_rate=0.0), ValueError, "learning_rate must lie in"),
    (dict(learning_rate="big"), TypeError, "learning_rate must be a real number"),
    (dict(max_iter=0), ValueError, "max_iter must be a positive integer"),
    (dict(batch_size=0), ValueError, "batch_size must be a positive integer"),
    (dict(x0=np.ones((3, 1))), ValueError, "x0 must have 1 dimensions"),
    (dict(x0=np.array([1.0, np.nan, 0.0])), ValueError, "x0 contains NaN"),
    (dict(x0=np.array([1.0 + 1j, 0, 0])), TypeError, "x0 has complex dtype"),
    (dict(x0="abc"), TypeError, "not an array"),
    (dict(residuals=lambda x: np.ones((25, 1))), ValueError, "1-D array of rows"),
    (dict(residuals=lambda x: np.full(25, np.inf)), ValueError, "NaN or infinity"),
])
def test_bad_input(kwargs, error, match):
    base = dict(residuals=exp_residuals, x0=np.array([1.0, -0.5, 0.0]), jac=exp_jacobian)
    if "gram" in kwargs:
        base.pop("jac")
        kwargs = {**kwargs, "jac": exp_jacobian}
    base.update(kwargs)
    with pytest.raises(error, match=match):
        sven(**base)


def test_array_namespace_matches_numpy(xp_device):
    xp, device = xp_device
    rng = np.random.default_rng(2)
    A = rng.standard_normal((40, 5))
    b = np.tanh(A @ rng.standard_normal(5))

    def make(namespace, A, b):
        def residuals(x, rows):
            Ab = A if isinstance(rows, slice) else namespace.take(A, rows, axis=0)
            bb = b if isinstance(rows, slice) else namespace.take(b, rows, axis=0)
            return namespace.tanh(Ab @ x) - bb

        def jac(x, rows):
            Ab = A if isinstance(rows, slice) else namespace.take(A, rows, axis=0)
            return (1 - namespace.tanh(Ab @ x) ** 2)[:, None] * Ab

        return residuals, jac

    kwargs = dict(batch_size=8, max_iter=4, learning_rate=0.7, random_state=0, rtol=1e-8)
    residuals, jac = make(np, A, b)
    expected = run(residuals=residuals, x0=np.zeros(5), jac=jac, **kwargs)
    A_x, b_x = xp.asarray(A, device=device), xp.asarray(b, device=device)
    residuals, jac = make(xp, A_x, b_x)
    x0 = xp.zeros(5, dtype=xp.float64, device=device)
    res = run(residuals=residuals, x0=x0, jac=jac, **kwargs)
    from array_api_compat import device as device_of

    assert device_of(res.x) == device_of(x0)
    np.testing.assert_allclose(to_numpy(res.x), expected.x, rtol=1e-9)
    np.testing.assert_allclose(res.history["cost"], expected.history["cost"], rtol=1e-6)


def test_microbatch_step_is_the_pseudoinverse_step_of_the_grouped_rows():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((12, 30))
    b = rng.standard_normal(12)
    x0 = rng.standard_normal(30)
    r = A @ x0 - b
    groups = np.arange(12) // 4
    R = np.sqrt(np.bincount(groups, weights=r * r))
    C = np.zeros((3, 12))
    C[groups, np.arange(12)] = r / R[groups]
    expected = x0 - np.linalg.pinv(C @ A) @ R

    def gram(x):
        return A @ x - b, A @ A.T, lambda w: A.T @ w

    for kwargs in (dict(jac=lambda x: A), dict(jac=lambda x: A, method="svd"),
                   dict(gram=gram)):
        res = run(residuals=lambda x: A @ x - b, x0=x0, microbatch_size=4, rtol=0.0,
                  max_iter=1, safeguard=False, **kwargs)
        np.testing.assert_allclose(res.x, expected, rtol=1e-8, atol=1e-10)
        assert res.history["rank"][-1] == 3
    # The grouped step keeps the batch cost falling.
    res = run(residuals=lambda x: A @ x - b, x0=x0, jac=lambda x: A, microbatch_size=4,
              max_iter=10)
    assert np.all(np.diff(res.history["cost"]) < 0)
    with pytest.raises(ValueError, match="microbatch_size"):
        sven(lambda x: A @ x - b, x0, jac=lambda x: A, microbatch_size=0)
