"""Block coordinate descent for sparse generalised linear models (Nutini, Laradji & Schmidt,
JMLR 2022): datafits and penalties kept apart, greedy selection rules, block updates,
working sets with a Newton finish, and scikit-learn estimators.
"""

from ._datafits import Logistic, Multinomial, Quadratic
from ._penalties import L1, L2, L1PlusL2, NoPenalty, NonNegL1
from ._solver import bcd

__all__ = [
    "L1",
    "L1PlusL2",
    "L2",
    "Logistic",
    "Multinomial",
    "NoPenalty",
    "NonNegL1",
    "Quadratic",
    "bcd",
]
