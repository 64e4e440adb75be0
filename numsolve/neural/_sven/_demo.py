"""Demo of Sven: the paper's toy 1-D regression and a curve fit through the low-level API."""

import time

import numpy as np

from ._datasets import make_sven_toy_1d
from ._estimators import SvenRegressor
from ._solver import sven

__all__ = ["demo"]


def demo():
    """Run the Sven demos; return rows with keys solver, problem, quality, seconds.

    Examples
    --------
    >>> from numsolve.neural._sven._demo import demo
    >>> rows = demo()
    >>> [row["solver"] for row in rows]
    ['SvenRegressor', 'sven']
    """
    rows = []
    X, y, X_val, y_val = make_sven_toy_1d(2000, 2000, random_state=0)
    start = time.perf_counter()
    model = SvenRegressor(hidden_layer_sizes=(16, 16, 16), max_iter=10,
                          random_state=1).fit(X, y)
    seconds = time.perf_counter() - start
    mse = float(np.mean((model.predict(X_val) - y_val) ** 2))
    rows.append({"solver": "SvenRegressor",
                 "problem": "toy 1-D exp(-10x^2)sin(2x), 2k points, GELU MLP 593 params, "
                            "batch 32, 10 epochs",
                 "quality": f"validation MSE {mse:.2e}", "seconds": seconds})

    t = np.linspace(0.0, 3.0, 200)
    observed = 2.0 * np.exp(-1.3 * t) * np.cos(4.0 * t)

    def residuals(x):
        return x[0] * np.exp(-x[1] * t) * np.cos(x[2] * t) - observed

    def jacobian(x):
        decay, wave = np.exp(-x[1] * t), np.cos(x[2] * t)
        return np.stack([decay * wave, -x[0] * t * decay * wave,
                         -x[0] * t * decay * np.sin(x[2] * t)], axis=1)

    start = time.perf_counter()
    result = sven(residuals, np.array([1.0, 1.0, 3.8]), jac=jacobian, rtol=1e-10,
                  max_iter=100)
    seconds = time.perf_counter() - start
    rows.append({"solver": "sven",
                 "problem": "damped-cosine curve fit, 200 residuals, 3 parameters "
                            "(Gauss-Newton limit)",
                 "quality": f"cost {result.cost:.1e} after {result.n_iter} steps, "
                            f"x = {np.round(result.x, 6).tolist()}",
                 "seconds": seconds})
    return rows
