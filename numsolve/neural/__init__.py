"""Neural-network solvers: Sven, a natural-gradient optimiser for least-squares problems and
regression networks.
"""

from ._sven_datasets import make_sven_polynomial, make_sven_toy_1d
from ._sven_estimators import SvenClassifier, SvenRegressor
from ._sven_solver import sven

__all__ = [
    "SvenClassifier",
    "SvenRegressor",
    "make_sven_polynomial",
    "make_sven_toy_1d",
    "sven",
]
