"""Sven, Singular Value Descent, in two minutes.

1. Train a small GELU network on the Sven paper's toy 1-D task with ``SvenRegressor`` and
   compare it with scikit-learn's Adam on the same data and epochs.
2. Solve a nonlinear least-squares problem through the low-level ``sven`` function with a
   residual callable and a Jacobian callable, in mini-batches of rows.
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from numsolve.neural import SvenRegressor, make_sven_toy_1d, sven

warnings.simplefilter("ignore", ConvergenceWarning)

X, y, X_val, y_val = make_sven_toy_1d(5000, 5000, random_state=0)
for name, model in [
    ("Sven (tanh)", SvenRegressor(hidden_layer_sizes=(16, 16, 16), activation="tanh",
                                  max_iter=10, random_state=1)),
    ("Adam (tanh)", MLPRegressor(hidden_layer_sizes=(16, 16, 16), activation="tanh",
                                 batch_size=32, max_iter=10, alpha=0.0, random_state=1)),
]:
    start = time.perf_counter()
    model.fit(X, y)
    mse = np.mean((model.predict(X_val) - y_val) ** 2)
    print(f"{name:<12} validation MSE {mse:.2e}  ({time.perf_counter() - start:.1f} s)")

# Low-level API: fit y = a / (1 + exp(-b (t - c))) to 5,000 noisy points, 256 rows a step.
rng = np.random.default_rng(0)
t = rng.uniform(-5, 5, 5000)
observed = 3.0 / (1.0 + np.exp(-1.7 * (t - 0.4))) + 0.01 * rng.standard_normal(t.size)


def residuals(x, rows):
    return x[0] / (1.0 + np.exp(-x[1] * (t[rows] - x[2]))) - observed[rows]


def jacobian(x, rows):
    s = 1.0 / (1.0 + np.exp(-x[1] * (t[rows] - x[2])))
    ds = s * (1.0 - s)
    return np.stack([s, x[0] * ds * (t[rows] - x[2]), -x[0] * ds * x[1]], axis=1)


result = sven(residuals, np.array([1.0, 1.0, 0.0]), jac=jacobian, batch_size=256,
              learning_rate=0.5, rtol=1e-8, max_iter=30, tol=1e-6, random_state=0)
print(result)
print("fitted (a, b, c):", np.round(result.x, 3))
