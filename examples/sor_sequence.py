"""Solve a sequence of shifted Poisson systems with SOR, letting a bandit pick omega.

The default learner (``OmegaBandit()``, policy "safe") starts at Gauss-Seidel, jumps to
Young's omega estimated from the first solve, and tunes omega with cut-short trials that
never cost much more than not tuning; with the shift as context it learns how the best omega
moves with it. The paper's policies follow:

Each system ``(L + c_t I) x = b_t`` is solved by SOR; the only feedback is the number of
iterations. Tsallis-INF learns the best fixed omega; ChebCB uses the shift ``c_t`` as context
and approaches the instance-optimal omega (Khodak et al., "Learning to Relax", ICLR 2024).
"young" fits Young's model of the SOR counts (one unknown per system) and is near the best
fixed omega after a handful of systems; "smoothcb" shares one smooth cost model across arms.
"""

import numpy as np
import scipy.sparse as sp

from numsolve.linalg import (
    OmegaBandit,
    best_fixed_omega,
    instance_optimal_omegas,
    shifted_iteration_table,
    shifted_laplacian_sequence,
    solve_sequence,
)

T = 2000
L, shifts, B = shifted_laplacian_sequence(T, variance="high", random_state=0)
eye = sp.identity(L.shape[0], format="csr")
systems = [(sp.csr_matrix(L + c * eye), b, c) for c, b in zip(shifts, B)]

table = shifted_iteration_table(L, shifts, B)  # iterations at every grid omega (evaluation)
omega, total = best_fixed_omega(table)
print(f"Gauss-Seidel (omega=1): {table[:, 0].mean():6.1f} iterations per system")
print(f"best fixed omega {omega:.2f}:   {total / T:6.1f}")
print(f"instance-optimal:       {instance_optimal_omegas(table)[1].mean():6.1f}")
for policy in ("safe", "tsallis-inf", "tsallis-inf-cb", "chebcb", "young", "smoothcb"):
    res = solve_sequence(systems, OmegaBandit(policy, random_state=0))
    print(f"{policy:<15} all: {res.iterations.mean():6.1f}, last 500: "
          f"{res.iterations[-500:].mean():6.1f}  (median omega {np.median(res.omegas[-500:]):.2f})")
