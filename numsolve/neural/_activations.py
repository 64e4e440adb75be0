"""Activations of the GBNN and Sven networks: one table of names and codes, and array code.

The compiled kernels (``csrc/neural/_activations.pxi``) know the activations by the codes of
:data:`ACTIVATION_CODES`; the functions here take the array namespace ``xp`` explicitly so the
same code serves NumPy, CuPy, torch and array_api_strict.
"""

import math

__all__ = ["ACTIVATION_CODES", "GBNN_ACTIVATIONS", "SVEN_ACTIVATIONS", "activate",
           "activation_derivative"]

ACTIVATION_CODES = {"logistic": 0, "tanh": 1, "relu": 2, "identity": 3, "gelu": 4}
GBNN_ACTIVATIONS = ("logistic", "tanh", "relu", "identity")
SVEN_ACTIVATIONS = ("gelu", "tanh", "relu", "logistic", "identity")

_GELU_C = math.sqrt(2.0 / math.pi)


def activate(xp, Z, activation):
    """Apply ``activation`` elementwise to the pre-activations ``Z``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural._activations import activate
    >>> activate(np, np.array([-1.0, 0.0, 2.0]), "relu").tolist()
    [0.0, 0.0, 2.0]
    """
    if activation == "logistic":  # the tanh form cannot overflow
        return 0.5 + 0.5 * xp.tanh(0.5 * Z)
    if activation == "tanh":
        return xp.tanh(Z)
    if activation == "relu":
        return xp.maximum(Z, xp.zeros_like(Z))
    if activation == "gelu":  # tanh approximation
        return 0.5 * Z * (1.0 + xp.tanh(_GELU_C * (Z + 0.044715 * Z * Z * Z)))
    return Z


def activation_derivative(xp, Z, H, activation):
    """Derivative of ``activation`` at ``Z`` given ``H = activate(xp, Z, activation)``."""
    if activation == "logistic":
        return H * (1.0 - H)
    if activation == "tanh":
        return 1.0 - H * H
    if activation == "relu":
        return xp.astype(Z > 0, Z.dtype)
    if activation == "gelu":
        t = xp.tanh(_GELU_C * (Z + 0.044715 * Z * Z * Z))
        return 0.5 * (1.0 + t) + 0.5 * Z * (1.0 - t * t) * _GELU_C * (1.0 + 0.134145 * Z * Z)
    return xp.ones_like(Z)
