"""Neural-network solvers: gradient-boosted networks (GBNN)."""

from ._gbnn import GBNNClassifier, GBNNRegressor

__all__ = ["GBNNClassifier", "GBNNRegressor"]
