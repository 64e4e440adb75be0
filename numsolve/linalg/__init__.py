"""SOR and SSOR solvers on CSR matrices, and online tuning of omega across sequences of systems.

Kernels are Cython (``numsolve.linalg._sor``); arrays of other namespaces use multi-colour SOR
in array code. See Khodak, Chow, Balcan, Talwalkar, "Learning to Relax", ICLR 2024
(arXiv 2310.02246).
"""

from ._bandit import OmegaBandit
from ._problems import HeatEquation2D, poisson_2d, shifted_laplacian_sequence
from ._sequence import SequenceSolver, solve_sequence
from ._sor_solver import sor
from ._ssor_cg import ssor_cg
from ._tuning import (
    best_fixed_omega,
    instance_optimal_omegas,
    iteration_table,
    shifted_iteration_table,
    young_omega,
)

__all__ = [
    "HeatEquation2D",
    "OmegaBandit",
    "SequenceSolver",
    "best_fixed_omega",
    "instance_optimal_omegas",
    "iteration_table",
    "poisson_2d",
    "shifted_iteration_table",
    "shifted_laplacian_sequence",
    "solve_sequence",
    "sor",
    "ssor_cg",
    "young_omega",
]
