"""Demo of numsolve.linear_model: the paper's problems at small sizes, solved in seconds."""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._datafits import Logistic, Multinomial, Quadratic
from ._datasets import make_paper_dataset
from ._penalties import L1, NoPenalty
from ._solver import bcd

__all__ = ["demo"]


def _row(solver, problem, quality, start):
    return {"solver": solver, "problem": problem, "quality": quality,
            "seconds": time.perf_counter() - start}


def demo():
    """Solve Lasso, L1 logistic and L1 multinomial problems, and compare two BCD rules.

    Returns
    -------
    list of dict
        One row per run with keys ``solver``, ``problem``, ``quality``, ``seconds``.
    """
    rows = []
    X, y = make_paper_dataset("A", 300, 2000, random_state=0)
    alpha = np.abs(X.T @ y).max() / 300 / 50
    start = time.perf_counter()
    res = bcd(X, y, Quadratic(), L1(alpha), tol=1e-10)
    rows.append(_row("bcd (working sets + Newton)", "Lasso, paper A 300x2000 CSC, a_max/50",
                     f"gap {res.gap:.1e}, {np.count_nonzero(res.x)} non-zeros", start))
    X, y = make_paper_dataset("B", 300, 2000, random_state=0)
    alpha = np.abs(X.T @ y).max() / 600 / 10
    start = time.perf_counter()
    res = bcd(X, y, Logistic(), L1(alpha), tol=1e-10)
    rows.append(_row("bcd (working sets + Newton)", "L1 logistic, paper B 300x2000, a_max/10",
                     f"gap {res.gap:.1e}, {np.count_nonzero(res.x)} non-zeros", start))
    X, y = make_paper_dataset("C", 300, 200, n_classes=10, sparse=False, random_state=0)
    start = time.perf_counter()
    res = bcd(X, y, Multinomial(), L1(0.05), tol=1e-8)
    rows.append(_row("bcd (feature blocks)", "L1 multinomial, paper C 300x200x10",
                     f"gap {res.gap:.1e}, {np.count_nonzero(res.x)} non-zeros", start))
    X, y = make_paper_dataset("A", 200, 500, random_state=1)
    for rule in ("cyclic", "gsl"):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = bcd(X, y, Quadratic(), NoPenalty(), rule=rule, block_size=5,
                      partition="sort", update="matrix", max_iter=200, tol=0.0)
        rows.append(_row(f"bcd {rule} + matrix update", "least squares, paper A 200x500",
                         f"f after 200 blocks of 5: {res.objective:.3e}", start))
    return rows
