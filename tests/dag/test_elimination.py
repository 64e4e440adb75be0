"""Backward elimination of the Gaussian search's parents (downdated inverse Gram matrix)."""

import numpy as np
import pytest

from numsolve.dag._insertion import InsertionSearch


def correlation(X):
    return np.ascontiguousarray(np.corrcoef(X, rowvar=False))


def node_score(R, v, parents, half_n, penalty):
    P = np.asarray(parents, dtype=int)
    rss = R[v, v] - (R[P, v] @ np.linalg.solve(R[np.ix_(P, P)], R[P, v]) if P.size else 0.0)
    return half_n * np.log(rss) + penalty * P.size


def redundant_proxies(n, seed):
    """``v`` is the sum of four causes; two proxies, each of two causes plus a little noise,
    correlate with ``v`` more than any cause does, so forward selection takes them first and
    elimination must drop both once the causes are in."""
    rng = np.random.default_rng(seed)
    causes = rng.normal(size=(n, 4))
    proxies = np.c_[causes[:, :2].sum(axis=1), causes[:, 2:].sum(axis=1)] + 0.3 * rng.normal(size=(n, 2))
    v = causes.sum(axis=1) + 0.05 * rng.normal(size=n)
    return np.c_[proxies, causes, v]


def test_elimination_drops_the_proxies_forward_selection_took():
    X = redundant_proxies(5000, 0)
    R = correlation(X)
    half_n, penalty = X.shape[0] / 2, np.log(X.shape[0]) / 2
    search = InsertionSearch(R, half_n, penalty)
    order = np.arange(7, dtype=np.intp)
    total = search.score_order(order)
    # the proxies are what forward selection takes first (the largest drop)
    assert np.argmax(np.abs(R[:6, 6])) in (0, 1)
    assert sorted(search.parents(6)) == [2, 3, 4, 5]
    expected = sum(node_score(R, v, search.parents(v), half_n, penalty) for v in range(7))
    assert total == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_no_single_removal_lowers_a_node_score(seed):
    rng = np.random.default_rng(seed)
    d, n = 12, 400
    A = np.tril(rng.normal(size=(d, d)) * (rng.random((d, d)) < 0.5), -1)
    X = rng.normal(size=(n, d)) @ np.linalg.inv(np.eye(d) - A).T
    R = correlation(X)
    half_n, penalty = n / 2, 2.0 * np.log(n) / 2
    search = InsertionSearch(R, half_n, penalty)
    order = rng.permutation(d).astype(np.intp)
    total = search.score_order(order)
    scores = []
    for v in range(d):
        P = list(search.parents(v))
        own = node_score(R, v, P, half_n, penalty)
        scores.append(own)
        for p in P:
            assert node_score(R, v, [q for q in P if q != p], half_n, penalty) > own
    assert total == pytest.approx(sum(scores), rel=1e-10)
