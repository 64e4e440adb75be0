"""
Regret of the learned relaxation over a sequence of systems
===========================================================

A sequence of shifted Poisson systems :math:`(L + c_t I)\\,x = b_t` is solved by SOR, one
system at a time; the only feedback is each solve's iteration count. The default learner
(``OmegaBandit()``, the ``"safe"`` policy) starts at Gauss-Seidel, estimates Young's omega
from the first solve and tunes omega with trials cut short at half the usual cost, so
learning never costs much more than not tuning; on long, steadily converging solves such as
these, Young's model of the systems seen so far proposes each move and a cut-short trial
must confirm it. Its regret is its cumulative iteration
count minus that of the best fixed omega in hindsight, known only after the fact (here from
the counts of every system at every omega of the grid); the figure shows the ratio of the
two, which tends to 1 when the regret grows slower than the number of systems. Passing the shift :math:`c_t` as a
context lets it follow the best omega of each system instead.
"""

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp

from numsolve.linalg import (OmegaBandit, best_fixed_omega, shifted_iteration_table,
                             shifted_laplacian_sequence, solve_sequence)

n_systems = 400
L, shifts, B = shifted_laplacian_sequence(n_systems, random_state=0)
eye = sp.identity(L.shape[0], format="csr")
matrices = [sp.csr_matrix(L + c * eye) for c in shifts]

# Iterations of every system at every omega of the grid: the hindsight baselines.
table = shifted_iteration_table(L, shifts, B)
grid = np.linspace(1, 1.95, table.shape[1])
best_omega, best_total = best_fixed_omega(table)
best_column = table[:, np.argmin(table.sum(axis=0))]

# %%
# The default learner (seeded, for a reproducible page), without and with the shift as
# context.
plain = solve_sequence([(A, b) for A, b in zip(matrices, B)], OmegaBandit(random_state=0))
context = solve_sequence([(A, b, c) for A, b, c in zip(matrices, B, shifts)],
                         OmegaBandit(random_state=0))

totals = {"omega = 1 (Gauss-Seidel)": table[:, 0], "safe default": plain.iterations,
          "safe default, shift as context": context.iterations}
for name, iterations in totals.items():
    print(f"{name:<31} {iterations.sum():7.0f} iterations, "
          f"{iterations.sum() / best_total:.3f} x the best fixed omega ({best_omega:.2f})")
print(f"{'instance-optimal omegas':<31} {table.min(axis=1).sum():7.0f} iterations")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
colors = dict(zip(totals, ["C0", "C1", "C2"]))
systems = np.arange(1, n_systems + 1)
for name, iterations in totals.items():
    left.plot(systems, np.cumsum(iterations) / np.cumsum(best_column), color=colors[name],
              label=name)
left.axhline(1, color="black", lw=0.8)
left.set_yscale("log")
ticks = [0.8, 1, 1.5, 2, 4, 6]
left.set_yticks(ticks, [str(tick) for tick in ticks])
left.minorticks_off()
left.set_xlabel("systems solved")
left.set_ylabel("cumulative iterations / best fixed omega's")
left.set_title("Cost against the best fixed omega in hindsight")
left.legend()

right.scatter(shifts, grid[np.argmin(table, axis=1)], s=8, color="0.6",
              label="best omega of each system")
right.scatter(shifts, plain.omegas, s=8, color=colors["safe default"], label="safe default")
right.scatter(shifts, context.omegas, s=8, color=colors["safe default, shift as context"],
              label="safe default, shift as context")
right.set_xlabel("shift $c_t$")
right.set_ylabel("omega")
right.set_title("Omega played against the system's shift")
right.legend()
fig.tight_layout()
plt.show()
