"""SOR with a learned omega (numsolve.linalg) against fixed omegas, pyamg sweeps and SciPy CG.

Cases:

* ``sweep``: one forward / symmetric SOR sweep on the 5-point Poisson CSR matrix, numsolve's
  Cython kernel against pyamg's C++ ``relaxation.sor`` (same matrix, omega, sweeps).
* ``paper-high`` / ``paper-low``: the paper's task, 5,000 systems ``(L + c_t I) x = b_t`` with
  ``L`` the 10 x 10 Laplacian, tol 1e-8, x0 = 0, omega grid ``linspace(1, 1.95, 20)``: every
  policy solves the real sequence; the best fixed / instance-optimal comparators come from a
  table of iterations at every grid omega for every system.
* ``shifted-150``: 150 shifted Poisson systems on a 30 x 30 grid.
* ``heat-<n>``: steps sampled from the whole 5000-step heat-equation run (h2d.m), solved by
  SSOR-PCG (warm start, tol 1e-8) against SciPy CG, fixed omegas and the learners.
* ``mesh-<name>-<kind>-<T>``: every square SPD matrix of pyamg's gallery examples (airfoil,
  bar, knot, unit_square, local_disc_galerkin_diffusion, unit_cube) in sequences of implicit
  heat steps ``(I + dt_t A) x = b_t`` with a varying time step (two stiffnesses) and of
  shifts ``(A + c_t I) x = b_t``; plain SOR from x0 = 0 to 1e-8; the default learner against
  omega = 1, the best fixed grid omega in hindsight, the instance-optimal grid omega, SciPy
  CG and pyamg's smoothed-aggregation multigrid (wall time).
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Case, Contender

from numsolve.linalg import (
    HeatEquation2D,
    OmegaBandit,
    SequenceSolver,
    _sor,
    best_fixed_omega,
    instance_optimal_omegas,
    iteration_table,
    poisson_2d,
    shifted_iteration_table,
    shifted_laplacian_sequence,
    sor,
    ssor_cg,
    young_omega,
)
from numsolve.linalg._bandit import DEFAULT_OMEGAS
from numsolve.linalg._operator import split_matrix

TOL = 1e-8


# --------------------------------------------------------------------------- sweep speed

def _sweep_case(grid, sweeps):
    def setup():
        A = poisson_2d(grid)
        b = np.random.default_rng(0).standard_normal(A.shape[0])
        return {"A": A, "b": b, "M": split_matrix(A)}

    def ours(direction):
        def run(p):
            x = np.zeros_like(p["b"])
            _sor.sor_sweep(*p["M"].kernel_args(), p["b"], x, 1.5, direction, sweeps)
            return {"residual": float(np.linalg.norm(p["b"] - p["A"] @ x))}
        return run

    def pyamg(kinds):
        def run(p):
            from pyamg.relaxation.relaxation import sor as pyamg_sor

            x = np.zeros_like(p["b"])
            for _ in range(sweeps):
                for kind in kinds:
                    pyamg_sor(p["A"], x, p["b"], 1.5, iterations=1, sweep=kind)
            return {"residual": float(np.linalg.norm(p["b"] - p["A"] @ x))}
        return run

    def ours_multicolor(p):
        if "colours" not in p:
            from numsolve.linalg._coloring import color_rows, colour_blocks

            order, bounds = colour_blocks(color_rows(p["A"]))
            p["colours"] = order.astype(np.int32), bounds.astype(np.int32)
        order, bounds = p["colours"]
        M, x, d = p["M"], np.zeros_like(p["b"]), np.zeros_like(p["b"])
        hist = np.empty(sweeps + 1)
        _sor.multicolor_solve(M.odata, M.oind, M.optr, M.diag, bounds, order, p["b"], x, d,
                              1.5, 0, 0.0, sweeps, hist, 1)
        return {"residual": float(hist[-1])}

    n = grid * grid
    return Case(
        name=f"sweep-{grid}x{grid}",
        description=(f"{sweeps} SOR sweeps (omega 1.5) from x0 = 0 on the 5-point Poisson CSR "
                     f"matrix, {n} unknowns, {5 * n - 4 * grid} non-zeros, float64; times "
                     f"include {sweeps} sweeps (divide by {sweeps} for one)"),
        setup=setup,
        contenders=[
            Contender("numsolve forward", ours(0)),
            Contender("pyamg forward", pyamg(["forward"]), requires="pyamg"),
            Contender("numsolve symmetric", ours(2)),
            Contender("pyamg forward then backward", pyamg(["forward", "backward"]),
                      requires="pyamg"),
            Contender("numsolve red-black forward + residual (1 thread)", ours_multicolor),
        ],
        repeats=5,
        notes=["pyamg's sweep='symmetric' is not forward-then-backward SOR (it differs from a "
               "dense SSOR reference; pyamg's forward and backward calls in turn match it and "
               "numsolve to round-off), so the symmetric comparison calls pyamg twice."],
    )


# --------------------------------------------------------------------------- sequences

def _summary(costs, last):
    costs = np.asarray(costs, dtype=float)
    return {"mean_iterations": costs.mean(), "mean_last": costs[-last:].mean(),
            "total_iterations": costs.sum()}


def _sequence_case(name, description, T, grid, variance, offset, last, repeats=1):
    def setup():
        A, shifts, B = shifted_laplacian_sequence(T, grid=grid, variance=variance,
                                                  offset=offset, random_state=0)
        eye = sp.identity(A.shape[0], format="csr")
        systems = [(sp.csr_matrix(A + c * eye), b, c) for c, b in zip(shifts, B)]
        table = shifted_iteration_table(A, shifts, B, DEFAULT_OMEGAS, rtol=TOL, n_jobs=2)
        beta0 = np.cos(np.pi / (grid + 1))
        young = [young_omega(beta=4 * beta0 / (4 + c)) for c in shifts]
        return {"systems": systems, "table": table, "shifts": shifts, "young": young,
                "context_range": (float(offset), float(offset) + 0.6)}

    def learner(policy, seed=0, context=True):
        def run(p):
            lo, hi = p["context_range"]
            seq = SequenceSolver(OmegaBandit(policy, context_range=(lo, hi), random_state=seed),
                                 rtol=TOL)
            for A, b, c in p["systems"]:
                seq.solve(A, b, context=c if context else None)
            out = _summary(seq.iterations_, last)
            best = p["table"][-last:].mean(axis=0).min()
            out["last_over_best_fixed"] = out["mean_last"] / best
            out["last_over_instance_optimal"] = (
                out["mean_last"] / p["table"][-last:].min(axis=1).mean())
            out["omega_last_median"] = float(np.median(seq.omegas_[-last:]))
            return out
        return run

    def fixed(omega_of):
        def run(p):
            omegas = omega_of(p)
            costs = [sor(A, b, omega=w, rtol=TOL).n_iter
                     for (A, b, _), w in zip(p["systems"], omegas)]
            return _summary(costs, last)
        return run

    def best_fixed(p):
        omega, _ = best_fixed_omega(p["table"])
        out = fixed(lambda q: [omega] * len(q["systems"]))(p)
        out["omega"] = omega
        return out

    def young_at_zero(p):
        return [young_omega(beta=np.cos(np.pi / (grid + 1)))] * len(p["systems"])

    return Case(
        name=name, description=description, setup=setup, repeats=repeats,
        contenders=[
            Contender("numsolve default (safe)", learner("safe", context=False)),
            Contender("numsolve default (safe, context c_t)", learner("safe")),
            Contender("numsolve Tsallis-INF", learner("tsallis-inf")),
            Contender("numsolve ChebCB (context c_t)", learner("chebcb")),
            Contender("numsolve Tsallis-INF-CB (context c_t)", learner("tsallis-inf-cb")),
            Contender("numsolve Young model (counts only)", learner("young")),
            Contender("numsolve SmoothCB (context c_t)", learner("smoothcb")),
            Contender("omega = 1 (Gauss-Seidel)", fixed(lambda p: [1.0] * len(p["systems"]))),
            Contender("textbook omega of the unshifted Laplacian", fixed(young_at_zero)),
            Contender("best fixed grid omega in hindsight", best_fixed),
            Contender("instance-optimal grid omega",
                      fixed(lambda p: instance_optimal_omegas(p["table"])[0])),
            Contender("instance-optimal Young omega*(c_t)", fixed(lambda p: p["young"])),
        ],
        notes=["Quality: mean SOR iterations per system over all systems and over the last "
               f"{last}; ratios of the learners' last-{last} mean to the best fixed grid omega "
               "and to the instance-optimal grid policy (same systems)."],
    )


# --------------------------------------------------------------------------- heat equation

def _heat_case(nx, stride):
    n_steps = 5000

    def setup():
        pde = HeatEquation2D(nx, n_steps=n_steps)
        trajectory = []
        for step in range(n_steps):
            A, b, kappa = pde.system()
            if step % stride == stride // 2:
                trajectory.append((A, b, kappa, pde.u))
            pde.advance(ssor_cg(A, b, x0=pde.u, omega=1.6, rtol=1e-10).x)
        table = iteration_table(trajectory, DEFAULT_OMEGAS, solver="ssor_cg", rtol=TOL)
        contexts = [np.log10(kappa) for _, _, kappa, _ in trajectory]
        return {"trajectory": trajectory, "table": table, "contexts": contexts,
                "context_range": (min(contexts), max(contexts) + 1e-12)}

    def scipy_cg(p):
        total = 0
        for A, b, _, x0 in p["trajectory"]:
            count = [0]

            def tick(xk, count=count):
                count[0] += 1

            spla.cg(A, b, x0=x0, rtol=TOL, atol=0.0, callback=tick)
            total += count[0]
        return {"total_iterations": total}

    def run_sequence(p, bandit, context=True):
        seq = SequenceSolver(bandit, solver="ssor_cg", rtol=TOL)
        for (A, b, _, x0), c in zip(p["trajectory"], p["contexts"]):
            seq.solve(A, b, context=c if context else None, x0=x0)
        total = int(np.sum(seq.iterations_))
        table = p["table"]
        return {"total_iterations": total,
                "over_best_fixed": total / table.sum(axis=0).min(),
                "over_instance_optimal": total / table.min(axis=1).sum()}

    def fixed(omega_of):
        def run(p):
            omega = omega_of(p)
            out = run_sequence(p, OmegaBandit(omegas=[omega]))
            out["omega"] = omega
            return out
        return run

    def learner(policy, context=True):
        def run(p):
            return run_sequence(p, OmegaBandit(policy, context_range=p["context_range"],
                                               random_state=0), context)
        return run

    n = (nx - 1) ** 2
    count = len(range(stride // 2, n_steps, stride))
    return Case(
        name=f"heat-n{n}",
        description=(f"{count} Crank-Nicolson steps of the 2-D heat equation of the paper "
                     f"(h2d.m: {n_steps} steps of dt = 1e-3 over t in [0, 5], every "
                     f"{stride}th step taken), {n} unknowns, warm start from the previous "
                     "step, relative residual 1e-8; SSOR-PCG over the 20-point omega grid; "
                     "context log10 of the diffusion coefficient"),
        setup=setup, repeats=1,
        contenders=[
            Contender("numsolve SSOR-PCG default (safe)", learner("safe", context=False)),
            Contender("numsolve SSOR-PCG default (safe, context)", learner("safe")),
            Contender("numsolve SSOR-PCG SmoothCB (context)", learner("smoothcb")),
            Contender("numsolve SSOR-PCG Tsallis-INF", learner("tsallis-inf")),
            Contender("numsolve SSOR-PCG ChebCB (context)", learner("chebcb")),
            Contender("SciPy CG (unpreconditioned)", scipy_cg),
            Contender("numsolve SSOR-PCG omega = 1", fixed(lambda p: 1.0)),
            Contender("numsolve SSOR-PCG omega = 1.5", fixed(lambda p: 1.5)),
            Contender("numsolve SSOR-PCG best fixed omega in hindsight",
                      fixed(lambda p: best_fixed_omega(p["table"])[0])),
        ],
        notes=["over_best_fixed / over_instance_optimal: total iterations over those of the "
               "best fixed grid omega in hindsight / of the best grid omega per step (from "
               "the iteration table computed in setup)."],
    )


# --------------------------------------------------------------------------- pyamg meshes

MESHES = ("airfoil", "bar", "knot", "unit_square", "local_disc_galerkin_diffusion",
          "unit_cube")


def mesh_sequence(name, kind, T, seed=0):
    """Systems ``(A_t, b_t, context)`` from pyamg's example matrix ``name``.

    ``kind`` "heat": implicit heat steps ``I + dt_t A`` with ``dt_t = 3 * 2**U(-1, 1) /
    mean(diag A)`` (the regime of issue 17: best fixed omega about 1.2); "stiff-heat": the same
    with 30 instead of 3; "shifts": ``A + c_t I`` with ``c_t = mean(diag A) 10**U(-3, -1)``.
    The context is ``log(dt_t)`` or ``log(c_t)``; ``b_t`` is the previous state plus noise
    (heat) or standard normal (shifts).
    """
    from pyamg.gallery import load_example

    A = sp.csr_matrix(load_example(name)["A"])
    rng = np.random.default_rng(seed)
    n = A.shape[0]
    scale = A.diagonal().mean()
    eye = sp.identity(n, format="csr")
    state = rng.standard_normal(n)
    systems = []
    for _ in range(T):
        if kind == "shifts":
            c = scale * 10 ** rng.uniform(-3, -1)
            systems.append(((A + c * eye).tocsr(), rng.standard_normal(n), np.log(c)))
        else:
            dt = (3 if kind == "heat" else 30) * 2 ** rng.uniform(-1, 1) / scale
            systems.append(((eye + dt * A).tocsr(), state + 0.1 * rng.standard_normal(n),
                            np.log(dt)))
    return systems


def _mesh_case(name, kind, T):
    def setup():
        systems = mesh_sequence(name, kind, T)
        table = iteration_table(systems, DEFAULT_OMEGAS, rtol=TOL)
        return {"systems": systems, "table": table}

    def ratios(p, total):
        table = p["table"]
        return {"total_iterations": total,
                "over_omega_one": total / table[:, 0].sum(),
                "over_best_fixed": total / table.sum(axis=0).min(),
                "over_instance_optimal": total / table.min(axis=1).sum()}

    def learner(policy, context):
        def run(p):
            seq = SequenceSolver(OmegaBandit(policy, random_state=0), rtol=TOL)
            for A, b, c in p["systems"]:
                seq.solve(A, b, context=c if context else None)
            out = ratios(p, float(np.sum(seq.iterations_)))
            out["omega_last"] = seq.omegas_[-1]
            return out
        return run

    def fixed(omega_of):
        def run(p):
            omegas = omega_of(p)
            total = sum(sor(A, b, omega=w, rtol=TOL).n_iter
                        for (A, b, _), w in zip(p["systems"], omegas))
            return ratios(p, float(total))
        return run

    def best_fixed(p):
        omega = best_fixed_omega(p["table"])[0]
        out = fixed(lambda q: [omega] * T)(p)
        out["omega"] = omega
        return out

    def scipy_cg(p):
        total = 0
        for A, b, _ in p["systems"]:
            count = [0]

            def tick(xk, count=count):
                count[0] += 1

            spla.cg(A, b, rtol=TOL, atol=0.0, callback=tick)
            total += count[0]
        return {"total_iterations": total}

    def pyamg_sa(p):
        import pyamg

        total = 0
        for A, b, _ in p["systems"]:
            residuals = []
            pyamg.smoothed_aggregation_solver(A).solve(b, tol=TOL, residuals=residuals)
            total += len(residuals) - 1
        return {"total_iterations": total}

    return Case(
        name=f"mesh-{name}-{kind}-{T}",
        description=(f"{T} systems of kind {kind!r} (see mesh_sequence) from pyamg's {name} "
                     "matrix, SOR from x0 = 0 to relative residual 1e-8, omega grid "
                     "linspace(1, 1.95, 20), seed 0"),
        setup=setup, repeats=1,
        contenders=[
            Contender("numsolve default (safe)", learner("safe", False)),
            Contender("numsolve default (safe, context)", learner("safe", True)),
            Contender("numsolve SmoothCB (context)", learner("smoothcb", True)),
            Contender("omega = 1 (Gauss-Seidel)", fixed(lambda p: [1.0] * T)),
            Contender("best fixed grid omega in hindsight", best_fixed),
            Contender("instance-optimal grid omega",
                      fixed(lambda p: instance_optimal_omegas(p["table"])[0])),
            Contender("SciPy CG (unpreconditioned)", scipy_cg),
            Contender("pyamg smoothed aggregation", pyamg_sa, requires="pyamg"),
        ],
        notes=["over_omega_one / over_best_fixed / over_instance_optimal: total SOR "
               "iterations over those of omega = 1, of the best fixed grid omega in hindsight "
               "and of the best grid omega per system (from the table of every grid omega "
               "computed in setup). CG and pyamg rows: their own iteration counts; compare "
               "their wall time."],
    )


def _mesh_cases():
    return [_mesh_case(name, kind, T) for name in MESHES
            for kind, T in (("heat", 60), ("stiff-heat", 200), ("shifts", 60))]


def cases(quick):
    warnings.filterwarnings("ignore", category=UserWarning)
    if quick:
        return [
            _sweep_case(200, 3),
            _sequence_case("paper-high (quick)", "300 shifted 10 x 10 Laplacians, high "
                           "variance, tol 1e-8", 300, 10, "high", -0.15, 100),
            _heat_case(25, 160),
        ]
    lam = 8 * np.sin(np.pi / 62) ** 2
    return [
        _sweep_case(1000, 5),
        _sequence_case("paper-high", "the paper's task: 5000 shifted 10 x 10 Laplacians, "
                       "c_t = -0.15 + 0.6 Beta(0.5, 1.5), tol 1e-8, x0 = 0, seed 0",
                       5000, 10, "high", -0.15, 1000),
        _sequence_case("paper-low", "the paper's task: 5000 shifted 10 x 10 Laplacians, "
                       "c_t = -0.15 + 0.6 Beta(2, 6), tol 1e-8, x0 = 0, seed 0",
                       5000, 10, "low", -0.15, 1000),
        _sequence_case("shifted-150", "150 shifted Poisson systems on a 30 x 30 grid, "
                       f"c_t = {-0.9 * lam:.4f} + 0.6 Beta(0.5, 1.5), tol 1e-8, seed 0",
                       150, 30, "high", -0.9 * lam, 150),
        _heat_case(25, 16),
        _heat_case(50, 16),
        _heat_case(100, 16),
        _heat_case(200, 16),
        *_mesh_cases(),
    ]
