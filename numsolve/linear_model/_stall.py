"""The stall guard of the working-set solves: when a requested gap lies below the
round-off floor of the gap's own computation (``tol=1e-15`` and smaller), the restricted
solves cannot reach it, and each outer iteration used to run its whole epoch budget
(a 60 x 30 Lasso at ``tol=1e-17``: 48,000 epochs per outer iteration, 2.4 million over
50; with the guard 350 per outer iteration, 1.9 s -> 0.03 s CPU). A solve stops instead
once its criterion has not reached a new low over ``_CHECKS`` checks while it is within
``_ROUNDOFF`` of the primal objective; the outer loop then ends at ``max_iter`` with its
``ConvergenceWarning``.
"""

import numpy as np

__all__ = ["StallWatch"]

# Checks in a row without a new lowest criterion (each check follows at least one epoch,
# an Anderson step or a Newton step)
_CHECKS = 3
# The gap is a difference of primal and dual objectives of size |P|, each a sum over the
# samples: it is at round-off once below about this fraction of |P| (the tests' 60 x 30
# Lasso stalls at 6e-16 to 9e-16 of P)
_ROUNDOFF = 1e4 * np.finfo(np.float64).eps


class StallWatch:
    """The lowest criterion seen by one solve, and the checks since it was reached."""

    def __init__(self):
        self.lowest = np.inf
        self.since_lowest = 0

    def stalled(self, criterion, primal):
        """Record ``criterion``; True once it has not fallen below its lowest value over
        ``_CHECKS`` checks and is at the round-off floor of ``primal`` (a float, or a
        callable returning it, evaluated only then)."""
        if criterion < self.lowest:
            self.lowest, self.since_lowest = criterion, 0
            return False
        self.since_lowest += 1
        if self.since_lowest < _CHECKS:
            return False
        scale = primal() if callable(primal) else primal
        return criterion <= _ROUNDOFF * abs(scale)
