"""Omega tuners: Tsallis-INF normaliser, regret, contextual advantage, errors, params."""

import numpy as np
import pytest
from sklearn.base import clone

from numsolve.linalg import OmegaBandit
from numsolve.linalg._chebcb import chebyshev_features
from numsolve.linalg._tsallis import tsallis_probabilities

OMEGAS = np.linspace(1.0, 1.95, 20)


@pytest.mark.parametrize("t", [1, 100, 10_000, 1_000_000])
def test_normaliser_gives_probabilities_in_the_regime_that_broke_the_reference(rng, t):
    losses = rng.uniform(0, 5 * t, size=20)
    losses[3] = 0.0
    p = tsallis_probabilities(losses, 2.0 / np.sqrt(t))
    assert np.all(p >= 0) and p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.argmax(p) == 3


def synthetic_costs(rng, context):
    """Iteration-like costs with a best omega that moves with the context in [0, 1]."""
    best = 1.3 + 0.5 * context
    return 40 + 600 * (OMEGAS - best) ** 2 + rng.normal(0, 2, size=OMEGAS.size)


def play(bandit, rng, contexts):
    costs, tables = [], []
    for c in contexts:
        row = synthetic_costs(rng, c)
        arm = int(np.argmin(np.abs(OMEGAS - bandit.select(c))))
        bandit.observe(row[arm])
        costs.append(row[arm])
        tables.append(row)
    return np.asarray(costs), np.asarray(tables)


def test_tsallis_inf_regret_is_sublinear_and_ends_near_the_best_fixed_arm(rng):
    contexts = np.full(4000, 0.5)
    costs, table = play(OmegaBandit("tsallis-inf", random_state=0), rng, contexts)
    regret = np.cumsum(costs) - np.cumsum(table, axis=0).min(axis=1)
    assert regret[-1] < 2 * regret[999]  # 4x the rounds, well under 4x the regret
    best = table[-1000:].mean(axis=0).min()
    assert costs[-1000:].mean() <= 1.1 * best


def test_contextual_policies_beat_the_non_contextual_one_when_the_best_omega_moves(rng):
    contexts = np.random.default_rng(1).uniform(0, 1, 3000)
    results = {}
    for policy in ("tsallis-inf", "tsallis-inf-cb", "chebcb"):
        bandit = OmegaBandit(policy, context_range=(0, 1), random_state=0)
        costs, table = play(bandit, np.random.default_rng(2), contexts)
        results[policy] = costs[-1000:].mean()
    instance_optimal = table[-1000:].min(axis=1).mean()
    assert results["chebcb"] < results["tsallis-inf"]
    assert results["tsallis-inf-cb"] < results["tsallis-inf"]
    assert results["chebcb"] <= 1.2 * instance_optimal


def test_chebyshev_features_are_chebyshev_polynomials():
    z = 0.3
    phi = chebyshev_features((z + 1) / 2, 0.0, 1.0, 5)
    np.testing.assert_allclose(phi, np.cos(np.arange(5) * np.arccos(z)), atol=1e-12)


def test_random_state_makes_it_deterministic():
    def run(seed):
        bandit = OmegaBandit("tsallis-inf", random_state=seed)
        out = []
        for t in range(50):
            out.append(bandit.select())
            bandit.observe(50 + 10 * out[-1])
        return out

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_bad_use():
    with pytest.raises(ValueError, match="policy"):
        OmegaBandit("ucb")
    with pytest.raises(ValueError, match="open interval"):
        OmegaBandit(omegas=[1.0, 2.0])
    with pytest.raises(ValueError, match="context_range"):
        OmegaBandit("chebcb", context_range=(1, 0))
    bandit = OmegaBandit("chebcb")
    with pytest.raises(ValueError, match="needs a context"):
        bandit.select()
    with pytest.raises(ValueError, match="NaN"):
        bandit.select(float("nan"))
    with pytest.raises(RuntimeError, match="preceding select"):
        bandit.observe(3)
    bandit.select(0.1)
    with pytest.raises(RuntimeError, match="twice"):
        bandit.select(0.1)
    with pytest.raises(ValueError, match="cost"):
        bandit.observe(-1)
    with pytest.raises(ValueError, match="scalar context"):
        OmegaBandit("tsallis-inf-cb").select([0.1, 0.2])


def test_get_params_repr_and_clone_follow_scikit_learn():
    bandit = OmegaBandit("young", omegas=[1.0, 1.5, 1.9], random_state=0)
    params = bandit.get_params()
    assert params["policy"] == "young" and params["omegas"] == [1.0, 1.5, 1.9]
    assert params["degree"] is None and params["rtol"] == 1e-8
    assert repr(bandit) == "OmegaBandit(omegas=[1.0, 1.5, 1.9], policy='young', random_state=0)"
    assert repr(OmegaBandit()) == "OmegaBandit()"
    twin = clone(bandit)
    for cost in (40, 30, 35):
        assert bandit.select() == twin.select()
        bandit.observe(cost)
        twin.observe(cost)
    assert bandit.set_params(policy="tsallis-inf") is bandit
    assert bandit.policy == "tsallis-inf" and bandit.costs_ == []
    with pytest.raises(ValueError, match="Invalid parameter"):
        bandit.set_params(alpha=1.0)
