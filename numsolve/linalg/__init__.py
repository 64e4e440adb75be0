"""SOR and SSOR solvers on CSR matrices, and online tuning of omega across sequences of systems.

Kernels are Cython (``numsolve.linalg._sor``); arrays of other namespaces use multi-colour SOR
in array code. See Khodak, Chow, Balcan, Talwalkar, "Learning to Relax", ICLR 2024.
"""

from ._problems import HeatEquation2D, poisson_2d, shifted_laplacian_sequence
from ._sor_solver import sor
from ._ssor_cg import ssor_cg

__all__ = [
    "HeatEquation2D",
    "poisson_2d",
    "shifted_laplacian_sequence",
    "sor",
    "ssor_cg",
]
