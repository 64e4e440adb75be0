"""Anderson extrapolation of the last iterates of a fixed-point iteration (coordinate epochs)."""

import numpy as np

__all__ = ["anderson_guess"]


def anderson_guess(buffer):
    """The affine combination of the iterates in ``buffer`` (one per row, oldest first) whose
    weights minimise the norm of the combined differences; None when that system is
    singular. The caller keeps the guess only if it lowers the objective."""
    iterates = np.asarray(buffer)
    U = iterates[1:] - iterates[:-1]  # np.diff's values, without its overhead
    C = U @ U.T
    try:
        z = np.linalg.solve(C, np.ones(C.shape[0]))
    except np.linalg.LinAlgError:
        return None
    total = z.sum()
    if not np.isfinite(total) or total == 0:
        return None
    return (z / total) @ iterates[1:]
