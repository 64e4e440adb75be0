"""The l2 search's rounds (issue #21): several disjoint swaps per round, the greedy start,
path weights kept per window, extended-BIC pruning."""

import itertools

import numpy as np
import pytest

from numsolve.dag import prune_parents, simulate_dag, simulate_linear_sem, simulate_parameter, topo_swaps
from numsolve.dag import _topo
from numsolve.dag._greedy_order import least_variance_order
from numsolve.dag._intervals import heaviest_disjoint
from numsolve.dag._path_update import order_paths, swap_paths


def _sem(d, seed, n=2000, k=2):
    B = simulate_dag(d, k * d, "ER", random_state=seed)
    return B, simulate_linear_sem(simulate_parameter(B, random_state=seed), n, random_state=seed)


def _loss(G, order):
    return 0.5 * float(np.sum(np.diag(np.linalg.cholesky(G[np.ix_(order, order)])) ** 2))


def test_heaviest_disjoint_windows_match_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(300):
        k = int(rng.integers(1, 9))
        first = rng.integers(0, 12, k)
        last = first + rng.integers(1, 6, k)
        gain = rng.random(k)
        best = max(gain[list(s)].sum() for r in range(k + 1) for s in itertools.combinations(range(k), r)
                   if all(last[i] < first[j] or last[j] < first[i] for i, j in itertools.combinations(s, 2)))
        got = heaviest_disjoint(first, last, gain)
        assert abs(gain[got].sum() - best) <= 1e-12
        assert np.all(first[got][1:] > last[got][:-1])  # disjoint, by position
        # the choice does not depend on the order the windows come in
        perm = rng.permutation(k)
        np.testing.assert_array_equal(np.sort(perm[heaviest_disjoint(first[perm], last[perm], gain[perm])]),
                                      np.sort(got))


def test_a_round_lowers_the_score_by_the_sum_of_its_swaps():
    B, X = _sem(40, seed=1, n=500)
    G = X.T @ X / X.shape[0]
    model = _topo._LeastSquares(G)
    order = np.random.default_rng(0).permutation(40)
    value = model.setup(order)
    first, second = np.triu_indices(40, 1)
    ends = _topo._chunk_ends(60, 400, len(first))
    weights = model.paths(order)[first, second]
    key = order[second] * 40 + order[first]
    swaps = _topo._improving_swaps(model, order, value, weights, key.__getitem__, first, second, ends)
    assert len(swaps) >= 3
    gains = []
    for a, b in swaps:
        single = order.copy()
        single[[a, b]] = single[[b, a]]
        gains.append(_loss(G, single) - _loss(G, order))
    assert max(gains) < 0
    for a, b in swaps:
        order[a], order[b] = order[b], order[a]
    after = model.swap(order, swaps)
    assert after == pytest.approx(value + sum(gains), rel=1e-10)
    assert after == pytest.approx(_loss(G, order), rel=1e-10)


def test_multi_swap_search_ends_in_a_local_minimum_over_single_swaps():
    _, X = _sem(25, seed=3, n=300)
    res = topo_swaps(X, init="random", random_state=1)
    assert res.converged and max(res.history["swaps"]) >= 2
    G = X.T @ X / X.shape[0]
    order = res.extras["order"]
    base = _loss(G, order)
    for a, b in itertools.combinations(range(25), 2):
        swapped = order.copy()
        swapped[[a, b]] = swapped[[b, a]]
        assert _loss(G, swapped) >= base - 1e-9 * base


def test_path_weights_follow_any_window_exactly():
    rng = np.random.default_rng(2)
    d = 14
    for _ in range(40):
        B = np.triu(rng.normal(scale=0.6, size=(d, d)), 1)
        P = order_paths(B.copy())
        np.testing.assert_allclose(P, np.linalg.inv(np.eye(d) - B * B), atol=1e-10)
        a, b = np.sort(rng.choice(d, 2, replace=False))
        new = B.copy()
        new[[a, b], b + 1:] = new[[b, a], b + 1:]
        new[:, a:b + 1] = np.triu(rng.normal(scale=0.6, size=(d, d)), 1)[:, a:b + 1]
        new[b + 1:, a:b + 1] = 0.0
        swap_paths(P, B[:b + 1, a:b + 1] ** 2, new[:b + 1, a:b + 1] ** 2, a, b)
        exact = np.linalg.inv(np.eye(d) - new * new)
        np.testing.assert_allclose(P, exact, rtol=0, atol=1e-10 * np.abs(exact).max())


def _greedy_by_regressions(G):
    """Each next variable the one of least residual variance given those placed (lstsq)."""
    placed, left = [], list(range(G.shape[0]))
    while left:
        def residual(v):
            if not placed:
                return G[v, v]
            w = np.linalg.solve(G[np.ix_(placed, placed)], G[placed, v])
            return G[v, v] - G[placed, v] @ w
        v = min(left, key=lambda u: (residual(u), u))
        placed.append(v)
        left.remove(v)
    return np.array(placed)


def test_greedy_order_places_the_least_residual_variance_next():
    rng = np.random.default_rng(4)
    Z = rng.normal(size=(200, 12)) @ rng.normal(size=(12, 12))
    G = Z.T @ Z / 200
    np.testing.assert_array_equal(least_variance_order(G), _greedy_by_regressions(G))
    G_before = G.copy()
    least_variance_order(G)
    np.testing.assert_array_equal(G, G_before)


def test_greedy_order_is_topological_for_equal_variances():
    B, X = _sem(60, seed=5, n=5000)
    G = X.T @ X / X.shape[0]

    def violated(order):
        pos = np.empty(60, dtype=int)
        pos[order] = np.arange(60)
        return int(np.sum(B[pos[:, None] > pos[None, :]] != 0))

    assert violated(least_variance_order(G)) == 0
    assert violated(np.arange(60)) > 10  # the columns' order, a start that knows nothing
    res = topo_swaps(X)  # the default start of the l2 search is this order
    assert res.history["score"][0] == pytest.approx(_loss(G, least_variance_order(G)), rel=1e-9)


def test_extended_bic_drops_the_spurious_parents_bic_keeps():
    # one child of 3 true parents among 200 candidates: BIC's charge log n lets noise through
    n, p = 2000, 200
    W = np.zeros((p + 1, p + 1))
    W[:p, p] = 1.0
    spurious = {"bic": 0, "ebic": 0}
    for seed in range(5):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, p + 1))
        X[:, p] = X[:, :3] @ [1.0, -0.8, 0.6] + rng.normal(size=n)
        for prune in spurious:
            kept = np.flatnonzero(prune_parents(X, W, prune=prune, w_threshold=0.0)[:, p])
            assert kept[:3].tolist() == [0, 1, 2]
            spurious[prune] += len(kept) - 3
    assert spurious["bic"] >= 4 and spurious["ebic"] == 0
    with pytest.raises(ValueError, match="prune"):
        prune_parents(X, W, prune="aic")
