"""
A learned DAG beside the truth
==============================

:class:`~numsolve.dag.TopoDAG` learns a directed acyclic graph from samples of a linear
structural equation model. On such data its default (``loss="auto"``) keeps the linear score
(``loss="bic"``, a Gaussian likelihood with one noise variance per node; ``loss_`` says so),
which does not depend on the units of the columns, and from such data the
direction of some edges cannot be told: what it identifies is the Markov equivalence class,
drawn as a CPDAG (``cpdag_``) whose undirected edges are those whose direction differs between
equivalent graphs. Here the data are standardised, as real measurements in arbitrary units
would be, and the learned CPDAG is drawn beside the CPDAG of the true graph.
"""

import matplotlib.pyplot as plt
import numpy as np

from numsolve.dag import (TopoDAG, count_accuracy, dag_to_cpdag, shd_cpdag, simulate_dag,
                          simulate_linear_sem, simulate_parameter)

d = 12
B = simulate_dag(d, 18, "ER", random_state=3)
X = simulate_linear_sem(simulate_parameter(B, random_state=3), 2000, random_state=3)
Z = (X - X.mean(axis=0)) / X.std(axis=0)

model = TopoDAG(random_state=0).fit(Z)
print("DAG against the truth:", count_accuracy(B, model.adjacency_))
print("SHD between the CPDAGs:", shd_cpdag(B, model.adjacency_))

# %%
# Both graphs on the same circle. An edge of the learned CPDAG is black when the true CPDAG
# holds it with the same marks, orange when it is there with other marks (reversed, or
# directed in one and undirected in the other), red when it is not there; true edges the
# model missed are dashed grey.
angles = np.pi / 2 - 2 * np.pi * np.arange(d) / d
position = np.column_stack([np.cos(angles), np.sin(angles)])


def draw(ax, cpdag, reference, title):
    for i, j in zip(*np.nonzero(cpdag)):
        undirected = cpdag[j, i] != 0
        if undirected and i > j:
            continue  # one line for both entries
        if reference[i, j] == 0 and reference[j, i] == 0:
            color = "red"
        elif reference[i, j] == cpdag[i, j] and reference[j, i] == cpdag[j, i]:
            color = "black"
        else:
            color = "orange"
        ax.annotate("", xy=position[j], xytext=position[i],
                    arrowprops={"arrowstyle": "-" if undirected else "-|>", "color": color,
                                "shrinkA": 11, "shrinkB": 11, "lw": 1.5})
    for i, j in zip(*np.nonzero(reference)):
        if cpdag[i, j] == 0 and cpdag[j, i] == 0 and (reference[j, i] == 0 or i < j):
            ax.plot(*position[[i, j]].T, ls="--", color="0.6", lw=1)
    ax.scatter(*position.T, s=420, color="white", edgecolor="black", zorder=3)
    for node, (x, y) in enumerate(position):
        ax.text(x, y, str(node), ha="center", va="center", zorder=4)
    ax.set_title(title)
    ax.set_xlim(-1.2, 1.2)
    ax.set_ylim(-1.2, 1.2)
    ax.set_aspect("equal")
    ax.axis("off")


truth = dag_to_cpdag(B)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 5))
draw(left, truth, truth, "CPDAG of the true DAG")
draw(right, model.cpdag_, truth, f"Learned CPDAG (SHD {shd_cpdag(B, model.adjacency_)})")
fig.tight_layout()
plt.show()
