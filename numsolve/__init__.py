"""numsolve: numerical solvers from recent papers.

Layers: scikit-learn estimators (``numsolve.<area>.<Estimator>``) over low-level solver
functions that return a :class:`SolveResult`, over compiled kernels (Cython, Numba) for
NumPy/SciPy inputs and an array-namespace path that keeps CuPy or torch arrays on their device.
"""

from ._result import SolveResult

__version__ = "0.1.0.dev0"

__all__ = ["SolveResult", "__version__"]
