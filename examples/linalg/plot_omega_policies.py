"""
Which omega policy for which sequence
=====================================

``OmegaBandit`` offers the default ``"safe"`` policy and the policies of Khodak, Chow,
Balcan & Talwalkar ("Learning to Relax", ICLR 2024). The paper's policies explore by
solving whole systems at any omega of the grid, which pays off only over long sequences of
cheap solves; ``"safe"`` explores next to its incumbent in trials cut short at half the usual
cost, so learning never costs much more than not tuning. With a context that predicts the
best omega and a long sequence, the contextual policies ``"smoothcb"`` and ``"chebcb"`` can
go further. Here each policy solves the same 1,000 shifted Poisson systems; the figure shows
the mean iterations per system over a sliding window of 100 systems
beside the best fixed omega in hindsight and the instance-optimal omegas.
"""

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp

from numsolve.linalg import (OmegaBandit, best_fixed_omega, instance_optimal_omegas,
                             shifted_iteration_table, shifted_laplacian_sequence,
                             solve_sequence)

n_systems, window = 1000, 100
L, shifts, B = shifted_laplacian_sequence(n_systems, random_state=1)
eye = sp.identity(L.shape[0], format="csr")
systems = [(sp.csr_matrix(L + c * eye), b, c) for c, b in zip(shifts, B)]
table = shifted_iteration_table(L, shifts, B)


def sliding_mean(values):
    return np.convolve(values, np.ones(window) / window, mode="valid")


# %%
# ``"tsallis-inf"`` and ``"young"`` use the counts only; ``"chebcb"``, ``"smoothcb"`` and
# ``"safe"`` also read the shift, passed as the third item of each system.
fig, ax = plt.subplots(figsize=(7, 4.2))
for policy in ("safe", "tsallis-inf", "young", "chebcb", "smoothcb"):
    result = solve_sequence(systems, OmegaBandit(policy, random_state=0))
    ax.plot(np.arange(window, n_systems + 1), sliding_mean(result.iterations), label=policy)
    print(f"{policy:<12} mean iterations: all {result.iterations.mean():5.1f}, "
          f"last 200 {result.iterations[-200:].mean():5.1f}")
best_omega, best_total = best_fixed_omega(table)
ax.axhline(best_total / n_systems, color="black", ls="--",
           label=f"best fixed omega ({best_omega:.2f})")
ax.axhline(instance_optimal_omegas(table)[1].mean(), color="black", ls=":",
           label="instance-optimal")
ax.set_xlabel("systems solved")
ax.set_ylabel(f"mean iterations over the last {window} systems")
ax.set_ylim(top=2.5 * best_total / n_systems)
ax.legend(ncol=2)
fig.tight_layout()
plt.show()
