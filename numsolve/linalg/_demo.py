"""Demo of numsolve.linalg: SOR, SSOR-PCG and a bandit-tuned omega on small generated systems."""

import time

import numpy as np
import scipy.sparse as sp

from ._bandit import OmegaBandit
from ._problems import poisson_2d, shifted_laplacian_sequence
from ._sequence import solve_sequence
from ._sor_solver import sor
from ._ssor_cg import ssor_cg
from ._tuning import young_omega

__all__ = ["demo"]


def demo():
    """Solve a few small problems; return rows with solver, problem, quality and seconds."""
    rows = []
    A = poisson_2d(30)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    omega = young_omega(beta=np.cos(np.pi / 31))
    for label, kwargs in [("Gauss-Seidel", dict(omega=1.0)),
                          (f"SOR omega={omega:.3f}", dict(omega=omega))]:
        start = time.perf_counter()
        res = sor(A, b, maxiter=20000, **kwargs)
        rows.append({"solver": f"linalg.sor ({label})", "problem": "2-D Poisson, 900 unknowns",
                     "quality": f"{res.n_iter} sweeps, relative residual {res.residual:.1e}",
                     "seconds": time.perf_counter() - start})
    start = time.perf_counter()
    res = ssor_cg(A, b, omega=1.7)
    rows.append({"solver": "linalg.ssor_cg (omega=1.7)", "problem": "2-D Poisson, 900 unknowns",
                 "quality": f"{res.n_iter} iterations, relative residual {res.residual:.1e}",
                 "seconds": time.perf_counter() - start})
    L, shifts, B = shifted_laplacian_sequence(1000, random_state=0)
    eye = sp.identity(L.shape[0], format="csr")
    systems = [(sp.csr_matrix(L + c * eye), rhs, c) for c, rhs in zip(shifts, B)]
    for policy in ("tsallis-inf", "young", "chebcb", "smoothcb"):
        start = time.perf_counter()
        res = solve_sequence(systems, OmegaBandit(policy, random_state=0))
        last = res.iterations[-200:].mean()
        rows.append({"solver": f"linalg.solve_sequence ({policy})",
                     "problem": "1000 shifted 10x10 Laplacians (paper's task)",
                     "quality": f"mean {res.iterations.mean():.0f} sweeps, last 200: {last:.0f}"
                                " (Gauss-Seidel ~600)",
                     "seconds": time.perf_counter() - start})
    return rows
