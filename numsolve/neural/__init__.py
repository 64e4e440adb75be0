"""Neural-network solvers.

* Gradient-boosted neural networks (GBNN): the hidden layer grown in boosting stages fitted to
  pseudo-residuals, merged into one network that can be pruned at predict time.
* Sven: minimum-norm updates from a truncated SVD of the per-sample residual Jacobian, a
  natural-gradient optimiser for least-squares problems and regression networks.
"""

from .gbnn import GBNNClassifier, GBNNRegressor
from ._sven import SvenClassifier, SvenRegressor, make_sven_polynomial, make_sven_toy_1d, sven

__all__ = [
    "GBNNClassifier",
    "GBNNRegressor",
    "SvenClassifier",
    "SvenRegressor",
    "make_sven_polynomial",
    "make_sven_toy_1d",
    "sven",
]
