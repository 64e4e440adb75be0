"""Several coordinate epochs in one compiled call (``cd_epochs``): the same iterates as one
call per epoch for every datafit and layout, the working set's coefficients after each epoch
for the Anderson extrapolation, and one call per check of the tall sparse route."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Lasso

from numsolve.linear_model import L1, Quadratic, _cd, bcd
from numsolve.linear_model._cd import DatafitKind
from numsolve.linear_model._design import Design


def _targets(rng, kind, n):
    if kind == DatafitKind.LOGISTIC:
        return np.where(rng.random(n) < 0.5, -1.0, 1.0), 1
    if kind == DatafitKind.MULTINOMIAL:
        return rng.integers(0, 3, n).astype(float), 3
    return rng.standard_normal(n), 1


@pytest.mark.parametrize("kind", [DatafitKind.LEAST_SQUARES, DatafitKind.LOGISTIC,
                                  DatafitKind.MULTINOMIAL])
@pytest.mark.parametrize("layout", ["csc", "dense"])
@pytest.mark.parametrize("weights", ["equal", "unequal"])
def test_epochs_in_one_call_follow_the_single_epochs(rng, kind, layout, weights):
    """Four epochs in one call take the same floats as four calls of one epoch (the
    residual-only least-squares epochs pass their residual through ``Z``'s round trip
    without writing ``Z``), and each snapshot row is ``W[ws]`` after its epoch."""
    n, p = 80, 30
    X = sp.random(n, p, density=0.4, format="csc", random_state=2,
                  data_rvs=rng.standard_normal)
    X = X if layout == "csc" else np.asfortranarray(X.toarray())
    y, K = _targets(rng, kind, n)
    a = np.full(n, 1.0 / n) if weights == "equal" else rng.uniform(0.5, 1.5, n) / n
    design = Design(X)
    lips = design.col_sq_norms(a) * (0.25 if kind == DatafitKind.LOGISTIC else 1.0)
    ws = np.arange(2, p, dtype=np.int32)
    l1 = 0.02
    W_one, Z_one = np.zeros((p, K)), np.zeros((n, K))
    expected = []
    for _ in range(4):
        design.epoch(kind, y, a, W_one, Z_one, ws, lips, l1, 0.0, False)
        expected.append(W_one[ws].ravel())
    W, Z = np.zeros((p, K)), np.zeros((n, K))
    snapshots = np.full((4, ws.size * K + 2), -7.0)
    design.epochs(kind, y, a, W, Z, ws, lips, l1, 0.0, False, snapshots)
    np.testing.assert_array_equal(W, W_one)
    np.testing.assert_array_equal(Z, Z_one)
    np.testing.assert_array_equal(snapshots[:, :ws.size * K], expected)
    np.testing.assert_array_equal(snapshots[:, ws.size * K:], -7.0)  # the rest untouched
    assert np.count_nonzero(W) > 0 and not np.array_equal(expected[0], expected[-1])


def test_short_snapshot_rows_only_count_the_epochs(rng):
    """Rows shorter than the working set's coefficients receive nothing: the call runs as
    many epochs as there are rows."""
    n, p = 60, 20
    X = sp.random(n, p, density=0.5, format="csc", random_state=4,
                  data_rvs=rng.standard_normal)
    y = rng.standard_normal(n)
    a = np.full(n, 1.0 / n)
    design = Design(X)
    lips = design.col_sq_norms(a)
    ws = np.arange(p, dtype=np.int32)
    W_one, Z_one = np.zeros((p, 1)), np.zeros((n, 1))
    for _ in range(3):
        design.epoch(DatafitKind.LEAST_SQUARES, y, a, W_one, Z_one, ws, lips, 0.01, 0.0, False)
    W, Z = np.zeros((p, 1)), np.zeros((n, 1))
    _cd.cd_epochs(DatafitKind.LEAST_SQUARES, *design._columns, y, a, W, Z, ws, lips, 0.01,
                  0.0, False, np.empty((3, 0)))
    np.testing.assert_array_equal(W, W_one)
    np.testing.assert_array_equal(Z, Z_one)


def test_tall_sparse_fit_runs_one_call_per_check(monkeypatch):
    """The tall sparse route (every feature one working set, a check every few epochs)
    enters the compiled epochs once per check, not once per epoch, and still meets its
    gap against scikit-learn's solution."""
    rng = np.random.default_rng(0)
    n, p = 4000, 200
    X = sp.random(n, p, density=0.02, format="csc", random_state=0,
                  data_rvs=rng.standard_normal)
    w = np.zeros(p)
    w[rng.choice(p, 20, replace=False)] = 3 * rng.standard_normal(20)
    y = X @ w + 0.1 * rng.standard_normal(n)
    alpha = np.abs(X.T @ y).max() / n / 1000
    calls = []
    epochs = Design.epochs

    def counted(self, kind, y, a, W, Z, ws, lips, l1, l2, positive, snapshots):
        calls.append(len(snapshots))
        return epochs(self, kind, y, a, W, Z, ws, lips, l1, l2, positive, snapshots)

    monkeypatch.setattr(Design, "epochs", counted)
    result = bcd(X, y, Quadratic(), L1(alpha), tol=1e-8)
    assert result.converged and result.route == "columns"
    assert sum(calls) == result.extras["epochs"]
    assert len(calls) < result.extras["epochs"] and max(calls) > 1
    reference = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(result.x, reference.coef_, atol=1e-6)
