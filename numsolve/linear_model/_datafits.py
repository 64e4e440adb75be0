"""Datafits: the smooth loss ``f(W) = sum_i a_i phi(z_i, y_i)`` with ``z_i = x_i W + b``.

Sample weights enter as ``a_i = w_i / sum(w)`` (``a_i = 1/n`` without weights), so the
losses use scikit-learn's scaling: ``1/(2n) ||y - Xw||^2`` for least squares and
``(1/n) sum log(1 + exp(-y z))`` for the logistic loss. A datafit is a plain Python object:
its methods work in any Array API namespace ``xp`` on the linear predictor ``Z`` of shape
``(n_samples, n_tasks)``, and its ``kind`` (a :class:`DatafitKind`, ``None`` where no compiled kernel knows the loss)
and ``bound`` are what the compiled kernels receive.

Everything a BCD solver needs is here: value, raw gradient ``G = dF/dZ`` (so that
``grad_W = X' G``), raw Hessian, the curvature ``bound`` giving coordinate Lipschitz constants
``L_j = bound * sum_i a_i x_ij^2`` (block constants via :meth:`bound_matrix`), and the
convex conjugate used by the duality gap.
"""

import numpy as np

from ._cd import DatafitKind
from ._prox_newton_kernels import logistic_conjugate, logistic_loss
from ._ws_gap import multinomial_loss

__all__ = ["Logistic", "Multinomial", "Quadratic"]


class _Datafit:
    """Shared parts: sample weights, encoding checks, normalised weights."""

    kind = None
    bound = 1.0

    def __init__(self, sample_weight=None):
        self.sample_weight = sample_weight

    def __repr__(self):
        return f"{type(self).__name__}()"

    def n_tasks(self, y):
        """Number of columns of ``W`` (one, except for the multinomial loss)."""
        return 1

    def weights(self, n, xp, dtype, device=None):
        """Normalised sample weights ``a`` (sum one), validated."""
        if self.sample_weight is None:
            return xp.full((n,), 1.0 / n, dtype=dtype, device=device)
        sw = np.asarray(_host(self.sample_weight), dtype=float).reshape(-1)
        if sw.shape[0] != n:
            raise ValueError(f"sample_weight has length {sw.shape[0]}, expected {n}")
        if not np.all(np.isfinite(sw)) or np.any(sw < 0):
            raise ValueError("sample_weight must be finite and non-negative")
        if sw.sum() <= 0:
            raise ValueError("sample_weight must have a positive sum")
        return xp.asarray(sw / sw.sum(), dtype=dtype, device=device)

    def bound_matrix(self, K, xp, dtype, device=None):
        """Class-coupling factor ``S`` of the curvature bound (a 1x1 matrix for K = 1)."""
        return xp.full((1, 1), self.bound, dtype=dtype, device=device)


class Quadratic(_Datafit):
    """Least squares ``(1/2) sum_i a_i (y_i - z_i)^2``.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weights, normalised to sum one.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linear_model import Quadratic
    >>> f = Quadratic()
    >>> float(f.value(np.zeros((2, 1)), np.array([1.0, 3.0]), np.full(2, 0.5), np))
    2.5
    """

    kind = DatafitKind.LEAST_SQUARES
    bound = 1.0

    def encode(self, y):
        """Targets as a float vector."""
        return np.asarray(y, dtype=float)

    def value(self, Z, y, a, xp):
        r = Z[:, 0] - y
        return 0.5 * xp.sum(a * r * r)

    def raw_gradient(self, Z, y, a, xp):
        return xp.reshape(a * (Z[:, 0] - y), (-1, 1))

    def constant_fit_value(self, y, a, K, xp):
        """Smallest value over constant predictors: half the weighted variance of ``y``."""
        total = xp.sum(a)
        r = y - xp.sum(a * y) / total
        return 0.5 * float(xp.sum(a * r * r))

    def raw_hessian(self, Z, y, a, xp):
        """Per-sample Hessian blocks, shape (n, 1, 1)."""
        return xp.reshape(a, (-1, 1, 1))

    def conjugate(self, G, y, a, xp):
        """``sum_i a_i phi*(G_i / a_i)`` (rows with ``a_i = 0`` have ``G_i = 0``)."""
        g = G[:, 0]
        safe = xp.where(a > 0, a, xp.ones_like(a))
        return xp.sum(g * g / (2 * safe) + g * y)


class Logistic(_Datafit):
    """Logistic loss ``sum_i a_i log(1 + exp(-y_i z_i))`` for labels ``y_i`` in {-1, +1}.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weights, normalised to sum one.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linear_model import Logistic
    >>> round(float(Logistic().value(np.zeros((2, 1)), np.array([1.0, -1.0]),
    ...                             np.full(2, 0.5), np)), 4)
    0.6931
    """

    kind = DatafitKind.LOGISTIC
    bound = 0.25

    def encode(self, y):
        """Labels as a float vector of -1/+1, checked."""
        y = np.asarray(y, dtype=float)
        if not np.all(np.isin(y, (-1.0, 1.0))):
            raise ValueError("Logistic datafit needs labels y in {-1, +1}")
        return y

    def value(self, Z, y, a, xp):
        if _compiled(xp, Z, y, a):
            z = np.ascontiguousarray(Z[:, 0])
            return logistic_loss(z, z, 0.0, y, a)
        return xp.sum(a * xp.logaddexp(xp.zeros_like(y), -y * Z[:, 0]))

    def raw_gradient(self, Z, y, a, xp):
        s = _sigmoid(-y * Z[:, 0], xp)
        return xp.reshape(-a * y * s, (-1, 1))

    def class_masses(self, y, a, K, xp):
        """Weighted mass of each label, -1 then +1 (``K`` is one, unused)."""
        return xp.stack([xp.sum(a * (y < 0)), xp.sum(a * (y > 0))])

    def constant_fit_value(self, y, a, K, xp):
        """Smallest value over constant predictors: the weighted label entropy."""
        return _entropy(self.class_masses(y, a, K, xp), xp)

    def raw_hessian(self, Z, y, a, xp):
        s = _sigmoid(Z[:, 0], xp)
        return xp.reshape(a * s * (1 - s), (-1, 1, 1))

    def conjugate(self, G, y, a, xp):
        if _compiled(xp, G, y, a):
            return logistic_conjugate(np.ascontiguousarray(G[:, 0]), y, a)
        safe = xp.where(a > 0, a, xp.ones_like(a))
        s = xp.clip(-G[:, 0] * y / safe, 0.0, 1.0)
        return xp.sum(a * (_xlogx(s, xp) + _xlogx(1 - s, xp)))


class Multinomial(_Datafit):
    """Softmax cross-entropy ``sum_i a_i (logsumexp(z_i) - z_{i, y_i})``, ``W`` of shape (p, K).

    Parameters
    ----------
    n_classes : int, optional
        Number of classes K; by default ``max(y) + 1``.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weights, normalised to sum one.

    Notes
    -----
    The curvature bound is Böhning's ``(1/2)(I - 11'/K)`` (times ``X'AX``), so a feature's
    K coefficients form a natural block with Lipschitz constant ``(1/2) sum_i a_i x_ij^2``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linear_model import Multinomial
    >>> f = Multinomial()
    >>> round(float(f.value(np.zeros((2, 3)), np.array([0.0, 2.0]), np.full(2, 0.5), np)), 4)
    1.0986
    """

    kind = DatafitKind.MULTINOMIAL
    bound = 0.5

    def __init__(self, n_classes=None, sample_weight=None):
        super().__init__(sample_weight)
        self.n_classes = n_classes

    def n_tasks(self, y):
        if self.n_classes is not None:
            return int(self.n_classes)
        return int(np.max(_host(y))) + 1

    def encode(self, y):
        """Class indices 0..K-1 as floats, checked."""
        y = np.asarray(y, dtype=float)
        if np.any(y < 0) or np.any(y != np.round(y)):
            raise ValueError("Multinomial datafit needs class indices 0..K-1 in y")
        if self.n_classes is not None and np.any(y >= self.n_classes):
            raise ValueError("y has a class index >= n_classes")
        return y

    def bound_matrix(self, K, xp, dtype, device=None):
        eye = xp.eye(K, dtype=dtype, device=device)
        return 0.5 * (eye - 1.0 / K)

    def onehot(self, y, K, xp):
        classes = xp.arange(K, dtype=y.dtype, device=_device(y))
        return xp.astype(xp.reshape(y, (-1, 1)) == classes, y.dtype)

    def probabilities(self, Z, xp):
        """Class probabilities ``softmax(z_i)`` per sample, shape (n, K)."""
        E = xp.exp(Z - xp.max(Z, axis=1, keepdims=True))
        return E / xp.sum(E, axis=1, keepdims=True)

    def class_masses(self, y, a, K, xp):
        """Weighted mass of each of the ``K`` classes."""
        return xp.sum(xp.reshape(a, (-1, 1)) * self.onehot(y, K, xp), axis=0)

    def constant_fit_value(self, y, a, K, xp):
        """Smallest value over constant predictors: the weighted class entropy."""
        return _entropy(self.class_masses(y, a, K, xp), xp)

    def value(self, Z, y, a, xp):
        if _compiled(xp, Z, y, a):
            # one compiled pass instead of a dozen array operations: the Newton finish's
            # line searches and the extrapolation tests call it a dozen times a fit on small
            # data (iris L1: 4.3 -> 3.85 ms)
            return multinomial_loss(np.ascontiguousarray(Z), y, a)
        m = xp.max(Z, axis=1, keepdims=True)
        lse = m[:, 0] + xp.log(xp.sum(xp.exp(Z - m), axis=1))
        return xp.sum(a * (lse - self.label_scores(Z, y, xp)))

    def label_scores(self, Z, y, xp):
        """``z_{i, y_i}``: each sample's score of its own class (read in place; a product by
        the one-hot labels built them anew on every call, 4x slower on 1797 x 10)."""
        labels = xp.reshape(xp.astype(y, xp.int64), (-1, 1))
        return xp.take_along_axis(Z, labels, axis=1)[:, 0]

    def raw_gradient(self, Z, y, a, xp):
        K = Z.shape[1]
        return xp.reshape(a, (-1, 1)) * (self.probabilities(Z, xp) - self.onehot(y, K, xp))

    def raw_hessian(self, Z, y, a, xp):
        P = self.probabilities(Z, xp)
        K = Z.shape[1]
        eye = xp.eye(K, dtype=Z.dtype, device=_device(Z))
        H = P[:, :, None] * eye - P[:, :, None] * P[:, None, :]
        return xp.reshape(a, (-1, 1, 1)) * H

    def conjugate(self, G, y, a, xp):
        K = G.shape[1]
        safe = xp.reshape(xp.where(a > 0, a, xp.ones_like(a)), (-1, 1))
        P = xp.clip(G / safe + self.onehot(y, K, xp), 0.0, 1.0)
        return xp.sum(xp.reshape(a, (-1, 1)) * _xlogx(P, xp))


def _compiled(xp, *arrays):
    """True when the compiled kernels take these arrays: NumPy, float64, vectors contiguous
    (the working-set engine's layout; other callers keep the array code)."""
    return xp is np and all(isinstance(x, np.ndarray) and x.dtype == np.float64
                            for x in arrays) and all(x.flags.c_contiguous
                                                     for x in arrays[1:])


def _sigmoid(t, xp):
    return 0.5 * (1.0 + xp.tanh(0.5 * t))


def _entropy(mass, xp):
    """``-sum_k m_k log(m_k / sum(m))`` of non-negative class masses ``m``."""
    total = xp.sum(mass)
    return -float(xp.sum(_xlogx(mass / total, xp))) * float(total)


def _xlogx(s, xp):
    positive = s > 0
    return xp.where(positive, s * xp.log(xp.where(positive, s, xp.ones_like(s))), 0.0)


def _device(x):
    from array_api_compat import device

    return device(x)


def _host(x):
    from .._array_api import to_numpy

    return to_numpy(x)
