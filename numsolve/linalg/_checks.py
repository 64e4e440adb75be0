"""Parameter checks shared by the linalg solver functions."""

import numbers
import warnings

import numpy as np
from scipy.sparse.linalg import LinearOperator
from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "check_matrix_entries",
    "check_maxiter",
    "check_omega",
    "check_tol",
    "default_rtol",
    "warn_unconverged",
]

#: Default relative tolerance per working precision: 1e-8 in float64; in float32 the relative
#: residual of SOR with a large omega stalls between 1e-7 and 4e-6 (2-D Poisson, up to 60 x 60),
#: so 1e-8 is out of reach and the solvers stop at 1e-5.
DEFAULT_RTOL = {np.dtype(np.float64): 1e-8, np.dtype(np.float32): 1e-5}


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


def default_rtol(rtol, dtype):
    """Return ``rtol`` checked, or the default of ``dtype`` (:data:`DEFAULT_RTOL`) if None."""
    if rtol is None:
        return DEFAULT_RTOL[np.dtype(dtype)]
    return check_tol(rtol, "rtol")


def check_matrix_entries(A, solver):
    """Raise :class:`TypeError` if ``A`` is a LinearOperator: ``solver`` sweeps its entries."""
    if isinstance(A, LinearOperator):
        raise TypeError(
            f"{solver} needs the entries of A (its diagonal and triangles), which a "
            "LinearOperator does not give; pass a NumPy array or SciPy sparse matrix, or use "
            "scipy.sparse.linalg.cg for a matrix-free operator"
        )


def warn_unconverged(result, solver):
    """Issue a :class:`ConvergenceWarning` at the public ``solver``'s caller unless ``result``
    converged (the internal quiet entries leave that choice to their callers)."""
    if not result.converged:
        warnings.warn(f"{solver}: {result.message}", ConvergenceWarning, stacklevel=3)
    return result
