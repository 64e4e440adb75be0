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
:func:`network_epochs` runs the same algebra for NumPy arrays in the compiled kernels of
:mod:`numsolve.neural._sven._epochs` (``csrc/neural/_sven/_epochs.pyx``), an epoch per call.
"""

import math

import numpy as np
from sklearn.utils import check_random_state

from .._activations import ACTIVATION_CODES, activate, activation_derivative
from . import _epochs

__all__ = [
    "init_parameters",
    "n_parameters",
    "network_epochs",
    "network_gram",
    "network_jacobian",
    "network_predict",
    "network_residuals",
    "unpack",
]



def n_parameters(layer_sizes):
    """Number of weights and biases of a dense network with these layer sizes.

    Examples
    --------
    >>> from numsolve.neural._sven._network import n_parameters
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


def _forward(theta, X, layer_sizes, activation, xp):
    """Output of shape (n, n_L) and the per-layer (input, pre-activation) pairs."""
    layers = unpack(theta, layer_sizes, xp)
    cache = []
    a = X
    for index, (W, b) in enumerate(layers):
        z = xp.matmul(a, W) + b
        cache.append((a, z))
        a = z if index == len(layers) - 1 else activate(xp, z, activation)
    return a, layers, cache


def network_predict(theta, X, layer_sizes, activation="gelu", xp=np):
    """Network output of shape ``(n, n_L)`` for inputs ``X`` of shape ``(n, n_0)``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural._sven._network import init_parameters, network_predict
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
        g = xp.matmul(g, xp.permute_dims(W, (1, 0))) * activation_derivative(xp, z, a, activation)
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
    >>> from numsolve.neural._sven._network import init_parameters, network_gram, network_jacobian
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


def network_epochs(X, Y, layer_sizes, activation, *, batch_size, microbatch_size=1, k=None,
                   rtol=1e-3, learning_rate=1.0, safeguard=True, random_state,
                   sample_weight=None):
    """``all_rows`` and ``run_epoch`` of :func:`numsolve.neural._sven._solver.descend` for a
    dense network on NumPy arrays, every step of an epoch in one compiled call.

    Parameters
    ----------
    X : ndarray of shape (n, n_0)
    Y : ndarray of shape (n, n_L)
        Float32 or float64, the dtype of the parameters to be trained.
    layer_sizes : sequence of int
    activation : {"gelu", "tanh", "relu", "logistic", "identity"}
    batch_size, microbatch_size, k, rtol, learning_rate, safeguard
        As in :func:`numsolve.neural._sven._solver.sven`.
    random_state : numpy.random.RandomState
        Draws each epoch's row order, as :func:`numsolve.neural._sven._solver.sven` does.
    sample_weight : ndarray of shape (n,) or None
        Positive weights of the samples' squared errors: each residual row and its
        Jacobian row are multiplied by the square root of its weight.

    Returns
    -------
    all_rows : callable
        ``all_rows(theta)``: the residual rows of every sample, shape ``(n,)``.
    run_epoch : callable
        ``run_epoch(theta) -> (theta, step_sq, rank, n_steps)``; updates ``theta`` in place.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural._sven._network import (init_parameters, network_epochs,
    ...                                             network_residuals)
    >>> X = np.linspace(-1, 1, 64)[:, None]
    >>> Y = np.sin(3 * X)
    >>> sizes = (1, 8, 1)
    >>> theta = init_parameters(sizes, random_state=0)
    >>> all_rows, run_epoch = network_epochs(X, Y, sizes, "tanh", batch_size=16,
    ...                                      learning_rate=0.5,
    ...                                      random_state=np.random.RandomState(0))
    >>> bool(np.allclose(all_rows(theta), network_residuals(theta, X, Y, sizes, "tanh")))
    True
    >>> before = float(np.sum(all_rows(theta) ** 2))
    >>> theta, step_sq, rank, n_steps = run_epoch(theta)
    >>> n_steps, bool(np.sum(all_rows(theta) ** 2) < before)
    (4, True)
    """
    X = np.ascontiguousarray(X)
    Y = np.ascontiguousarray(Y, dtype=X.dtype)
    sizes = np.asarray(layer_sizes, dtype=np.int64)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0] or (
            X.shape[1], Y.shape[1]) != (sizes[0], sizes[-1]):
        raise ValueError(f"X {X.shape} and Y {Y.shape} do not fit layer sizes {tuple(sizes)}")
    code = ACTIVATION_CODES[activation]
    cap = 0 if k is None else int(k)  # 0: no rank cap
    n = X.shape[0]
    batch = min(int(batch_size), n)
    n_params = n_parameters(tuple(sizes))
    scale = None if sample_weight is None else np.sqrt(sample_weight).astype(X.dtype)

    def checked(theta):
        if theta.dtype != X.dtype or theta.shape != (n_params,) or not theta.flags.c_contiguous:
            raise ValueError(f"theta must be a contiguous {X.dtype} vector of {n_params} "
                             f"parameters, got {theta.dtype} {theta.shape}")
        return theta

    def run_epoch(theta):
        order = random_state.permutation(n).astype(np.int64)
        step_sq, rank = _epochs.run_epoch(checked(theta), X, Y, order, sizes, code, batch,
                                          int(microbatch_size), cap, float(rtol),
                                          float(learning_rate), bool(safeguard), scale)
        return theta, step_sq, rank, -(-n // batch)

    def all_rows(theta):
        out = np.empty(n, dtype=X.dtype)
        _epochs.all_rows(checked(theta), X, Y, sizes, code, batch, out, scale)
        return out

    return all_rows, run_epoch
