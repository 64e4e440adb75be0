"""Graph partitions: colour classes are independent sets, forest blocks are forests."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from numsolve.linear_model._graph_blocks import (
    colour_partition,
    forest_order,
    forest_partition,
    greedy_forest_block,
    is_forest_partition,
    lattice_forests,
)
from numsolve.semi_supervised import lattice_graph


def random_graph(n, density, seed):
    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=density, random_state=rng, format="csr")
    A = A + A.T
    A.setdiag(0)
    A.eliminate_zeros()
    A.data[:] = 1.0
    return (A + sp.identity(n)).tocsr()


def edges_within(A, nodes):
    sub = A[nodes][:, nodes].tocoo()
    return int(np.count_nonzero(sub.row < sub.col))


def test_colour_classes_are_independent_sets():
    A = random_graph(200, 0.03, 0)
    labels = colour_partition(A)
    for colour in np.unique(labels):
        assert edges_within(A, np.flatnonzero(labels == colour)) == 0


def test_lattice_colouring_is_red_black_even_with_removed_nodes():
    W = lattice_graph(20, 30, weight=1.0)
    keep = np.setdiff1d(np.arange(600), np.random.default_rng(1).choice(600, 60, replace=False))
    sub = W[keep][:, keep].tocsr()
    labels = colour_partition(sub)
    assert labels.max() == 1
    for colour in (0, 1):
        assert edges_within(sub, np.flatnonzero(labels == colour)) == 0


def test_checkerboard_on_full_lattice():
    labels = colour_partition(lattice_graph(6, 7, weight=1.0)).reshape(6, 7)
    row, column = np.indices((6, 7))
    assert np.array_equal(labels, (row + column) % 2)


@pytest.mark.parametrize("seed", range(3))
def test_forest_partition_blocks_are_forests_and_cover(seed):
    A = random_graph(150, 0.05, seed)
    labels = forest_partition(A)
    assert labels.shape == (150,) and labels.min() == 0
    for block in np.unique(labels):
        nodes = np.flatnonzero(labels == block)
        assert edges_within(A, nodes) <= nodes.size - 1
    assert is_forest_partition(A, labels)


def test_lattice_comb_forests():
    rows, columns = 9, 8
    W = lattice_graph(rows, columns, weight=1.0)
    labels = lattice_forests((rows, columns))
    assert set(np.unique(labels)) == {0, 1}
    assert is_forest_partition(W, labels)
    for block in (0, 1):  # each comb is one tree: connected with |V| - 1 edges
        nodes = np.flatnonzero(labels == block)
        assert edges_within(W, nodes) == nodes.size - 1
    removed = np.random.default_rng(0).choice(rows * columns, 10, replace=False)
    keep = np.setdiff1d(np.arange(rows * columns), removed)
    assert is_forest_partition(W[keep][:, keep], labels[keep])


def test_forest_order_puts_parents_first():
    A = random_graph(120, 0.04, 3)
    labels = forest_partition(A)
    order, start, parent, parent_pos = forest_order(A, labels)
    position = np.empty(120, dtype=int)
    position[order] = np.arange(120)
    for b in range(start.size - 1):
        block = order[start[b]:start[b + 1]]
        assert np.all(labels[block] == b)
    has_parent = parent >= 0
    assert np.all(position[parent[has_parent]] < position[has_parent])
    assert np.all(labels[parent[has_parent]] == labels[has_parent])
    assert np.all(A.indices[parent_pos[has_parent]] == parent[has_parent])


def test_cycle_is_rejected():
    cycle = sp.csr_matrix(np.array([[2.0, 1, 1], [1, 2, 1], [1, 1, 2]]))
    assert not is_forest_partition(cycle, [0, 0, 0])
    with pytest.raises(ValueError, match="not a forest"):
        forest_order(cycle, [0, 0, 0])


def test_greedy_forest_block_is_a_forest_led_by_the_largest_scores():
    A = random_graph(200, 0.04, 5)
    scores = np.random.default_rng(5).random(200)
    block = greedy_forest_block(A, scores)
    assert np.argmax(scores) in block
    assert edges_within(A, block) <= block.size - 1
    labels = np.ones(200, dtype=int)
    labels[block] = 0
    _, start, _, _ = forest_order(A, np.where(labels == 0, 0, np.arange(1, 201)))
    assert start[1] == block.size


def test_bad_input():
    A = random_graph(10, 0.2, 0)
    with pytest.raises(TypeError):
        colour_partition(A.toarray())
    with pytest.raises(ValueError, match="permutation"):
        forest_partition(A, order=np.zeros(10, dtype=int))
    with pytest.raises(ValueError, match="shape"):
        greedy_forest_block(A, np.ones(3))
    with pytest.raises(ValueError, match="positive"):
        lattice_forests((0, 3))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), density=st.floats(0.0, 0.5), seed=st.integers(0, 10_000))
def test_partitions_property(n, density, seed):
    A = random_graph(n, density, seed)
    assert is_forest_partition(A, forest_partition(A))
    colours = colour_partition(A)
    for colour in np.unique(colours):
        assert edges_within(A, np.flatnonzero(colours == colour)) == 0
    block = greedy_forest_block(A, np.random.default_rng(seed).random(n))
    assert edges_within(A, block) <= max(block.size - 1, 0)
