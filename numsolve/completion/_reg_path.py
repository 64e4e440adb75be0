"""``reg="auto"``: the ridge chosen on entries held out of the training observations.

A fraction of the observed entries is set aside (never the caller's test set: only what
``fit`` received), and :func:`numsolve.completion.altmin` runs down a geometric grid of ridge
weights from strong to weak, each fit warm-started from the previous one and stopped after a
few sweeps. The grid walk ends once the held-out RMSE has failed to improve for a few grid
points in a row with factors not zeroed by the ridge, as the weaker ridges past the best one
only overfit more. The best grid point is then refined by halving the log-step around it
(ratios ``sqrt(2)``, then ``2**(1/4)``), each trial warm-started from the best fit so far:
the held-out error is flat near its minimum on the coarse grid's scale, so a few cheap fits
move the choice to where a factor-of-two grid cannot.
"""

import warnings
from typing import NamedTuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._data import split_observed
from ._solver import altmin

__all__ = ["RegPath", "reg_path"]

GRID_RATIO = 2.0
GRID_ABOVE = 3  # grid points above the default ridge: 8x default is well past any optimum
GRID_SIZE = 20  # down to default / 65536 (2e-4), where nearly noiseless data want their ridge
PATH_SWEEPS = 5  # sweeps per grid point; warm starts make more of them change little
PATIENCE = 2  # grid points without improvement that end the walk
REFINE_STEPS = 2  # log-step halvings around the best grid point: ratios sqrt(2), 2**(1/4)
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


def reg_path(residual, rank, *, default, fraction, rng, bias, altmin_options, bounds=None):
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
    bounds : tuple of two ndarrays, optional
        Lowest and highest prediction of each stored entry of ``residual`` (in its order) when
        the estimator clips: held-out predictions are clipped to them before scoring, as the
        final model's are. Clipping helps weak ridges most, so scoring unclipped predictions
        would choose too strong a ridge.
    """
    held_mask = rng.random_sample(residual.nnz) < fraction
    kept, held = split_observed(residual, held_mask)
    held_entries = held.tocoo()
    if bounds is None:
        lower = upper = None
    else:
        lower, upper = (bound[held_mask] for bound in bounds)
    seed = rng.randint(0, 2**31 - 1)

    def held_out_fit(reg, init):
        with warnings.catch_warnings():  # a few sweeps per point never converge, by design
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = altmin(kept, rank, reg=reg, init=init, bias=bias, max_iter=PATH_SWEEPS,
                            tol=0.0, random_state=seed, observe_zeros=True, **altmin_options)
        return _held_out_rmse(result, held_entries, lower, upper), (result.U, result.V)

    grid = default * GRID_RATIO ** np.arange(GRID_ABOVE, GRID_ABOVE - GRID_SIZE, -1.0)
    tried, scores, fits, best, misses = [], [], [], 0, 0
    init = "svd"
    for reg in grid:
        score, factors = held_out_fit(reg, init)
        tried.append(reg)
        scores.append(score)
        collapsed = _collapsed(*factors, COLLAPSED)
        fits.append("svd" if collapsed else factors)
        if score < scores[best]:
            best, misses = len(scores) - 1, 0
        elif not collapsed:  # with zero factors the held-out error says nothing of the ridge
            misses += 1
            if misses >= PATIENCE:
                break
        init = fits[-1]
    step = GRID_RATIO
    for _ in range(REFINE_STEPS):
        step = np.sqrt(step)
        centre, start = tried[best], fits[best]
        for reg in (centre * step, centre / step):
            score, factors = held_out_fit(reg, start)
            tried.append(reg)
            scores.append(score)
            fits.append(factors)
            if score < scores[best]:
                best = len(scores) - 1
    order = np.argsort(tried)[::-1]
    return RegPath(grid=np.asarray(tried)[order], validation_rmse=np.asarray(scores)[order],
                   reg=float(tried[best]))


def _held_out_rmse(result, entries, lower, upper):
    """RMSE of the fit ``result`` on the COO ``entries``, its predictions clipped to
    ``[lower, upper]`` where given."""
    rows, cols = entries.row, entries.col
    pred = np.einsum("ij,ij->i", result.U[rows], result.V[cols], dtype=np.float64)
    if "row_bias" in result:
        pred += result.row_bias[rows] + result.col_bias[cols]
    if lower is not None:
        pred = np.clip(pred, lower, upper)
    return float(np.sqrt(np.mean((pred - entries.data) ** 2)))


def _collapsed(U, V, threshold):
    """Whether the RMS of ``U V^T`` over all entries is below ``threshold`` (from k x k Grams:
    ``||U V^T||_F^2 = trace(U^T U V^T V)``)."""
    squared = float(np.sum((U.T @ U) * (V.T @ V)))
    return squared < threshold ** 2 * U.shape[0] * V.shape[0]
