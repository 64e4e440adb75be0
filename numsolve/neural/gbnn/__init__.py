"""Gradient-boosted neural networks (GBNN): the hidden layer grown in boosting stages fitted
to pseudo-residuals, merged into one network that can be pruned at predict time.

The stages are fitted by the compiled kernels of :mod:`numsolve.neural.gbnn._boost`
(``csrc/neural/gbnn/_boost.pyx``); the random draws and the parameter layout are in
:mod:`._stages`, the losses' closed forms in :mod:`._losses`.
"""

from ._estimators import GBNNClassifier, GBNNRegressor

__all__ = ["GBNNClassifier", "GBNNRegressor"]
