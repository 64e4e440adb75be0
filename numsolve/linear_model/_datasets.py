"""The paper's synthetic problems (Nutini, Laradji & Schmidt 2022, datasets A, B and C)."""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

__all__ = ["make_paper_dataset"]


def make_paper_dataset(name, n_samples=1000, n_features=10000, n_classes=50, *,
                       sparse=True, random_state=0):
    """Generate dataset A (least squares), B (logistic) or C (multinomial) by the paper's recipe.

    ``X = (randn + 1) diag(10 randn)`` with each entry kept with probability
    ``10 log(m) / m``; ``w* = randn * (rand < 0.1)``. A: ``y = X w* + randn``; B:
    ``y = sign(X w*)`` with 10% of the signs flipped; C: ``W* = randn(n, k)``, labels
    ``argmax(X W* + randn)``.

    Parameters
    ----------
    name : {"A", "B", "C"}
        Which problem: A least squares, B binary logistic, C multinomial.
    n_samples : int, default=1000
        ``m`` (the paper: 1000).
    n_features : int, default=10000
        ``n`` (the paper: 10000 for A and B, 1000 for C).
    n_classes : int, default=50
        Classes of dataset C; ignored for A and B.
    sparse : bool, default=True
        Return X as a CSC matrix (about ``10 log(m) / m`` of its entries are non-zero).
    random_state : int, RandomState instance or None, default=0
        Seeds the draw; the same int gives the same problem.

    Returns
    -------
    X : ndarray or scipy.sparse.csc_matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Floats (A), -1/+1 labels (B) or class indices (C).

    Examples
    --------
    >>> from numsolve.linear_model import make_paper_dataset
    >>> X, y = make_paper_dataset("B", 50, 80)
    >>> X.shape, sorted(set(y.tolist()))
    ((50, 80), [-1.0, 1.0])
    """
    if name not in ("A", "B", "C"):
        raise ValueError(f"name must be 'A', 'B' or 'C', got {name!r}")
    rng = check_random_state(random_state)
    m, n = n_samples, n_features
    X = (rng.standard_normal((m, n)) + 1.0) * (10.0 * rng.standard_normal(n))
    X *= rng.uniform(size=(m, n)) < min(1.0, 10.0 * np.log(m) / m)
    if name == "C":
        W = rng.standard_normal((n, n_classes))
        y = np.argmax(X @ W + rng.standard_normal((m, n_classes)), axis=1).astype(float)
    else:
        w = rng.standard_normal(n) * (rng.uniform(size=n) < 0.1)
        if name == "A":
            y = X @ w + rng.standard_normal(m)
        else:
            y = np.sign(X @ w)
            y[y == 0] = 1.0
            y[rng.uniform(size=m) < 0.1] *= -1.0
    return (sp.csc_matrix(X) if sparse else X), y
