"""
Greedy block selection against cyclic and random
================================================

Nutini, Laradji & Schmidt (JMLR 2022) show that choosing the block with the largest
gradient-based score (Gauss-Southwell rules ``gs``, ``gsl``, ``gs-q``) makes far more progress
per block update than cycling through the blocks or sampling them at random, on the same
problem and the same block updates. Here: the paper's dataset A (sparse least squares) with an
L1 penalty, blocks of 5 coordinates from a sorted fixed partition, 600 block updates each.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from numsolve.linear_model import L1, Quadratic, bcd, make_paper_dataset

X, y = make_paper_dataset("A", n_samples=500, n_features=1000, random_state=0)
alpha = np.abs(X.T @ y).max() / X.shape[0] / 100
datafit, penalty = Quadratic(), L1(alpha)

# The optimum, to a duality gap of 1e-12 of the objective at zero.
best = bcd(X, y, datafit, penalty, tol=1e-12).objective

# %%
# Each rule runs a fixed budget of block updates; ``history`` records the objective once per
# epoch for the cheap rules and at every update for the greedy ones.
fig, ax = plt.subplots(figsize=(6.4, 4.2))
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed budget, on purpose
    for rule in ("random", "cyclic", "lipschitz", "gs", "gsl", "gs-q"):
        result = bcd(X, y, datafit, penalty, rule=rule, block_size=5, partition="sort",
                     max_iter=600, tol=0.0, random_state=0)
        history = result.history
        ax.semilogy(history["iteration"], history["objective"] - best + 1e-12,
                    marker="o" if len(history["iteration"]) < 20 else None, label=rule)
        print(f"{rule:>9}: objective - optimum after 600 blocks = {result.objective - best:.3g}")
ax.set_xlabel("block updates")
ax.set_ylabel("objective - optimum")
ax.set_title("Lasso on dataset A (500 x 1000), blocks of 5")
ax.legend()
fig.tight_layout()
plt.show()
