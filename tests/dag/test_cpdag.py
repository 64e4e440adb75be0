import numpy as np
import pytest

from numsolve.dag import dag_to_cpdag, shd_cpdag, simulate_dag


def causallearn_cpdag(B):
    """causal-learn's CPDAG of ``B`` in numsolve's convention (1 at [i, j] and [j, i] if undirected)."""
    from causallearn.graph.GeneralGraph import GeneralGraph
    from causallearn.graph.GraphNode import GraphNode
    from causallearn.utils.DAG2CPDAG import dag2cpdag

    d = B.shape[0]
    nodes = [GraphNode(f"X{i}") for i in range(d)]
    graph = GeneralGraph(nodes)
    for i, j in zip(*np.nonzero(B)):
        graph.add_directed_edge(nodes[i], nodes[j])
    G = dag2cpdag(graph).graph  # G[j, i] = 1 and G[i, j] = -1 for i -> j; -1 both ways if undirected
    return (((G.T == 1) & (G == -1)) | ((G == -1) & (G.T == -1))).astype(int)


@pytest.mark.parametrize("seed", range(12))
def test_cpdag_matches_causal_learn(seed):
    B = simulate_dag(10, [10, 20, 30][seed % 3], "ER" if seed % 2 else "SF", random_state=seed)
    np.testing.assert_array_equal(dag_to_cpdag(B), causallearn_cpdag(B))


def test_cpdag_examples_and_shd():
    chain = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    fork = np.array([[0, 0, 0], [1, 0, 1], [0, 0, 0]])
    collider = np.array([[0, 0, 1], [0, 0, 1], [0, 0, 0]])
    assert shd_cpdag(chain, fork) == 0  # Markov equivalent
    assert shd_cpdag(chain, collider) == 3  # 0-1 missing, 0-2 extra, 1-2 undirected vs 1 -> 2
    assert shd_cpdag(chain, np.zeros((3, 3))) == 2
    np.testing.assert_array_equal(dag_to_cpdag(collider), collider)
    # Meek's rule 1: a -> c <- b, c - d becomes c -> d
    B = np.zeros((4, 4), int)
    B[0, 2] = B[1, 2] = B[2, 3] = 1
    np.testing.assert_array_equal(dag_to_cpdag(B), B)
    with pytest.raises(ValueError, match="DAG"):
        dag_to_cpdag(np.array([[0, 1], [1, 0]]))
