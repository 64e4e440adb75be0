"""A dense regression network as a flat parameter vector, with Sven's per-sample algebra.

The parameters of a network with layer sizes ``(n_0, ..., n_L)`` are one flat vector holding,
layer after layer, the weights ``W_l`` of shape ``(n_{l-1}, n_l)`` (row-major, the layout of
scikit-learn's ``coefs_``) and then the bias ``b_l``. Every function takes the array namespace
``xp`` of its inputs, so CuPy and torch arrays stay on their device.

The residual rows of a batch are ``r_i = f(x_i) - y_i`` for one output and
``r_i = ||f(x_i) - y_i||`` for several (one row per sample, the loss being ``sum r_i²``).
:func:`network_gram` forms the Gram matrix ``G = J Jᵀ`` of these rows with one forward and one
backward pass (the per-example trick: for a dense layer with input ``a`` and output cotangent
``g``, ``G += (g gᵀ) ∘ (a aᵀ + 1)``), without the ``(n, P)`` Jacobian ``J``.
"""

import math

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "ACTIVATIONS",
    "init_parameters",
    "n_parameters",
    "network_gram",
    "network_jacobian",
    "network_predict",
    "network_residuals",
    "unpack",
]

ACTIVATIONS = ("gelu", "tanh", "relu", "logistic", "identity")
_GELU_C = math.sqrt(2.0 / math.pi)


def n_parameters(layer_sizes):
    """Number of weights and biases of a dense network with these layer sizes.

    Examples
    --------
    >>> n_parameters((1, 16, 16, 16, 1))
    593
    """
    return sum((a + 1) * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))


def init_parameters(layer_sizes, random_state=None, dtype=np.float64):
    """Initial flat parameters: every entry uniform in ``±1/sqrt(fan_in)`` (torch's default).

    Returns
    -------
    ndarray of shape (n_parameters(layer_sizes),)
    """
    rng = check_random_state(random_state)
    blocks = []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        bound = 1.0 / math.sqrt(fan_in)
        blocks.append(rng.uniform(-bound, bound, size=fan_in * fan_out))
        blocks.append(rng.uniform(-bound, bound, size=fan_out))
    return np.concatenate(blocks).astype(dtype)


def unpack(theta, layer_sizes, xp=np):
    """Split the flat vector into a list of ``(W, b)`` pairs (views where the namespace allows)."""
    layers = []
    start = 0
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        stop = start + fan_in * fan_out
        W = xp.reshape(theta[start:stop], (fan_in, fan_out))
        layers.append((W, theta[stop:stop + fan_out]))
        start = stop + fan_out
    return layers


def _activate(z, activation, xp):
    if activation == "tanh":
        return xp.tanh(z)
    if activation == "relu":
        return xp.maximum(z, xp.zeros_like(z))
    if activation == "logistic":
        return 1.0 / (1.0 + xp.exp(-z))
    if activation == "gelu":
        return 0.5 * z * (1.0 + xp.tanh(_GELU_C * (z + 0.044715 * z * z * z)))
    return z


def _derivative(z, a, activation, xp):
    """Derivative of the activation at ``z``, where ``a`` is the activation's value."""
    if activation == "tanh":
        return 1.0 - a * a
    if activation == "relu":
        return xp.astype(z > 0, z.dtype)
    if activation == "logistic":
        return a * (1.0 - a)
    if activation == "gelu":
        t = xp.tanh(_GELU_C * (z + 0.044715 * z * z * z))
        return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * _GELU_C * (1.0 + 0.134145 * z * z)
    return xp.ones_like(z)


def _forward(theta, X, layer_sizes, activation, xp):
    """Output of shape (n, n_L) and the per-layer (input, pre-activation) pairs."""
    layers = unpack(theta, layer_sizes, xp)
    cache = []
    a = X
    for index, (W, b) in enumerate(layers):
        z = xp.matmul(a, W) + b
        cache.append((a, z))
        a = z if index == len(layers) - 1 else _activate(z, activation, xp)
    return a, layers, cache


def network_predict(theta, X, layer_sizes, activation="gelu", xp=np):
    """Network output of shape ``(n, n_L)`` for inputs ``X`` of shape ``(n, n_0)``.

    Examples
    --------
    >>> import numpy as np
    >>> theta = init_parameters((2, 3, 1), random_state=0)
    >>> network_predict(theta, np.zeros((4, 2)), (2, 3, 1), "tanh").shape
    (4, 1)
    """
    return _forward(theta, X, layer_sizes, activation, xp)[0]


def _rows(output, Y, xp):
    """Residual rows and the output cotangent that maps parameter gradients onto them."""
    diff = output - Y
    if diff.shape[1] == 1:
        return diff[:, 0], xp.ones_like(diff)
    norm = xp.sqrt(xp.sum(diff * diff, axis=1))
    safe = xp.where(norm > 0, norm, xp.ones_like(norm))
    return norm, diff / safe[:, None]


def network_residuals(theta, X, Y, layer_sizes, activation="gelu", xp=np):
    """Residual rows ``r`` of shape ``(n,)`` (see the module docstring)."""
    return _rows(network_predict(theta, X, layer_sizes, activation, xp), Y, xp)[0]


def _cotangents(layers, cache, U, activation, xp):
    """Per-sample output cotangents ``g_l`` of every layer's pre-activation."""
    grads = [U]
    g = U
    for index in range(len(layers) - 1, 0, -1):
        W = layers[index][0]
        z, a = cache[index - 1][1], cache[index][0]
        g = xp.matmul(g, xp.permute_dims(W, (1, 0))) * _derivative(z, a, activation, xp)
        grads.append(g)
    return grads[::-1]


def network_gram(theta, X, Y, layer_sizes, activation="gelu", xp=np):
    """Residual rows, their Gram matrix ``J Jᵀ`` (float64) and the map ``w -> Jᵀ w``.

    One forward and one backward pass; the ``(n, P)`` Jacobian is never formed.

    Parameters
    ----------
    theta : array of shape (P,)
        Flat parameters.
    X : array of shape (n, n_0)
    Y : array of shape (n, n_L)
    layer_sizes : sequence of int
    activation : {"gelu", "tanh", "relu", "logistic", "identity"}
    xp : namespace

    Returns
    -------
    r : array of shape (n,)
    G : array of shape (n, n), float64 where the namespace and device have it
    rmatvec : callable
        ``rmatvec(w)`` returns ``Jᵀ w`` of shape (P,), in ``theta``'s dtype.

    Examples
    --------
    >>> import numpy as np
    >>> sizes = (2, 4, 1)
    >>> theta = init_parameters(sizes, random_state=0)
    >>> X, Y = np.ones((3, 2)), np.zeros((3, 1))
    >>> r, G, rmatvec = network_gram(theta, X, Y, sizes, "tanh")
    >>> J = network_jacobian(theta, X, Y, sizes, "tanh")
    >>> bool(np.allclose(G, J @ J.T)), bool(np.allclose(rmatvec(r), J.T @ r))
    (True, True)
    """
    output, layers, cache = _forward(theta, X, layer_sizes, activation, xp)
    r, U = _rows(output, Y, xp)
    grads = _cotangents(layers, cache, U, activation, xp)
    wide = _wide_dtype(xp, theta)
    G = None
    for (a, _), g in zip(cache, grads):
        a64, g64 = xp.astype(a, wide, copy=False), xp.astype(g, wide, copy=False)
        term = xp.matmul(g64, xp.permute_dims(g64, (1, 0))) * (
            xp.matmul(a64, xp.permute_dims(a64, (1, 0))) + 1.0)
        G = term if G is None else G + term

    def rmatvec(w):
        w = xp.astype(w, theta.dtype, copy=False)
        blocks = []
        for (a, _), g in zip(cache, grads):
            weighted = g * w[:, None]
            blocks.append(xp.reshape(xp.matmul(xp.permute_dims(a, (1, 0)), weighted), (-1,)))
            blocks.append(xp.sum(weighted, axis=0))
        return xp.concat(blocks)

    return r, G, rmatvec


def network_jacobian(theta, X, Y, layer_sizes, activation="gelu", xp=np):
    """The explicit Jacobian ``(n, P)`` of the residual rows, one per-sample product per layer."""
    output, layers, cache = _forward(theta, X, layer_sizes, activation, xp)
    U = _rows(output, Y, xp)[1]
    grads = _cotangents(layers, cache, U, activation, xp)
    n = X.shape[0]
    blocks = []
    for (a, _), g in zip(cache, grads):
        blocks.append(xp.reshape(a[:, :, None] * g[:, None, :], (n, -1)))
        blocks.append(g)
    return xp.concat(blocks, axis=1)


def _wide_dtype(xp, array):
    if xp is np:
        return np.float64
    info = getattr(xp, "__array_namespace_info__", None)
    if info is None:
        return xp.float64
    from array_api_compat import device

    return xp.float64 if "float64" in info().dtypes(device=device(array)) else array.dtype
