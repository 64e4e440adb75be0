"""The compiled k-nearest-neighbour graph is scikit-learn's, neighbour for neighbour."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_moons
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from numsolve.semi_supervised import LabelPropagation, LabelSpreading
from numsolve.semi_supervised._nearest import LEAF_SIZE, FittedNeighbors, kneighbors_graph
from numsolve.semi_supervised._nearest_neighbors import tree_neighbors


def sklearn_graph(X, k):
    # one OpenMP thread: scikit-learn's brute search then offers the columns in order (with
    # several threads over the columns, the neighbour kept among tied ones moves with them)
    with threadpool_limits(1, user_api="openmp"):
        neighbors = NearestNeighbors().fit(X)
        return neighbors.kneighbors_graph(X, k, mode="connectivity")


def assert_same_graph(X, k, n_jobs=None):
    ours, theirs = kneighbors_graph(X, k, n_jobs), sklearn_graph(X, k)
    assert ours.shape == theirs.shape and ours.nnz == theirs.nnz == X.shape[0] * k
    assert (ours != theirs).nnz == 0
    assert np.all(ours.data == 1.0)


@pytest.mark.parametrize("n, d", [(400, 2), (300, 7), (250, 15),  # kd-tree
                                  (300, 16), (600, 40), (9, 3)])  # brute force
@pytest.mark.parametrize("k", [1, 7, 12])
def test_random_points_give_scikit_learns_graph(n, d, k):
    X = np.random.default_rng(n + d).normal(size=(n, d))
    assert_same_graph(X, min(k, n))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [7, 10])
def test_digits_ties_are_broken_as_scikit_learn_does(dtype, k):
    # pixel values in sixteenths: distances are exact and tie at the k-th place on dozens of
    # rows, so a different rule for ties (the lowest index, say) keeps other neighbours
    X = (load_digits().data / 16.0).astype(dtype)
    distances = NearestNeighbors().fit(X).kneighbors(X, k + 1)[0]
    assert np.sum(distances[:, k - 1] == distances[:, k]) > 10
    assert_same_graph(X, k)


def test_tied_points_on_a_lattice():
    # few features (kd-tree) and every distance tied: scikit-learn's own search decides
    X = np.array([[i, j] for i in range(15) for j in range(12)], dtype=float)
    assert_same_graph(X, 5)
    # few points (brute force), ties on a line: kept by scikit-learn's order of offers
    assert_same_graph(np.array([[0.0], [1.0], [-1.0], [2.0], [-2.0], [1.0]]), 3)


def test_duplicated_and_all_points():
    X = np.repeat(np.random.default_rng(3).random((50, 3)), 2, axis=0)
    assert_same_graph(X, 2)
    assert_same_graph(X[:30], 30)


def test_sparse_input_goes_to_scikit_learn():
    X = sp.random(120, 30, density=0.2, random_state=0, format="csr")
    ours, theirs = kneighbors_graph(X, 6), sklearn_graph(X, 6)
    assert (ours != theirs).nnz == 0


def test_caller_array_unchanged_and_c_order_not_needed():
    X = np.asfortranarray(np.random.default_rng(4).normal(size=(200, 20)))
    before = X.copy()
    assert_same_graph(X, 6)
    np.testing.assert_array_equal(X, before)


def test_fitted_neighbors_answer_queries_as_nearest_neighbors():
    X = np.random.default_rng(5).normal(size=(100, 4))
    queries = np.random.default_rng(6).normal(size=(10, 4))
    lazy = FittedNeighbors(X)
    assert lazy.n_samples_fit_ == 100
    expected = NearestNeighbors().fit(X).kneighbors(queries, 3)
    np.testing.assert_array_equal(lazy.kneighbors(queries, 3)[1], expected[1])


@pytest.mark.parametrize("Estimator", [LabelPropagation, LabelSpreading])
def test_estimators_predict_from_the_lazy_neighbours(Estimator):
    import pickle

    X = np.random.default_rng(7).normal(size=(150, 3))
    y = np.where(np.arange(150) % 10 == 0, (X[:, 0] > 0).astype(int), -1)
    model = Estimator(kernel="knn").fit(X, y)
    # a pickled model queries like the original, before and after its first query
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict(X[:20]), model.predict(X[:20]))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X[20:40]),
                                  model.predict(X[20:40]))


@pytest.mark.parametrize("n_jobs", [1, 2, 4])
def test_digits_graph_is_the_same_on_any_number_of_threads(n_jobs):
    # 8 chunks of 256 rows shared among the threads, with rows tied at the k-th place:
    # a row offered its columns out of order would keep another of its tied neighbours
    X = load_digits().data / 16.0
    ours = kneighbors_graph(X, 7, n_jobs=n_jobs)
    assert (ours != sklearn_graph(X, 7)).nnz == 0


@pytest.mark.parametrize("n_jobs", [2, 4])
def test_tree_search_is_the_same_on_any_number_of_threads(n_jobs):
    # a lattice ties on almost every row: each row's pick among its ties comes from its own search
    # alone, so the picks and the count of tied rows do not move with the threads
    X = np.array([[i, j] for i in range(60) for j in range(50)], dtype=float)
    # each point's 2 nearest others among its 4 at distance 1 (a corner has only 2)
    one, several = (np.empty((X.shape[0], 3), dtype=np.intp) for _ in range(2))
    ties = tree_neighbors(X, LEAF_SIZE, one, 1)
    assert ties == X.shape[0] - 4
    assert tree_neighbors(X, LEAF_SIZE, several, n_jobs) == ties
    np.testing.assert_array_equal(several, one)
    moons = make_moons(3000, noise=0.2, random_state=0)[0]
    assert_same_graph(moons, 6, n_jobs)


def test_n_jobs_counts_threads_as_joblib_does(monkeypatch):
    from joblib import cpu_count, parallel_config
    from threadpoolctl import threadpool_info

    from numsolve.semi_supervised import _nearest

    seen = []

    def record(points, neighbors, threads):
        blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
        seen.append((threads, max(blas)))
        neighbors[:] = np.arange(neighbors.shape[1])

    monkeypatch.setattr(_nearest, "brute_neighbors", record)
    X = np.zeros((300, 20))
    # BLAS on two threads outside the search
    with threadpool_limits(2, user_api="blas"):
        kneighbors_graph(X, 3)
        kneighbors_graph(X, 3, n_jobs=3)
        kneighbors_graph(X, 3, n_jobs=-1)
        with parallel_config(n_jobs=2):
            kneighbors_graph(X, 3)
    assert [threads for threads, _ in seen] == [1, 3, cpu_count(), 2]
    # every search thread calls BLAS on one thread of its own
    assert all(blas == 1 for _, blas in seen)
    with pytest.raises(ValueError, match="n_jobs"):
        kneighbors_graph(X, 3, n_jobs=0)


@pytest.mark.parametrize("Estimator", [LabelPropagation, LabelSpreading])
def test_estimators_fit_the_same_on_two_threads(Estimator):
    X = load_digits().data[:900] / 16.0
    y = np.where(np.arange(900) % 10 == 0, load_digits().target[:900], -1)
    one = Estimator(kernel="knn").fit(X, y)
    two = Estimator(kernel="knn", n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(two.label_distributions_, one.label_distributions_)
