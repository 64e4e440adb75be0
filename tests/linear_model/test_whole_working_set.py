"""A working set holding every kept feature is the whole problem: with fast epochs it is
solved to the requested gap in one inner solve, not one epoch per outer iteration."""

import numpy as np
import scipy.sparse as sp

from numsolve.linear_model import L1, Quadratic, bcd
from numsolve.linear_model import _working_set
from numsolve.linear_model._objective import optimality


def test_whole_working_set_is_solved_once(monkeypatch):
    n, p = 3000, 300
    rng = np.random.default_rng(0)
    X = sp.random(n, p, density=0.05, format="csc", random_state=0,
                  data_rvs=rng.standard_normal)
    w = np.zeros(p)
    w[rng.choice(p, 50, replace=False)] = 3 * rng.standard_normal(50)
    y = X @ w + 0.1 * rng.standard_normal(n)
    alpha = np.abs(X.T @ y).max() / n / 1000
    sizes = []
    inner = _working_set._inner

    def counted(design, y, a, datafit, penalty, W, b, Z, G, ws, *args):
        sizes.append(ws.size)
        return inner(design, y, a, datafit, penalty, W, b, Z, G, ws, *args)

    monkeypatch.setattr(_working_set, "_inner", counted)
    result = bcd(X, y, Quadratic(), L1(alpha), tol=1e-8, gram=False, screening=False)
    assert result.converged
    # the schedule doubles up to the whole problem, then one solve ends it (one epoch per
    # outer iteration took four more whole-problem solves)
    assert sizes.count(p) == 1 and sizes[-1] == p
    # the gap recomputed from the returned coefficients meets the request
    a = np.full(n, 1.0 / n)
    W = result.x.reshape(-1, 1)
    Z = np.asarray(X @ W)
    G = Quadratic().raw_gradient(Z, y, a, np)
    _, gap, _ = optimality(Quadratic(), L1(alpha), W, Z, y, a, np.asarray(X.T @ G), G, np)
    assert gap <= result.extras["threshold"]
