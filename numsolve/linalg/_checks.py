"""Parameter checks shared by the linalg solver functions."""

import numbers

import numpy as np

__all__ = ["check_maxiter", "check_omega", "check_tol"]


def check_omega(omega, name="omega"):
    """Return ``omega`` as a float, raising :class:`ValueError` unless ``0 < omega < 2``."""
    if isinstance(omega, bool) or not isinstance(omega, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(omega).__name__}")
    omega = float(omega)
    if not np.isfinite(omega) or not 0.0 < omega < 2.0:
        raise ValueError(
            f"{name} must lie in the open interval (0, 2), where SOR converges for SPD "
            f"matrices; got {omega}"
        )
    return omega


def check_tol(tol, name="tol"):
    """Return ``tol`` as a float, raising :class:`ValueError` unless it is finite and >= 0."""
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(tol).__name__}")
    tol = float(tol)
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {tol}")
    return tol


def check_maxiter(maxiter, name="maxiter"):
    """Return ``maxiter`` (or another count named ``name``) as an int; it must be >= 1."""
    if isinstance(maxiter, bool) or not isinstance(maxiter, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(maxiter).__name__}")
    if maxiter < 1:
        raise ValueError(f"{name} must be >= 1, got {maxiter}")
    return int(maxiter)
