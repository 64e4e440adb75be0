"""numsolve: numerical solvers from recent papers.

Layers: scikit-learn estimators (``numsolve.<area>.<Estimator>``) over low-level solver
functions that return a :class:`SolveResult`, over compiled kernels (Cython, Numba) for
NumPy/SciPy inputs and an array-namespace path that keeps CuPy or torch arrays on their device.

Areas, imported on first use: ``linalg`` (SOR with a bandit-tuned omega), ``linear_model``
(block coordinate descent), ``semi_supervised`` (label propagation), ``completion`` (matrix
completion), ``dag`` (DAG structure learning), ``neural`` (gradient-boosted networks, Sven).
"""

import importlib

from ._result import SolveResult

__version__ = "0.1.0.dev0"

_AREAS = (
    "linalg", "linear_model", "semi_supervised", "completion", "dag", "neural", "plotting",
)

__all__ = ["SolveResult", "__version__", *_AREAS]


def __getattr__(name):
    if name in _AREAS:
        return importlib.import_module(f"numsolve.{name}")
    raise AttributeError(f"module 'numsolve' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_AREAS))
