"""When the softmax Newton finish declines (the caller's epochs go on): a support whose
Hessian costs many epochs, with a target loose against the loss at zero or a gap that nearly
meets it, is left untouched; a tight target far from the gap, or a small support, still
runs the finish."""

import numpy as np
import pytest

from numsolve.linear_model import L1, Multinomial
from numsolve.linear_model._design import Design
from numsolve.linear_model._newton import newton_finish
from numsolve.linear_model._objective import stopping_scale

N, P, K = 300, 30, 4


def _problem(support):
    """Data, labels, weights and a start whose first ``support`` entries (in row order)
    are nonzero."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, P))
    y = rng.integers(0, K, N).astype(float)
    W = np.zeros((P, K))
    W.flat[:support] = 0.3 * rng.standard_normal(support)
    b = 0.1 * rng.standard_normal(K)
    return X, y, np.full(N, 1.0 / N), W, b


def _finish(support, gap, target_fraction):
    """``newton_finish`` with a criterion fixed at ``gap`` and the target as a fraction of
    the loss at zero; whether it moved, and the start and end ``(W, b, Z)``."""
    X, y, a, W, b = _problem(support)
    Z = X @ W + b
    start = (W.copy(), b.copy(), Z.copy())
    target = target_fraction * stopping_scale(Multinomial(), y, a, K, True, np)
    moved = newton_finish(Design(X), Multinomial(), L1(1e-3), W, b, Z, y, a, True,
                          criterion=lambda: gap * target, target=target)
    return moved, start, (W, b, Z)


@pytest.mark.parametrize("gap, target_fraction", [(2.0, 0.05), (1.1, 1e-3)])
def test_costly_finish_with_loose_or_nearly_met_target_is_declined(gap, target_fraction):
    """Every entry active (Hessian 120 x 120 against epochs over 30 x 4): a target at 5 %
    of the loss at zero, or a gap 1.1 times its target, leaves W, b and Z as they were."""
    moved, start, end = _finish(P * K, gap, target_fraction)
    assert not moved
    for before, after in zip(start, end):
        np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("support, target_fraction", [(P * K, 1e-3), (6, 0.05)])
def test_tight_target_or_small_support_runs_the_finish(support, target_fraction):
    """A gap ten times a tight target on the costly support, or a loose target on a support
    of 6 entries: the finish moves the iterate and keeps Z equal to X W + b."""
    moved, start, (W, b, Z) = _finish(support, 10.0, target_fraction)
    assert moved
    assert not np.array_equal(W, start[0])
    X = _problem(support)[0]
    np.testing.assert_allclose(Z, X @ W + b, atol=1e-12)
