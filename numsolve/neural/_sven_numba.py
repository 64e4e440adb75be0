"""Compiled Sven epochs for dense networks on NumPy arrays (Numba).

One kernel call takes every mini-batch step of an epoch, each step being what the generic
path (:func:`._sven_solver.sven` with :func:`._sven_network.network_gram`) computes: forward
pass, per-sample backward pass, the Gram matrix ``J Jᵀ`` by the per-example trick in float64,
its eigendecomposition, the truncated minimum-norm weights ``w``, the step ``Jᵀ w`` from the
stored per-layer inputs and cotangents, and the safeguard's step halving on the batch cost.
With batches of a few dozen rows and networks of a few hundred parameters each step costs
microseconds, so running the epoch in one call removes the per-step Python overhead.
"""

import math

import numpy as np
from numba import njit

from ._sven_network import ACTIVATIONS
from ._sven_solver import MAX_HALVINGS

__all__ = ["network_epochs"]

_GELU_C = math.sqrt(2.0 / math.pi)
_EPS64 = float(np.finfo(np.float64).eps)


def network_epochs(X, Y, layer_sizes, activation, *, batch_size, microbatch_size=1, k=None,
                   rtol=1e-3, learning_rate=1.0, safeguard=True, random_state):
    """``all_rows`` and ``run_epoch`` of :func:`._sven_solver.descend` for a dense network.

    Parameters
    ----------
    X : ndarray of shape (n, n_0)
    Y : ndarray of shape (n, n_L)
        Float32 or float64, the dtype of the parameters to be trained.
    layer_sizes : sequence of int
    activation : {"gelu", "tanh", "relu", "logistic", "identity"}
    batch_size, microbatch_size, k, rtol, learning_rate, safeguard
        As in :func:`._sven_solver.sven`.
    random_state : numpy.random.RandomState
        Draws each epoch's row order, as :func:`._sven_solver.sven` does.

    Returns
    -------
    all_rows : callable
        ``all_rows(theta)``: the residual rows of every sample, shape ``(n,)``.
    run_epoch : callable
        ``run_epoch(theta) -> (theta, step_sq, rank, n_steps)``; updates ``theta`` in place.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-1, 1, 64)[:, None]
    >>> Y = np.sin(3 * X)
    >>> sizes = (1, 8, 1)
    >>> from numsolve.neural._sven_network import init_parameters, network_residuals
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
    code = ACTIVATIONS.index(activation)
    cap = 0 if k is None else int(k)
    n = X.shape[0]
    batch = min(int(batch_size), n)

    def run_epoch(theta):
        order = random_state.permutation(n).astype(np.int64)
        step_sq, rank = _epoch(theta, X, Y, order, sizes, code, batch, int(microbatch_size),
                               cap, float(rtol), float(learning_rate), bool(safeguard))
        return theta, step_sq, rank, -(-n // batch)

    def all_rows(theta):
        return _all_rows(theta, X, Y, sizes, code, batch)

    return all_rows, run_epoch


@njit(cache=True, nogil=True)
def _activate(z, code):
    """Activation value and derivative at ``z`` (codes follow ``ACTIVATIONS``)."""
    z = np.float64(z)
    if code == 0:  # gelu, tanh approximation
        t = np.tanh(_GELU_C * (z + 0.044715 * z * z * z))
        return (0.5 * z * (1.0 + t),
                0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * _GELU_C * (1.0 + 0.134145 * z * z))
    if code == 1:
        a = np.tanh(z)
        return a, 1.0 - a * a
    if code == 2:
        return max(z, 0.0), 1.0 if z > 0 else 0.0
    if code == 3:
        a = 1.0 / (1.0 + np.exp(-z))
        return a, a * (1.0 - a)
    return z, 1.0


@njit(cache=True, nogil=True)
def _forward(theta, X, rows, sizes, code, inputs, slopes, out, with_slopes):
    """Fill every layer's inputs, the output and (``with_slopes``) the activations' slopes."""
    n_layers = sizes.shape[0] - 1
    for i in range(rows.shape[0]):
        for j in range(sizes[0]):
            inputs[0, i, j] = X[rows[i], j]
    z = np.empty(inputs.shape[2], dtype=inputs.dtype)
    offset = 0
    for layer in range(n_layers):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        bias = offset + n_in * n_out
        weights = theta[offset:bias].reshape((n_in, n_out))
        for i in range(rows.shape[0]):
            z[:n_out] = theta[bias:bias + n_out]
            for j in range(n_in):
                a = inputs[layer, i, j]
                for o in range(n_out):
                    z[o] += a * weights[j, o]
            if layer == n_layers - 1:
                out[i, :] = z[:n_out]
                continue
            for o in range(n_out):
                value, slope = _activate(z[o], code)
                inputs[layer + 1, i, o] = value
                if with_slopes:
                    slopes[layer, i, o] = slope
        offset = bias + n_out


@njit(cache=True, nogil=True)
def _residual_rows(out, Y, rows, r, cotangent):
    """Rows ``f(x) - y`` (one output) or ``||f(x) - y||``, the output cotangent; the cost."""
    n_out = out.shape[1]
    cost = 0.0
    for i in range(rows.shape[0]):
        if n_out == 1:
            r[i] = out[i, 0] - Y[rows[i], 0]
            cotangent[i, 0] = 1.0
        else:
            norm = 0.0
            for o in range(n_out):
                diff = out[i, o] - Y[rows[i], o]
                cotangent[i, o] = diff
                norm += diff * diff
            norm = math.sqrt(norm)
            r[i] = norm
            safe = norm if norm > 0 else 1.0
            for o in range(n_out):
                cotangent[i, o] /= safe
        cost += r[i] * r[i]
    return 0.5 * cost


@njit(cache=True, nogil=True)
def _batch_cost(theta, X, Y, rows, sizes, code, inputs, slopes, out, r, cotangent,
                with_slopes):
    """Forward pass and residual rows of ``rows``; returns their cost ``½ Σ r_i²``."""
    _forward(theta, X, rows, sizes, code, inputs, slopes, out, with_slopes)
    return _residual_rows(out, Y, rows, r, cotangent)


@njit(cache=True, nogil=True)
def _all_rows(theta, X, Y, sizes, code, chunk):
    """Residual rows of every sample, ``chunk`` samples per forward pass."""
    n = X.shape[0]
    inputs = np.zeros((sizes.shape[0] - 1, chunk, sizes.max()), dtype=theta.dtype)
    out = np.zeros((chunk, sizes[-1]), dtype=theta.dtype)
    cotangent = np.zeros_like(out)
    r = np.zeros(n, dtype=theta.dtype)
    rows = np.arange(n)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        _batch_cost(theta, X, Y, rows[start:stop], sizes, code, inputs, inputs, out,
                    r[start:stop], cotangent, False)
    return r


@njit(cache=True, nogil=True)
def _backward(theta, sizes, slopes, grads, n_rows):
    """Cotangents of every layer's pre-activations from the output's (in ``grads[-1]``)."""
    n_layers = sizes.shape[0] - 1
    offset = 0
    offsets = np.empty(n_layers, dtype=np.int64)
    for layer in range(n_layers):
        offsets[layer] = offset
        offset += (sizes[layer] + 1) * sizes[layer + 1]
    for layer in range(n_layers - 1, 0, -1):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        for i in range(n_rows):
            for j in range(n_in):
                row = offsets[layer] + j * n_out
                total = 0.0
                for o in range(n_out):
                    total += grads[layer, i, o] * theta[row + o]
                grads[layer - 1, i, j] = total * slopes[layer - 1, i, j]


@njit(cache=True, nogil=True)
def _gram(sizes, inputs, grads, n_rows):
    """``J Jᵀ = Σ_l (g_l g_lᵀ) ∘ (a_l a_lᵀ + 1)`` in float64 (the per-example trick)."""
    G = np.zeros((n_rows, n_rows))
    for layer in range(sizes.shape[0] - 1):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        for i in range(n_rows):
            for m in range(i + 1):
                gg = 0.0
                for o in range(n_out):
                    gg += np.float64(grads[layer, i, o]) * np.float64(grads[layer, m, o])
                aa = 1.0
                for j in range(n_in):
                    aa += np.float64(inputs[layer, i, j]) * np.float64(inputs[layer, m, j])
                G[i, m] += gg * aa
    for i in range(n_rows):
        for m in range(i):
            G[m, i] = G[i, m]
    return G


@njit(cache=True, nogil=True)
def _group(G, r, size):
    """Gram matrix and rows of consecutive groups of ``size`` rows (``R_g = ||r_g||``).

    Returns the grouped Gram matrix ``C G Cᵀ``, the grouped rows and the weights ``c_i``
    with ``C[g, i] = c_i`` for ``i`` in group ``g``.
    """
    n_rows = r.shape[0]
    n_groups = (n_rows + size - 1) // size
    grouped = np.zeros(n_groups)
    for i in range(n_rows):
        grouped[i // size] += np.float64(r[i]) * np.float64(r[i])
    weight = np.empty(n_rows)
    for g in range(n_groups):
        grouped[g] = math.sqrt(grouped[g])
    for i in range(n_rows):
        norm = grouped[i // size]
        weight[i] = r[i] / (norm if norm > 0 else 1.0)
    small = np.zeros((n_groups, n_groups))
    for i in range(n_rows):
        for m in range(n_rows):
            small[i // size, m // size] += weight[i] * G[i, m] * weight[m]
    return small, grouped, weight


@njit(cache=True, nogil=True)
def _weights(G, rows, k, rtol):
    """``w = U_k Λ_k⁻¹ U_kᵀ rows`` with the truncation of ``truncation_rank``; and the rank."""
    m = G.shape[0]
    w = np.zeros(m)
    eigenvalues, vectors = np.linalg.eigh(G)  # ascending
    top = math.sqrt(max(eigenvalues[m - 1], 0.0))
    if not top > 0:
        return w, 0
    cut = max(rtol, math.sqrt(max(m, 1) * _EPS64)) * top
    rank = 0
    for index in range(m):
        if math.sqrt(max(eigenvalues[index], 0.0)) > cut:
            rank += 1
    if k > 0:
        rank = min(rank, k)
    for index in range(m - 1, m - 1 - rank, -1):
        coefficient = 0.0
        for i in range(m):
            coefficient += vectors[i, index] * rows[i]
        coefficient /= eigenvalues[index]
        for i in range(m):
            w[i] += vectors[i, index] * coefficient
    return w, rank


@njit(cache=True, nogil=True)
def _direction(sizes, inputs, grads, w, n_rows, direction):
    """``Jᵀ w``: per layer ``a_lᵀ (g_l ∘ w)`` and the column sums of ``g_l ∘ w``."""
    direction[:] = 0.0
    offset = 0
    for layer in range(sizes.shape[0] - 1):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        bias = offset + n_in * n_out
        for i in range(n_rows):
            for o in range(n_out):
                weighted = grads[layer, i, o] * w[i]
                direction[bias + o] += weighted
                for j in range(n_in):
                    direction[offset + j * n_out + o] += inputs[layer, i, j] * weighted
        offset = bias + n_out


@njit(cache=True, nogil=True)
def _epoch(theta, X, Y, order, sizes, code, batch_size, microbatch_size, k, rtol,
           learning_rate, safeguard):
    """Sven steps on the batches of ``order``, updating ``theta`` in place.

    Returns the summed squared step norms and the rank of the last step.
    """
    n_layers = sizes.shape[0] - 1
    inputs = np.zeros((n_layers, batch_size, sizes.max()), dtype=theta.dtype)
    slopes = np.zeros_like(inputs)
    grads = np.zeros_like(inputs)
    out = np.zeros((batch_size, sizes[n_layers]), dtype=theta.dtype)
    cotangent = np.zeros_like(out)
    r = np.zeros(batch_size, dtype=theta.dtype)
    direction = np.zeros(theta.shape[0])
    candidate = np.empty_like(theta)
    step_sq, rank = 0.0, 0
    for start in range(0, order.shape[0], batch_size):
        rows = order[start:start + batch_size]
        n_rows = rows.shape[0]
        before = _batch_cost(theta, X, Y, rows, sizes, code, inputs, slopes, out, r, cotangent,
                             True)
        grads[n_layers - 1, :n_rows, :sizes[n_layers]] = cotangent[:n_rows]
        _backward(theta, sizes, slopes, grads, n_rows)
        G = _gram(sizes, inputs, grads, n_rows)
        if microbatch_size > 1:
            small, grouped, weight = _group(G, r[:n_rows], microbatch_size)
            w_groups, rank = _weights(small, grouped, k, rtol)
            w = np.empty(n_rows)
            for i in range(n_rows):
                w[i] = weight[i] * w_groups[i // microbatch_size]
        else:
            rows64 = np.empty(n_rows)
            for i in range(n_rows):
                rows64[i] = r[i]
            w, rank = _weights(G, rows64, k, rtol)
        _direction(sizes, inputs, grads, w, n_rows, direction)
        eta = learning_rate
        for _ in range(MAX_HALVINGS if safeguard else 1):
            for p in range(theta.shape[0]):
                candidate[p] = theta[p] - eta * direction[p]
            if safeguard:
                after = _batch_cost(candidate, X, Y, rows, sizes, code, inputs, slopes, out,
                                    r, cotangent, False)
                if not after <= before:
                    eta *= 0.5
                    continue
            theta[:] = candidate
            for p in range(theta.shape[0]):
                step_sq += (eta * direction[p]) ** 2
            break
    return step_sq, rank
