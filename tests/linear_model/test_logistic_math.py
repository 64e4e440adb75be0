"""The vectorised per-sample passes of the logistic loss (``_logistic_math.h``): value,
second-order model and conjugate, sample by sample against the library's log1p / log."""

import math

import numpy as np
import pytest

from numsolve.linear_model._prox_newton_kernels import (logistic_conjugate, logistic_loss,
                                                        newton_model)

# margins from round-off to saturation, both signs
_MARGINS = np.concatenate([[0.0], np.logspace(-300, np.log10(650.0), 400)])


def _softplus(t):
    """log(1 + exp(t)), correctly rounded to the library's accuracy."""
    return max(t, 0.0) + math.log1p(math.exp(-abs(t)))


def _entropy(s):
    return (s * math.log(s) if s > 0 else 0.0) + ((1 - s) * math.log1p(-s) if s < 1 else 0.0)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_loss_per_sample_matches_log1p(sign):
    one = np.ones(1)
    worst = 0.0
    for margin in sign * _MARGINS:
        z = np.array([margin])
        expected = _softplus(-margin)
        got = logistic_loss(z, z, 0.0, one, one)
        worst = max(worst, abs(got - expected) / expected)
    assert worst < 1e-15


def test_model_per_sample_matches_closed_forms():
    one = np.ones(1)
    h, g, target = np.empty(1), np.empty(1), np.empty(1)
    for z in np.concatenate([-_MARGINS, _MARGINS]):
        loss = newton_model(np.array([z]), one, one, 1e-12, h, g, target)
        e = math.exp(-abs(z))
        sigmoid_neg = e / (1 + e) if z >= 0 else 1 / (1 + e)  # the sigmoid of -z
        assert loss == pytest.approx(_softplus(-z), rel=1e-15)
        assert g[0] == pytest.approx(-sigmoid_neg, rel=1e-15, abs=1e-290)
        assert h[0] == pytest.approx(max(e / (1 + e) ** 2, 1e-12), rel=1e-15)
        assert target[0] == z - g[0] / h[0]


def test_conjugate_per_sample_matches_log1p():
    rng = np.random.default_rng(0)
    values = np.concatenate([10.0 ** -rng.uniform(0, 300, 300), rng.random(300),
                             1 - 10.0 ** -rng.uniform(1, 15.9, 100), [0.0, 1.0, 0.5]])
    one = np.ones(1)
    worst = 0.0
    for s in values:
        got = logistic_conjugate(np.array([-s]), one, one)
        expected = _entropy(s)
        worst = max(worst, abs(got - expected) / abs(expected) if expected else abs(got))
    # s below 1e-16 keeps its (1 - s) log(1 - s) = -s term (1 - s rounds to 1)
    assert worst < 1e-15


def test_sums_over_blocks_and_weights():
    """Lengths off the vector blocks, weights (zero ones included) and labels of both signs:
    the sums equal the exactly summed per-sample references."""
    rng = np.random.default_rng(1)
    for n in (1, 63, 64, 65, 3 * 64 + 5, 1000):
        z = rng.standard_normal(n) * 8
        y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        a = rng.uniform(0, 1, n)
        a[: n // 5] = 0.0
        expected = math.fsum(a[i] * _softplus(-y[i] * z[i]) for i in range(n))
        assert logistic_loss(z, z, 0.0, y, a) == pytest.approx(expected, rel=1e-15, abs=1e-300)
        h, g, target = np.empty(n), np.empty(n), np.empty(n)
        assert newton_model(z, y, a, 1e-12, h, g, target) == pytest.approx(
            expected, rel=1e-15, abs=1e-300)
        s = rng.uniform(-0.2, 1.2, n)  # clipped to [0, 1]
        conj = math.fsum(a[i] * _entropy(min(max(s[i], 0.0), 1.0)) for i in range(n))
        assert logistic_conjugate(-s * y * a, y, a) == pytest.approx(conj, rel=1e-14,
                                                                     abs=1e-300)
    empty = np.empty(0)
    assert logistic_loss(empty, empty, 0.0, empty, empty) == 0.0
    assert logistic_conjugate(empty, empty, empty) == 0.0


def test_saturated_samples_stay_finite():
    """Margins past 660 leave terms below 1e-290, read as zero (not subnormal)."""
    z = np.array([700.0, -700.0, 1e5, -1e5])
    y = np.ones(4)
    a = np.full(4, 0.25)
    h, g, target = np.empty(4), np.empty(4), np.empty(4)
    loss = newton_model(z, y, a, 1e-12, h, g, target)
    assert loss == pytest.approx(0.25 * (700.0 + 1e5))
    assert np.all(np.isfinite(target))
    assert np.all(h == 0.25 * 1e-12)
    assert g[0] == 0.0 and g[2] == 0.0
    assert g[1] == pytest.approx(-0.25) and g[3] == pytest.approx(-0.25)


def test_engine_raw_gradient_matches_closed_form():
    from numsolve.linear_model._cd import DatafitKind, raw_gradient

    rng = np.random.default_rng(2)
    n = 3 * 64 + 7
    z = np.concatenate([rng.standard_normal(n - 4) * 20, [700.0, -700.0, 1e-300, 0.0]])
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    a = rng.uniform(0, 1, n)
    G = np.empty((n, 1))
    raw_gradient(DatafitKind.LOGISTIC, z[:, None], y, a, G)
    with np.errstate(over="ignore"):
        expected = -a * y / (1.0 + np.exp(y * z))
    np.testing.assert_allclose(G[:, 0], expected, rtol=2e-15, atol=1e-290)
