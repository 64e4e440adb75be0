"""Matrix completion in a few lines: recover a low-rank matrix from 5 % of its entries.

Run: ``python examples/completion.py``
"""

import numpy as np

from numsolve.completion import MatrixCompletion, altmin, make_low_rank

# A planted rank-5 matrix, 1000 x 800, of which 5 % of the entries are seen (noise 0.05),
# a tenth of them held out to measure the error on entries the solver never saw.
problem = make_low_rank(1000, 800, 5, density=0.05, noise=0.05, test_fraction=0.1,
                        random_state=0)
print(problem)

# The solver function: factors U (1000 x 5) and V (800 x 5) with U V^T ~ M.
result = altmin(problem.observed, 5, reg=0.001, tol=1e-4, validation=problem.heldout,
                random_state=0)
print(result)
print("held-out RMSE per sweep:", np.round(result.history["validation_rmse"], 4))

# The estimator: fit on a sparse matrix of observations, predict any entry. Its default ridge
# suits noisy ratings; reg="auto" chooses it on a held-out share of the observations.
model = MatrixCompletion(rank=5, reg="auto", random_state=0).fit(problem.observed)
print(f"ridge chosen: {model.reg_:.3g} (default 15)")
rows, cols = problem.heldout.nonzero()
error = model.predict_entries(rows, cols) - np.asarray(problem.heldout[rows, cols]).ravel()
print(f"held-out RMSE {np.sqrt(np.mean(error ** 2)):.4f} (noise level {problem.noise})")

# As an imputer on a dense array with NaN for missing entries (drops into a Pipeline); reg=0
# recovers a noiseless low-rank matrix exactly.
small = make_low_rank(200, 30, 3, density=0.5, random_state=1)
filled = MatrixCompletion(rank=3, reg=0, random_state=0).fit_transform(small.observed_dense())
print(f"imputation max error {np.abs(filled - small.matrix).max():.2e}")
