"""
A Lasso regularisation path and one fit's convergence
=====================================================

:func:`numsolve.linear_model.lasso_path` solves the Lasso for a decreasing grid of penalties,
each fit warm-started from the previous one, with the objective and return values of
scikit-learn's ``lasso_path``. The estimator :class:`numsolve.linear_model.Lasso` records
the duality gap of every outer iteration of its working-set solver in ``history_``, which
:func:`numsolve.plotting.plot_convergence` draws.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import StandardScaler

from numsolve.linear_model import Lasso, lasso_path
from numsolve.plotting import plot_convergence

X, y = load_diabetes(return_X_y=True)
X = StandardScaler().fit_transform(X)
y = y - y.mean()

alphas, coefs, gaps = lasso_path(X, y, n_alphas=60)

# %%
# Left: each coefficient against the penalty (features enter as alpha decreases). Right: the
# duality gap of one fit, at the alpha where five features are active.
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.semilogx(alphas, coefs.T)
left.invert_xaxis()
left.set_xlabel("alpha")
left.set_ylabel("coefficient")
left.set_title("Lasso path, diabetes (10 features)")

alpha = alphas[np.argmax((coefs != 0).sum(axis=0) >= 5)]
model = Lasso(alpha=alpha, fit_intercept=False, tol=1e-10).fit(X, y)
plot_convergence(model, ax=right)
right.set_title(f"Lasso(alpha={alpha:.3g}): duality gap")
fig.tight_layout()
print(f"{np.count_nonzero(model.coef_)} non-zero coefficients, final gap {model.dual_gap_:.2e}")
plt.show()
