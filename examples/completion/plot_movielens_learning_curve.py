"""
Completion learning curve on MovieLens 100k
===========================================

How the test error of :class:`~numsolve.completion.MatrixCompletion` falls as it sees more
ratings. One tenth of the 100,000 ratings is held out; the model is fitted on growing shares
of the rest with its defaults (a relative ridge ``reg=12`` growing slowly with a
row's or column's count, row and column biases, predictions clipped to the observed range)
and with the ridge chosen on held-out training entries (``reg="auto"``), beside the mean
rating as a baseline.

The ratings are read from the ``recbole`` 1.2.1 wheel (which ships MovieLens 100k) in the
folder named by ``NUMSOLVE_DATA`` or in ``~/.cache/numsolve``; nothing is downloaded. Without
the wheel the example runs on a planted low-rank matrix of the same shape and density
instead, and says so.
"""

import io
import os
import zipfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp

from numsolve.completion import MatrixCompletion, make_low_rank

WHEEL = Path(os.environ.get("NUMSOLVE_DATA", Path.home() / ".cache" / "numsolve"),
             "recbole-1.2.1-py3-none-any.whl")


def load_ratings():
    """``(users, items, ratings, name)``: MovieLens 100k, or a synthetic stand-in."""
    if WHEEL.exists():
        with zipfile.ZipFile(WHEEL) as archive:
            text = archive.read("recbole/dataset_example/ml-100k/ml-100k.inter").decode()
        table = np.loadtxt(io.StringIO(text), skiprows=1, usecols=(0, 1, 2))
        users = np.unique(table[:, 0], return_inverse=True)[1]
        items = np.unique(table[:, 1], return_inverse=True)[1]
        return users, items, table[:, 2], "MovieLens 100k"
    print(f"Note: {WHEEL} not found; using a synthetic rank-5 matrix of MovieLens' shape "
          "(set NUMSOLVE_DATA to the folder holding the recbole 1.2.1 wheel).")
    problem = make_low_rank(943, 1682, 5, density=0.063, noise=0.5, random_state=0)
    ratings = problem.observed.tocoo()
    return ratings.row, ratings.col, ratings.data, "synthetic rank-5 matrix"


users, items, ratings, name = load_ratings()
shape = (users.max() + 1, items.max() + 1)
rng = np.random.default_rng(0)
order = rng.permutation(ratings.size)
test, train = order[: ratings.size // 10], order[ratings.size // 10:]

# %%
# Each point fits on the first share of the (shuffled) training ratings and scores the same
# test ratings.
shares = np.array([0.1, 0.25, 0.5, 0.75, 1.0])
models = {"defaults (reg=12)": {}, 'reg="auto"': {"reg": "auto"}}
curves = {label: [] for label in models}
curves["mean rating"] = []
for share in shares:
    seen = train[: int(share * train.size)]
    X = sp.csr_matrix((ratings[seen], (users[seen], items[seen])), shape=shape)
    for label, params in models.items():
        model = MatrixCompletion(random_state=0, **params).fit(X)
        error = model.predict_entries(users[test], items[test]) - ratings[test]
        curves[label].append(np.sqrt(np.mean(error ** 2)))
    curves["mean rating"].append(np.sqrt(np.mean((ratings[seen].mean() - ratings[test]) ** 2)))
    print(f"{seen.size:6d} ratings: " + ", ".join(f"{label} {curve[-1]:.4f}"
                                                   for label, curve in curves.items()))

fig, ax = plt.subplots(figsize=(6.4, 4.2))
for label, curve in curves.items():
    ax.plot(shares * train.size, curve, marker="o", label=label)
ax.set_xlabel("training ratings")
ax.set_ylabel("test RMSE")
ax.set_title(f"MatrixCompletion on {name}")
ax.legend()
fig.tight_layout()
plt.show()
