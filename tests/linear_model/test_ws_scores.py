"""The compiled GS-q scores of the working-set rule, against the promised decrease computed
directly from the penalty's proximal step."""

import numpy as np
import pytest

from numsolve.linear_model import L1, L1PlusL2, NonNegL1
from numsolve.linear_model._working_set import gsq_scores


@pytest.mark.parametrize("penalty", [L1(0.3), L1PlusL2(0.4, 0.6), NonNegL1(0.3)])
def test_scores_are_the_promised_decrease(rng, penalty):
    p = 200
    W = rng.standard_normal((p, 1)) * (rng.random((p, 1)) < 0.3)
    W = np.abs(W) if penalty.positive else W
    grad = rng.standard_normal((p, 1))
    lips = rng.uniform(0.1, 3.0, p)
    lips[:5] = 0.0  # empty columns
    scores = gsq_scores(penalty, W, grad, lips)

    w, g = W[:, 0], grad[:, 0]
    for j in range(5, p):
        new = penalty.prox(np.array([w[j] - g[j] / lips[j]]), 1.0 / lips[j], np)[0]
        d = new - w[j]
        # the model's value at the step minus its value at the current point
        model = g[j] * d + 0.5 * lips[j] * d * d + float(penalty.value(np.array([new]), np)) \
            - float(penalty.value(np.array([w[j]]), np))
        assert scores[j] == pytest.approx(max(-model, 0.0), rel=1e-12, abs=1e-15)
    assert np.all(scores[:5] == 0.0) and np.all(scores >= 0.0)
    # at zero with every gradient inside the L1 ball the step is zero: no feature scores
    quiet = rng.uniform(-0.99, 0.99, (p, 1)) * penalty.l1
    assert np.all(gsq_scores(penalty, np.zeros((p, 1)), quiet, lips) == 0.0)
