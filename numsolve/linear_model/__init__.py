"""Block coordinate descent for sparse generalised linear models (Nutini, Laradji & Schmidt,
JMLR 2022): datafits and penalties kept apart, greedy selection rules, block updates,
working sets with a Newton finish, and scikit-learn estimators.
"""

from ._datafits import Logistic, Multinomial, Quadratic
from ._estimators import ElasticNet, Lasso, LogisticRegression, Ridge
from ._path import lasso_path
from ._penalties import L1, L2, L1PlusL2, NoPenalty, NonNegL1
from ._solver import bcd

__all__ = [
    "ElasticNet",
    "L1",
    "L1PlusL2",
    "L2",
    "Lasso",
    "Logistic",
    "LogisticRegression",
    "Multinomial",
    "NoPenalty",
    "NonNegL1",
    "Quadratic",
    "Ridge",
    "bcd",
    "lasso_path",
]
