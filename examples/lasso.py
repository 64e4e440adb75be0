"""Lasso with numsolve's block coordinate descent, next to scikit-learn's.

Run: python examples/lasso.py
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso as SklearnLasso

from numsolve.linear_model import L1, Lasso, Quadratic, bcd, lasso_path, make_paper_dataset

X, y = make_paper_dataset("A", 500, 5000, random_state=0)  # sparse CSC, the paper's recipe
alpha = np.abs(X.T @ y).max() / X.shape[0] / 100

# 1. the estimator, a drop-in for sklearn.linear_model.Lasso
for model in (Lasso(alpha=alpha, fit_intercept=False, tol=1e-8),
              SklearnLasso(alpha=alpha, fit_intercept=False, tol=1e-8, max_iter=100_000)):
    start = time.perf_counter()
    model.fit(X, y)
    print(f"{type(model).__module__.split('.')[0]:>9} Lasso: {time.perf_counter() - start:.3f} s, "
          f"{np.count_nonzero(model.coef_)} non-zeros")

# 2. the solver function: a SolveResult with the duality gap and its history
res = bcd(X, y, Quadratic(), L1(alpha), tol=1e-10)
print(res)
print("gap per outer iteration:", np.array2string(res.history["gap"], precision=1))

# 3. the paper's greedy rules on the same problem (one block of 5 coordinates per iteration)
warnings.simplefilter("ignore", ConvergenceWarning)  # fixed budget of 300 blocks on purpose
for rule in ("random", "cyclic", "gsl", "gs-q"):
    r = bcd(X[:, :1000], y, Quadratic(), L1(alpha), rule=rule, block_size=5,
            partition="sort", max_iter=300, tol=0.0, random_state=0)
    print(f"rule={rule:<7} objective after 300 blocks: {r.objective:.6g}")

# 4. a regularisation path with warm starts
alphas, coefs, gaps = lasso_path(X, y, n_alphas=20)
print("non-zeros along the path:", (coefs != 0).sum(axis=0))
