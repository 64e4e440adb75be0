"""Sven: minimum-norm updates from a truncated SVD of the per-sample residual Jacobian, a
natural-gradient optimiser for least-squares problems and regression networks.

The solver function :func:`sven` takes residual callables in any array namespace; the
estimators train dense networks, on NumPy arrays through the compiled epochs of
:mod:`numsolve.neural._sven._epochs` (``csrc/neural/_sven/_epochs.pyx``).
"""

from ._datasets import make_sven_polynomial, make_sven_toy_1d
from ._estimators import SvenClassifier, SvenRegressor
from ._solver import sven

__all__ = ["SvenClassifier", "SvenRegressor", "make_sven_polynomial", "make_sven_toy_1d",
           "sven"]
