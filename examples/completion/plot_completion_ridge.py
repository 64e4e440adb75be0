"""
Exact recovery or a ridge: choosing ``reg`` for matrix completion
=================================================================

Alternating minimisation recovers an exactly low-rank matrix from few entries without any
ridge (Gu, Song, Yin & Zhang, 2023), but noisy data such as ratings need one. Left: the
error of :class:`~numsolve.completion.MatrixCompletion` with ``reg=0`` on a noiseless rank-5
matrix against the share of entries seen; past a threshold the recovery is exact to the
solver's tolerance. Right: on the same matrix with noise, the held-out error of every ridge
that ``reg="auto"`` tries (pooled over three held-out tenths of the training entries), the
one it picks, and the default ``reg=12``.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from numsolve.completion import MatrixCompletion, make_low_rank

rows, columns, rank = 300, 200, 5
densities = [0.06, 0.08, 0.1, 0.15, 0.2, 0.3]
errors = []
for density in densities:
    problem = make_low_rank(rows, columns, rank, density=density, random_state=0)
    model = MatrixCompletion(rank=rank, reg=0, bias="none", random_state=0)
    with warnings.catch_warnings():
        # below the threshold the sweeps cannot converge: that failure is what is plotted
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(problem.observed)
    full = model.row_factors_ @ model.components_
    errors.append(np.linalg.norm(full - problem.matrix) / np.linalg.norm(problem.matrix))
    print(f"density {density:.2f}: relative error {errors[-1]:.1e}")

# %%
# With noise of standard deviation 0.3 (the entries have unit scale) the ridge matters. The
# default ``reg=12`` suits ratings (MovieLens: rows and columns with tens to hundreds of
# entries and a large share of noise); on this matrix, with much less noise than signal, it
# is far too strong, and ``reg="auto"`` finds a ridge more than twenty times weaker.
noisy = make_low_rank(rows, columns, rank, density=0.2, noise=0.3, test_fraction=0.2,
                      random_state=0)
test_rows, test_columns = noisy.heldout.nonzero()
truth = np.asarray(noisy.heldout[test_rows, test_columns]).ravel()
auto = MatrixCompletion(rank=rank, reg="auto", random_state=0).fit(noisy.observed)
for label, model in [('reg="auto"', auto),
                     ("reg=12", MatrixCompletion(rank=rank, random_state=0).fit(noisy.observed))]:
    error = model.predict_entries(test_rows, test_columns) - truth
    print(f"{label}: ridge {model.reg_:.3g}, test RMSE {np.sqrt(np.mean(error ** 2)):.4f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.semilogy(densities, errors, marker="o")
left.set_xlabel("share of entries observed")
left.set_ylabel("relative error of the completed matrix")
left.set_title(f"reg=0 on an exact rank-{rank} {rows} x {columns} matrix")

path = auto.reg_path_
order = np.argsort(path["reg"])
right.semilogx(path["reg"][order], path["validation_rmse"][order], marker="o",
               label="held-out RMSE of each ridge tried")
right.axvline(auto.reg_, color="C1", label=f'reg="auto" picks {auto.reg_:.3g}')
right.axvline(12, color="C2", ls="--", label="default reg=12")
right.set_xlabel("relative ridge reg")
right.set_ylabel("held-out RMSE")
right.set_title("The ridge path on noisy entries")
right.legend()
fig.tight_layout()
plt.show()
