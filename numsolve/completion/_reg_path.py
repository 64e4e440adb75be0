"""``reg="auto"``: the ridge chosen on entries held out of the training observations.

A fraction of the observed entries is set aside, in one or several disjoint parts (never the
caller's test set: only what ``fit`` received); for each part the baseline (mean and biases) is
fitted to the entries it leaves, :func:`numsolve.completion.altmin` fits the factors to what the
baseline leaves of them, and the held-out errors of all parts are pooled. The fits run down a
geometric grid of ridge weights from twice the default to weaker ones, each warm-started from
the previous one and stopped after a few sweeps; only when that first point is the best does
the walk go up from it instead. The downward walk ends once the held-out RMSE has failed to
improve for a few grid points in a row with factors not zeroed by the ridge, as the weaker
ridges past the best one only overfit more. The best grid point is then refined by halving the
log-step around it (ratios ``sqrt(2)``, then ``2**(1/4)``), each trial warm-started from the
best fit so far: the held-out error is flat near its minimum on the coarse grid's scale, so a
few cheap fits move the choice to where a factor-of-two grid cannot. Of all ridges tried, the
one kept is the nearest to the default whose pooled held-out error is within one standard error
of the lowest (:func:`nearest_within_one_error`); when that is not the default, both are carried
a few sweeps further and the rule decides again between the two, as fits stopped after a few
sweeps flatter weak ridges.
"""

import warnings
from typing import NamedTuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._bias import fit_biases
from ._data import split_observed
from ._solver import altmin

__all__ = ["RegPath", "reg_path"]

GRID_RATIO = 2.0
GRID_ABOVE = 1  # the walk starts one grid point above the default ridge
GRID_EXTRA_ABOVE = 3  # and goes up to 16x default only when that first point is the best
GRID_SIZE = 18  # down to default / 65536 (2e-4), where nearly noiseless data want their ridge
PATH_SWEEPS = 3  # sweeps per grid point; warm starts make more of them change little
CONFIRM_SWEEPS = 7  # further sweeps of the chosen and the default ridge when they differ
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


def reg_path(obs, rank, *, scale, default, fraction, n_splits, rng, bias_kind, bias_reg,
             altmin_options, value_range=None):
    """Walk the ridge grid on held-out parts of the observations ``obs``; return a
    :class:`RegPath`.

    Each part's baseline (mean and shrunk row and column biases) is fitted to the entries it
    keeps, as the factors are: a baseline fitted to all entries has seen the held-out ones (a
    row with five ratings carries a fifth of each into its own bias), which flatters the
    baseline alone, and so the strongest ridges, most where rows have few ratings.

    Parameters
    ----------
    obs : scipy.sparse.csr_matrix
        The training observations.
    rank : int
    scale : float
        The estimator's ``scale_``: every part's residual is divided by it, so the ridge
        weights of the grid are relative to the data's unit scale.
    default : float
        The relative ridge the grid is centred on (the estimator's default ``reg``), and the
        one kept unless the held-out errors tell a ridge apart from it (see
        :func:`nearest_within_one_error`).
    fraction : float
        Share of the observed entries held out by each split.
    n_splits : int
        Disjoint held-out parts (overlapping only when ``n_splits * fraction > 1``); every
        ridge is fitted once per part, on the entries it leaves, and scored over all held-out
        entries together.
    rng : numpy.random.RandomState
        Draws the held-out entries and seeds every fit of the walk.
    bias_kind : {"none", "global", "full"}
        The estimator's ``bias``; with ``"full"`` the fits include row and column offsets.
    bias_reg : float
        Shrinkage of the starting row and column biases.
    altmin_options : dict
        ``reg_scaling``, ``solver``, ``inner_iter``, ``sketch_size`` of the fits.
    value_range : tuple of two floats, optional
        The clipping range when the estimator clips: held-out predictions are clipped to it
        before scoring, as the final model's are. Clipping helps weak ridges most, so scoring
        unclipped predictions would choose too strong a ridge.
    """
    position = rng.random_sample(obs.nnz)
    splits = [_Split(obs, (position + part * fraction) % 1.0 < fraction, scale, bias_kind,
                     bias_reg, value_range)
              for part in range(n_splits)]
    seed = rng.randint(0, 2**31 - 1)

    def held_out_fit(reg, inits, sweeps=PATH_SWEEPS):
        with warnings.catch_warnings():  # a few sweeps per point never converge, by design
            warnings.simplefilter("ignore", ConvergenceWarning)
            results = [altmin(split.kept, rank, reg=reg, init=init, bias=bias_kind == "full",
                              max_iter=sweeps, tol=0.0, random_state=seed,
                              observe_zeros=True, **altmin_options)
                       for split, init in zip(splits, inits)]
        errors = np.concatenate([split.squared_errors(result)
                                 for split, result in zip(splits, results)])
        return errors, [(result.U, result.V) for result in results]

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
    tried = np.asarray(trials.tried)
    chosen = nearest_within_one_error(np.stack(trials.errors), tried, default)
    at_default = int(np.argmin(np.abs(np.log(tried / default))))
    if chosen != at_default:
        # a few sweeps per point flatter weaker ridges (stopping early regularises too), so a
        # move away from the default must hold when both fits are carried further
        pair = (chosen, at_default)
        carried = [held_out_fit(tried[index], trials.fits[index], CONFIRM_SWEEPS)[0]
                   for index in pair]
        chosen = pair[nearest_within_one_error(np.stack(carried), tried[list(pair)], default)]
    order = np.argsort(tried)[::-1]
    return RegPath(grid=tried[order], validation_rmse=np.sqrt(trials.mean_squared)[order],
                   reg=float(tried[chosen]))


def nearest_within_one_error(errors, grid, default):
    """Index of the ridge of ``grid`` nearest to ``default`` (in ratio) whose pooled held-out
    mean squared error is within one standard error of the lowest one.

    The standard error is that of the paired difference with the lowest ridge over the
    held-out entries (rows of ``errors`` are the ridges of ``grid``, columns the entries):
    the entries are disjoint, so their differences are independent draws, and one standard
    error is the size a difference reaches by chance alone. On tables whose held-out error is
    flat across many ridges (a few ratings per row, where the factors add little to the
    biases), the lowest point of the walk lands anywhere on that plateau; this rule then stays
    at the default, which is chosen for such data, and leaves it only as far as the held-out
    evidence says it should (the one-standard-error rule of Hastie, Tibshirani and Friedman,
    anchored at the default rather than at the simplest model).
    """
    mean = errors.mean(axis=1)
    best = int(np.argmin(mean))
    difference = errors - errors[best]
    excess = difference.mean(axis=1)
    # the sample standard deviation over sqrt(n), written to give 0 for a single entry
    standard_error = difference.std(axis=1) / np.sqrt(max(errors.shape[1] - 1, 1))
    distance = np.abs(np.log(grid / default))
    distance[excess > standard_error] = np.inf
    # ties (ridges equally far above and below the default) go to the lower held-out error
    return int(np.lexsort((mean, distance))[0])


class _Split:
    """One held-out part: the residual of the entries kept for fitting (less their own
    baseline, over ``scale``), and the held-out entries with that baseline's prediction."""

    def __init__(self, obs, held_mask, scale, bias_kind, bias_reg, value_range):
        kept, held = split_observed(obs, held_mask)
        mu, row_bias, col_bias, self.kept = fit_biases(kept, bias_kind, bias_reg)
        self.kept.data /= scale
        held = held.tocoo()
        self.rows, self.cols, self.values = held.row, held.col, held.data
        self.baseline = mu + row_bias[self.rows] + col_bias[self.cols]
        self.scale, self.value_range = scale, value_range

    def squared_errors(self, result):
        """Squared error of the fit ``result`` on each held-out entry, in units of ``scale``."""
        rows, cols = self.rows, self.cols
        pred = np.einsum("ij,ij->i", result.U[rows], result.V[cols], dtype=np.float64)
        if "row_bias" in result:
            pred += result.row_bias[rows] + result.col_bias[cols]
        pred = self.baseline + pred * self.scale
        if self.value_range is not None:
            pred = np.clip(pred, *self.value_range)
        return ((pred - self.values) / self.scale) ** 2


class _Trials:
    """The ridges tried so far, the squared error of each on every held-out entry, their fitted
    factors (one pair per split), and the index of the lowest pooled held-out error."""

    def __init__(self, held_out_fit):
        self._fit = held_out_fit
        self.tried, self.errors, self.fits, self.best = [], [], [], 0

    @property
    def mean_squared(self):
        return np.array([errors.mean() for errors in self.errors])

    def add(self, reg, inits):
        """Fit ``reg`` from ``inits`` (one per split); return whether the factors of a split
        collapsed to zero and whether it is the best so far. Collapsed factors are kept as
        ``"svd"`` (see ``COLLAPSED``)."""
        errors, factors = self._fit(reg, inits)
        collapsed = [_collapsed(*pair, COLLAPSED) for pair in factors]
        self.tried.append(reg)
        self.errors.append(errors)
        self.fits.append(["svd" if gone else pair for gone, pair in zip(collapsed, factors)])
        improved = errors.mean() < self.errors[self.best].mean()
        if improved:
            self.best = len(self.errors) - 1
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
