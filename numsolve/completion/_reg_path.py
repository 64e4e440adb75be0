"""``reg="auto"``: the ridge chosen on entries held out of the training observations.

A fraction of the observed entries is set aside, in one or several disjoint parts (never the
caller's test set: only what ``fit`` received); for each part :func:`numsolve.completion.altmin`
fits the entries it leaves, and the held-out errors of all parts are pooled. The fits run down a
geometric grid of ridge weights from twice the default to weaker ones, each warm-started from
the previous one and stopped after a few sweeps; only when that first point is the best does
the walk go up from it instead. The downward walk ends once the held-out RMSE has failed to
improve for a few grid points in a row with factors not zeroed by the ridge, as the weaker
ridges past the best one only overfit more. The best grid point is then refined by halving the
log-step around it (ratios ``sqrt(2)``, then ``2**(1/4)``), each trial warm-started from the
best fit so far: the held-out error is flat near its minimum on the coarse grid's scale, so a
few cheap fits move the choice to where a factor-of-two grid cannot.
"""

import warnings
from typing import NamedTuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._data import split_observed
from ._solver import altmin

__all__ = ["RegPath", "reg_path"]

GRID_RATIO = 2.0
GRID_ABOVE = 1  # the walk starts one grid point above the default ridge
GRID_EXTRA_ABOVE = 3  # and goes up to 16x default only when that first point is the best
GRID_SIZE = 18  # down to default / 65536 (2e-4), where nearly noiseless data want their ridge
PATH_SWEEPS = 3  # sweeps per grid point; warm starts make more of them change little
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


def reg_path(residual, rank, *, default, fraction, n_splits, rng, bias, altmin_options,
             bounds=None):
    """Walk the ridge grid on held-out parts of ``residual`` (CSR); return a :class:`RegPath`.

    Parameters
    ----------
    residual : scipy.sparse.csr_matrix
        The training observations less the baseline (what the factors fit), divided by their
        RMS: the ridge weights of the grid are relative to that unit scale.
    rank : int
    default : float
        The relative ridge the grid is centred on (the estimator's default ``reg``).
    fraction : float
        Share of the observed entries held out by each split.
    n_splits : int
        Disjoint held-out parts (overlapping only when ``n_splits * fraction > 1``); every
        ridge is fitted once per part, on the entries it leaves, and scored by the RMSE over
        all held-out entries together.
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
    position = rng.random_sample(residual.nnz)
    splits = [_Split(residual, (position + part * fraction) % 1.0 < fraction, bounds)
              for part in range(n_splits)]
    seed = rng.randint(0, 2**31 - 1)

    def held_out_fit(reg, inits):
        with warnings.catch_warnings():  # a few sweeps per point never converge, by design
            warnings.simplefilter("ignore", ConvergenceWarning)
            results = [altmin(split.kept, rank, reg=reg, init=init, bias=bias,
                              max_iter=PATH_SWEEPS, tol=0.0, random_state=seed,
                              observe_zeros=True, **altmin_options)
                       for split, init in zip(splits, inits)]
        squared = sum(split.squared_error(result) for split, result in zip(splits, results))
        count = sum(split.size for split in splits)
        return float(np.sqrt(squared / count)), [(result.U, result.V) for result in results]

    trials = _Trials(held_out_fit)
    strongest = default * GRID_RATIO ** GRID_ABOVE
    trials.walk(strongest / GRID_RATIO ** np.arange(GRID_SIZE), ["svd"] * n_splits, PATIENCE)
    if trials.best == 0:  # the strongest ridge walked is the best: the optimum lies above it
        trials.walk(strongest * GRID_RATIO ** np.arange(1, GRID_EXTRA_ABOVE + 1), trials.fits[0],
                    patience=1)
    step = GRID_RATIO
    for _ in range(REFINE_STEPS):
        step = np.sqrt(step)
        centre, start = trials.tried[trials.best], trials.fits[trials.best]
        for reg in (centre * step, centre / step):
            trials.add(reg, start)
    order = np.argsort(trials.tried)[::-1]
    return RegPath(grid=np.asarray(trials.tried)[order],
                   validation_rmse=np.asarray(trials.scores)[order],
                   reg=float(trials.tried[trials.best]))


class _Split:
    """One held-out part: the entries kept for fitting, and the held-out entries with the
    bounds their predictions are clipped to (``None`` when the estimator does not clip)."""

    def __init__(self, residual, held_mask, bounds):
        self.kept, held = split_observed(residual, held_mask)
        self.held = held.tocoo()
        self.size = self.held.nnz
        self.bounds = None if bounds is None else tuple(bound[held_mask] for bound in bounds)

    def squared_error(self, result):
        """Sum of squared errors of the fit ``result`` on the held-out entries."""
        rows, cols = self.held.row, self.held.col
        pred = np.einsum("ij,ij->i", result.U[rows], result.V[cols], dtype=np.float64)
        if "row_bias" in result:
            pred += result.row_bias[rows] + result.col_bias[cols]
        if self.bounds is not None:
            pred = np.clip(pred, *self.bounds)
        return float(np.sum((pred - self.held.data) ** 2))


class _Trials:
    """The ridges tried so far, their held-out RMSE and fitted factors (one pair per split),
    and the best one."""

    def __init__(self, held_out_fit):
        self._fit = held_out_fit
        self.tried, self.scores, self.fits, self.best = [], [], [], 0

    def add(self, reg, inits):
        """Fit ``reg`` from ``inits`` (one per split); return whether the factors of a split
        collapsed to zero and whether it is the best so far. Collapsed factors are kept as
        ``"svd"`` (see ``COLLAPSED``)."""
        score, factors = self._fit(reg, inits)
        collapsed = [_collapsed(*pair, COLLAPSED) for pair in factors]
        self.tried.append(reg)
        self.scores.append(score)
        self.fits.append(["svd" if gone else pair for gone, pair in zip(collapsed, factors)])
        improved = score < self.scores[self.best]
        if improved:
            self.best = len(self.scores) - 1
        return any(collapsed), improved

    def walk(self, grid, inits, patience):
        """Try ``grid`` in order, each fit warm-started from the previous one, until
        ``patience`` ridges in a row with factors not zeroed fail to improve."""
        misses = 0
        for reg in grid:
            collapsed, improved = self.add(reg, inits)
            if improved:
                misses = 0
            elif not collapsed:  # with zero factors the held-out error says nothing of the ridge
                misses += 1
                if misses >= patience:
                    return
            inits = self.fits[-1]


def _collapsed(U, V, threshold):
    """Whether the RMS of ``U V^T`` over all entries is below ``threshold`` (from k x k Grams:
    ``||U V^T||_F^2 = trace(U^T U V^T V)``)."""
    squared = float(np.sum((U.T @ U) * (V.T @ V)))
    return squared < threshold ** 2 * U.shape[0] * V.shape[0]
