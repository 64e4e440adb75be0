"""The l2 search at scale (issue #21): incremental factor updates, rank-ordered chunks of
candidates, the Gram matrix over blocks of samples, threaded and Dask scans."""

import numpy as np
import pytest

from numsolve.dag import simulate_dag, simulate_linear_sem, simulate_parameter
from numsolve.dag import _topo

# the search through the module the tests patch (a doctest run may import it a second time)
topo_swaps = _topo.topo_swaps
from numsolve.dag._order_scan import order_factor, scanned_changes, swap_changes, swap_factor


def _gram(seed, d, n=80):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    return Z.T @ Z / n


def _disjoint_swaps(rng, d):
    """A few random non-overlapping swaps (a, b), a < b, as one round applies them."""
    swaps, taken = [], np.zeros(d, dtype=bool)
    for _ in range(rng.integers(1, 4)):
        a, b = np.sort(rng.choice(d, 2, replace=False))
        if not taken[a:b + 1].any():
            taken[a:b + 1] = True
            swaps.append((int(a), int(b)))
    return swaps


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_incremental_updates_equal_a_fresh_factorisation_after_any_swaps(seed, monkeypatch):
    # never refactor: every round below is an in-place update of the previous factor
    monkeypatch.setattr(_topo, "_REFACTOR_EVERY", 10 ** 9)
    monkeypatch.setattr(_topo, "_UPDATE_COST_LIMIT", 0)
    monkeypatch.setattr(_topo, "_COEFFICIENT_UPDATE_LIMIT", 0)
    monkeypatch.setattr(_topo, "_PATH_UPDATE_LIMIT", 0)
    rng = np.random.default_rng(seed)
    d = 15
    G = _gram(seed, d)
    model = _topo._LeastSquares(G)
    order = rng.permutation(d)
    model.setup(order)
    for _ in range(40):
        swaps = _disjoint_swaps(rng, d)
        for a, b in swaps:
            order[a], order[b] = order[b], order[a]
        value = model.swap(order, swaps)
        fresh = _topo._LeastSquares(G)
        expected = fresh.setup(order)
        assert model.updates > 0
        assert abs(value - expected) <= 1e-10 * expected
        np.testing.assert_allclose(model.diag, fresh.diag, rtol=1e-10, atol=0)
        np.testing.assert_allclose(model.C, fresh.C, rtol=0, atol=1e-10 * np.abs(fresh.C).max())
        np.testing.assert_allclose(model.coefficients(order), fresh.coefficients(order), rtol=0,
                                   atol=1e-10 * max(np.abs(fresh.coefficients(order)).max(), 1.0))
        # the path weights (I - B o B)^{-1}, kept since the first round
        paths = model.paths(order)
        assert model.P is paths and model.B is not None
        exact = np.linalg.inv(np.eye(d) - fresh.coefficients(order) ** 2)
        np.testing.assert_allclose(paths, exact, rtol=0, atol=1e-10 * np.abs(exact).max())
    # the factor keeps its shape: lower triangular, C C^T the permuted (jittered) Gram matrix
    assert np.all(np.triu(model.C, 1) == 0)
    Gp = G[np.ix_(order, order)] + model.jitter * np.eye(d)
    np.testing.assert_allclose(model.C @ model.C.T, Gp, rtol=0, atol=1e-10 * np.abs(Gp).max())


def test_singular_window_leaves_the_factor_unchanged():
    # position 1 repeats position 0 exactly: the swapped window [[1, 1], [1, 1]] has no
    # Cholesky factor
    C = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.5, 0.2, 1.0]])
    diag = np.diag(C) ** 2
    before = C.copy(), diag.copy()
    assert not swap_factor(C, diag, 0, 1)
    np.testing.assert_array_equal(C, before[0])
    np.testing.assert_array_equal(diag, before[1])


def test_scanned_values_do_not_depend_on_how_the_first_positions_are_split():
    rng = np.random.default_rng(3)
    d = 14
    G = _gram(3, d)
    diag, C = order_factor(G)
    pa, pb = np.triu_indices(d, 1)
    pick = rng.permutation(len(pa))[:40]
    pa, pb = pa[pick], pb[pick]
    first, second, whole = scanned_changes(C, diag, pa, pb, np.inf, n_threads=2)
    # every swap of a scanned first position up to its farthest asked pair, by position
    last = np.arange(d)
    np.maximum.at(last, pa, pb)
    expected = [(a, b) for a in range(d) for b in range(a + 1, last[a] + 1)]
    assert list(zip(first.tolist(), second.tolist())) == expected
    np.testing.assert_array_equal(whole, swap_changes(C, diag, last)[first, second])
    # split by first position (as over Dask workers): every row keeps its window
    for rows in np.array_split(rng.permutation(d), 3):
        part = np.isin(pa, rows)
        got = scanned_changes(C, diag, pa[part], pb[part], np.inf)
        mine = np.isin(first, pa[part])
        np.testing.assert_array_equal(got[2], whole[mine])
    # the threshold keeps the values below it
    below = np.median(whole)
    kept = scanned_changes(C, diag, pa, pb, below)
    np.testing.assert_array_equal(kept[2], whole[whole < below])
    # and each value is the change of the residual variances' sum under the swap
    for a, b, value in zip(first, second, whole):
        swapped = np.arange(d)
        swapped[[a, b]] = swapped[[b, a]]
        fresh = np.sum(np.diag(np.linalg.cholesky(G[np.ix_(swapped, swapped)])) ** 2) - diag.sum()
        assert abs(value - fresh) <= 1e-10 * diag.sum()


def test_lowest_orders_ties_by_key():
    rng = np.random.default_rng(0)
    for _ in range(200):
        values = rng.integers(0, 3, rng.integers(1, 50)).astype(float)
        key = rng.permutation(len(values) * 2)[:len(values)]
        k = int(rng.integers(1, len(values) + 2))
        np.testing.assert_array_equal(_topo._lowest(values, k, key.__getitem__), np.lexsort((key, values))[:k])


def test_chunks_cover_the_ranking_in_growing_steps(monkeypatch):
    monkeypatch.setattr(_topo, "_CHUNK_GROWTH", 2)
    assert _topo._chunk_ends(6, 40, 100) == [6, 12, 24, 40, 80, 100]
    assert _topo._chunk_ends(6, 6, 10) == [6, 10]
    assert _topo._chunk_ends(50, 80, 30) == [30]


def _problem(d, seed=0, n=400):
    B = simulate_dag(d, 2 * d, "ER", random_state=seed)
    return B, simulate_linear_sem(simulate_parameter(B, random_state=seed), n, random_state=seed)


def test_search_ends_where_no_single_swap_lowers_the_score():
    """Chunks stop a round early, but the search only stops after every pair was scored."""
    _, X = _problem(12, seed=2)
    res = topo_swaps(X, init="random", random_state=0)
    assert res.converged
    G = X.T @ X / X.shape[0]
    order = res.extras["order"]

    def loss(o):
        return 0.5 * np.sum(np.diag(np.linalg.cholesky(G[np.ix_(o, o)])) ** 2)

    base = loss(order)
    assert res.score == pytest.approx(base, rel=1e-9)  # the factor carries a 1e-12 jitter
    for a in range(12):
        for b in range(a + 1, 12):
            swapped = order.copy()
            swapped[[a, b]] = swapped[[b, a]]
            assert loss(swapped) >= base - 1e-9 * base


def test_blocked_gram_equals_the_product(monkeypatch):
    X = np.random.default_rng(0).normal(size=(103, 7)).astype(np.float32)
    monkeypatch.setattr(_topo, "_GRAM_BLOCK_ENTRIES", 70)  # blocks of 10 rows
    Xd = X.astype(np.float64)
    np.testing.assert_allclose(_topo._gram(X), Xd.T @ Xd / 103, rtol=1e-12)


class _Stop(Exception):
    pass


@pytest.mark.parametrize("d, rounds", [(5, 500), (200, 600), (1000, 3000)])
def test_default_rounds_grow_with_d(d, rounds, monkeypatch):
    def search(model, order, acyclicity, max_iter, *args):
        raise _Stop(max_iter)

    monkeypatch.setattr(_topo, "_search", search)
    X = np.random.default_rng(0).normal(size=(3, d))
    with pytest.raises(_Stop) as stop:
        topo_swaps(X)
    assert stop.value.args == (rounds,)
    with pytest.raises(_Stop) as stop:
        topo_swaps(X, max_iter=7)
    assert stop.value.args == (7,)


def test_threaded_and_dask_scans_return_the_one_process_graph(monkeypatch):
    distributed = pytest.importorskip("distributed")
    # every scan goes to the workers, however small
    monkeypatch.setattr(_topo, "_DASK_MIN_FLOPS", 0.0)
    B, X = _problem(30, seed=4, n=600)
    ref = topo_swaps(X, init="random", random_state=2)
    assert ref.n_iter > 5
    runs = [topo_swaps(X, init="random", random_state=2, n_jobs=2)]
    with distributed.Client(processes=False, n_workers=2, threads_per_worker=1,
                            dashboard_address=None) as client:
        runs.append(topo_swaps(X, init="random", random_state=2, client=client))
    for res in runs:
        np.testing.assert_array_equal(res.extras["order"], ref.extras["order"])
        np.testing.assert_array_equal(res.x, ref.x)
        np.testing.assert_array_equal(res.history["score"], ref.history["score"])


@pytest.mark.parametrize("kwargs", [{"score": "bic"}, {"lambda1": 0.1}])
def test_client_needs_the_exact_least_squares_scan(kwargs):
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="client="):
        topo_swaps(X, client=object(), **kwargs)
