"""Stopping rule and result of the alternating-minimisation sweeps, shared by every backend."""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._result import SolveResult

__all__ = ["altmin_result", "stop_reason"]


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


def altmin_result(U, V, *, rmse, solver, n_iter, converged, message, history, row_bias=None,
                  col_bias=None, **extras):
    """The :class:`SolveResult` of ``altmin``; warns when the sweeps did not converge."""
    if not converged:
        warnings.warn(f"altmin did not converge: {message}", ConvergenceWarning, stacklevel=4)
    extras = {"U": U, "V": V, "rmse": rmse, "solver": solver, **extras}
    if row_bias is not None:
        extras.update(row_bias=row_bias, col_bias=col_bias)
    return SolveResult(x=U, n_iter=n_iter, converged=converged, message=message,
                       history=history, extras=extras)
