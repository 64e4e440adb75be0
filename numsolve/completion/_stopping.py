"""Stopping rule, history and result of the alternating-minimisation sweeps, shared by every
backend (compiled, array-namespace and Dask)."""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._progress import progress
from .._result import HistoryRecorder, SolveResult

__all__ = ["SweepLog", "stop_reason"]


def stop_reason(rmse, previous, tol, data_rms):
    """``(converged, message)`` when the sweeps should stop after this one, else ``None``.

    Stops on a non-finite RMSE (diverged), on an observed-entry RMSE below ``tol`` times the
    RMS of the observations, or on a relative change of the RMSE below ``tol``.
    """
    if not np.isfinite(rmse):
        return False, "diverged: the observed-entry RMSE is not finite"
    if rmse <= tol * data_rms:
        return True, "observed entries fitted to tol"
    if np.isfinite(previous) and abs(previous - rmse) <= tol * previous:
        return True, "relative change of the observed-entry RMSE below tol"
    return None


class SweepLog:
    """What every sweep loop does after a sweep: record its figures, advance the progress bar
    and apply :func:`stop_reason`; then build the :class:`SolveResult`.

    Use it as a context manager around the loop (it closes the bar) and ``break`` when
    :meth:`finished` returns True.

    Examples
    --------
    >>> from numsolve.completion._stopping import SweepLog
    >>> with SweepLog(max_iter=5, tol=0.1, data_rms=1.0) as log:
    ...     for rmse in (1.0, 0.5, 0.49):
    ...         if log.finished(rmse):
    ...             break
    >>> log.n_iter, log.converged
    (3, True)
    """

    def __init__(self, *, max_iter, tol, data_rms, verbose=0, desc="altmin"):
        self.tol, self.data_rms = tol, data_rms
        self.n_iter, self.rmse, self._previous = 0, np.nan, np.inf
        self.converged, self.message = False, f"reached max_iter={max_iter} sweeps"
        self._bar = progress(max_iter, verbose, desc=desc, unit="sweep")
        self._recorder = HistoryRecorder()

    def __enter__(self):
        self._bar.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self._bar.__exit__(*exc_info)

    def finished(self, rmse, **figures):
        """Record one sweep's observed-entry ``rmse`` and other ``figures``; True to stop."""
        self.n_iter += 1
        self.rmse = rmse
        self._recorder.record(self.n_iter, rmse=rmse, **figures)
        self._bar.update(1)
        self._bar.set_postfix(rmse=f"{rmse:.3e}")
        verdict = stop_reason(rmse, self._previous, self.tol, self.data_rms)
        if verdict is not None:
            self.converged, self.message = verdict
            return True
        self._previous = rmse
        return False

    def result(self, U, V, *, solver, row_bias=None, col_bias=None, **extras):
        """The :class:`SolveResult` of ``altmin``; warns when the sweeps did not converge."""
        if not self.converged:
            # past this method, the sweep loop, its backend and altmin on the compiled path
            warnings.warn(f"altmin did not converge: {self.message}", ConvergenceWarning,
                          stacklevel=5)
        extras = {"U": U, "V": V, "rmse": self.rmse, "solver": solver, **extras}
        if row_bias is not None:
            extras.update(row_bias=row_bias, col_bias=col_bias)
        return SolveResult(x=U, n_iter=self.n_iter, converged=self.converged,
                           message=self.message, history=self._recorder.as_dict(),
                           extras=extras)
