"""One-hidden-layer network core: activations, forward pass, least-squares gradient.

The functions take the array namespace ``xp`` explicitly so the same code serves NumPy,
CuPy, torch and array_api_strict.
"""

__all__ = ["ACTIVATIONS", "activate", "activation_derivative", "forward", "lsq_loss_grad"]

ACTIVATIONS = ("logistic", "tanh", "relu", "identity")


def activate(xp, Z, activation):
    """Apply ``activation`` elementwise to the pre-activations ``Z``."""
    if activation == "logistic":
        return 0.5 + 0.5 * xp.tanh(0.5 * Z)
    if activation == "tanh":
        return xp.tanh(Z)
    if activation == "relu":
        return xp.maximum(Z, xp.zeros_like(Z))
    return Z


def activation_derivative(xp, Z, H, activation):
    """Derivative of ``activation`` at ``Z`` given ``H = activate(Z)``."""
    if activation == "logistic":
        return H * (1.0 - H)
    if activation == "tanh":
        return 1.0 - H * H
    if activation == "relu":
        return xp.astype(Z > 0, Z.dtype)
    return xp.ones_like(Z)


def forward(xp, X, W, c, V, d, activation):
    """Outputs ``activate(X W + c) V + d`` of a one-hidden-layer network.

    Examples
    --------
    >>> import numpy as np
    >>> out = forward(np, np.ones((2, 3)), np.zeros((3, 4)), np.zeros(4), np.ones((4, 1)),
    ...               np.zeros(1), "logistic")
    >>> out.ravel().tolist()
    [2.0, 2.0]
    """
    return activate(xp, X @ W + c, activation) @ V + d


def lsq_loss_grad(xp, X, R, W, c, V, d, activation, alpha):
    """Loss ``||out - R||^2 / (2n) + alpha (||W||^2 + ||V||^2) / (2n)`` and its gradients.

    Returns
    -------
    loss : float
    grads : tuple of arrays
        Gradients with respect to ``W``, ``c``, ``V``, ``d``.
    """
    n = X.shape[0]
    Z = X @ W + c
    H = activate(xp, Z, activation)
    E = H @ V + d - R
    loss = (xp.sum(E * E) + alpha * (xp.sum(W * W) + xp.sum(V * V))) / (2 * n)
    gV = (H.T @ E + alpha * V) / n
    gd = xp.sum(E, axis=0) / n
    dZ = (E @ V.T) * activation_derivative(xp, Z, H, activation)
    gW = (X.T @ dZ + alpha * W) / n
    gc = xp.sum(dZ, axis=0) / n
    return float(loss), (gW, gc, gV, gd)
