"""``reg="auto"``: the ridge chosen on entries held out of the training observations.

A fraction of the observed entries is set aside (never the caller's test set: only what
``fit`` received), and :func:`numsolve.completion.altmin` runs down a geometric grid of ridge
weights from strong to weak, each fit warm-started from the previous one and stopped after a
few sweeps. The grid walk ends once the held-out RMSE has failed to improve for a few grid
points in a row with factors not zeroed by the ridge, as the weaker ridges past the best one
only overfit more.
"""

import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from ._solver import altmin

__all__ = ["RegPath", "reg_path", "split_observed"]

GRID_RATIO = 2.0
GRID_ABOVE = 3  # grid points above the default ridge: 8x default is well past any optimum
GRID_SIZE = 20  # down to default / 65536 (2e-4), where nearly noiseless data want their ridge
PATH_SWEEPS = 5  # sweeps per grid point; warm starts make more of them change little
PATIENCE = 2  # grid points without improvement that end the walk
# factors whose product has an RMS below this share of the residual's are taken as collapsed
# to zero by a strong ridge; zero is a fixed point of alternating minimisation, so the next grid
# point restarts from the spectral start instead of from them
COLLAPSED = 0.01


class RegPath(NamedTuple):
    """The ridges tried (the grid walked, strongest first), their held-out RMSE and the best
    one."""

    grid: np.ndarray
    validation_rmse: np.ndarray
    reg: float


def split_observed(X, fraction, rng):
    """Split the CSR observations ``X`` into ``(kept, held_out)`` CSR matrices of its shape."""
    coo = X.tocoo()
    held = rng.random_sample(coo.nnz) < fraction
    parts = []
    for pick in (~held, held):
        parts.append(sp.csr_matrix((coo.data[pick], (coo.row[pick], coo.col[pick])),
                                   shape=X.shape, dtype=X.dtype))
    return parts[0], parts[1]


def reg_path(residual, rank, *, default, fraction, rng, bias, altmin_options):
    """Walk the ridge grid on a held-out part of ``residual`` (CSR); return a :class:`RegPath`.

    Parameters
    ----------
    residual : scipy.sparse.csr_matrix
        The training observations less the baseline (what the factors fit), divided by their
        RMS: the ridge weights of the grid are relative to that unit scale.
    rank : int
    default : float
        The relative ridge the grid is centred on (the estimator's default ``reg``).
    fraction : float
        Share of the observed entries held out.
    rng : numpy.random.RandomState
        Draws the held-out entries and seeds every fit of the walk.
    bias : bool
        Whether the fits include row and column offsets.
    altmin_options : dict
        ``reg_scaling``, ``solver``, ``inner_iter``, ``sketch_size`` of the fits.
    """
    kept, held = split_observed(residual, fraction, rng)
    seed = rng.randint(0, 2**31 - 1)

    def held_out_fit(reg, init):
        with warnings.catch_warnings():  # a few sweeps per point never converge, by design
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = altmin(kept, rank, reg=reg, init=init, bias=bias, validation=held,
                            max_iter=PATH_SWEEPS, tol=0.0, random_state=seed,
                            observe_zeros=True, **altmin_options)
        return result.history["validation_rmse"][-1], (result.U, result.V)

    grid = default * GRID_RATIO ** np.arange(GRID_ABOVE, GRID_ABOVE - GRID_SIZE, -1.0)
    tried, scores, best, misses = [], [], 0, 0
    init = "svd"
    for reg in grid:
        score, factors = held_out_fit(reg, init)
        tried.append(reg)
        scores.append(score)
        collapsed = _collapsed(*factors, COLLAPSED)
        if score < scores[best]:
            best, misses = len(scores) - 1, 0
        elif not collapsed:  # with zero factors the held-out error says nothing of the ridge
            misses += 1
            if misses >= PATIENCE:
                break
        init = "svd" if collapsed else factors
    return RegPath(grid=np.asarray(tried), validation_rmse=np.asarray(scores),
                   reg=float(tried[best]))


def _collapsed(U, V, threshold):
    """Whether the RMS of ``U V^T`` over all entries is below ``threshold`` (from k x k Grams:
    ``||U V^T||_F^2 = trace(U^T U V^T V)``)."""
    squared = float(np.sum((U.T @ U) * (V.T @ V)))
    return squared < threshold ** 2 * U.shape[0] * V.shape[0]
