"""Test problems of the paper: 2-D Poisson matrices, shifted Laplacians, heat equation."""

import numpy as np
import scipy.sparse as sp

from .._validation import check_random_state

__all__ = ["HeatEquation2D", "poisson_2d", "shifted_laplacian_sequence"]


def poisson_2d(n, dtype=np.float64):
    """The 5-point Laplacian on an ``n x n`` interior grid (MATLAB ``delsq(numgrid('S', n+2))``).

    Parameters
    ----------
    n : int
        Interior grid points per side; the matrix has ``n**2`` rows.
    dtype : numpy dtype, default=float64

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n**2, n**2)
        Diagonal 4, -1 for each grid neighbour; symmetric positive definite.

    Examples
    --------
    >>> from numsolve.linalg import poisson_2d
    >>> poisson_2d(3).shape
    (9, 9)
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    n = int(n)
    tri = sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1], format="csr")
    eye = sp.identity(n, format="csr")
    A = sp.kron(eye, tri) + sp.kron(tri, eye)
    A = sp.csr_matrix(A, dtype=dtype)
    A.sort_indices()
    return A


def _truncated_normal(rng, n):
    """Standard normal vector radially truncated to norm <= sqrt(n) (rejection sampling)."""
    while True:
        v = rng.standard_normal(n)
        if v @ v <= n:
            return v


def shifted_laplacian_sequence(n_systems, *, grid=10, variance="high", offset=-0.15,
                               random_state=None):
    """The paper's task: ``A_t = A + c_t I`` with ``A`` the 2-D Laplacian on a ``grid**2`` grid.

    Offsets ``c_t = offset + 0.6 * Beta(0.5, 1.5)`` ("high" variance) or ``Beta(2, 6)``
    ("low"); ``b_t`` is a standard normal vector radially truncated to norm ``<= sqrt(n)``.
    The default offset -0.15 keeps the 10 x 10 systems positive definite; in general keep
    ``offset`` above ``-8 sin(pi / (2 grid + 2))**2``, the smallest eigenvalue of ``A``.

    Parameters
    ----------
    n_systems : int
    grid : int, default=10
        Interior grid points per side (``n = grid**2``).
    variance : {"high", "low"}, default="high"
    offset : float, default=-0.15
        Smallest possible shift.
    random_state : int, RandomState or None

    Returns
    -------
    A : scipy.sparse.csr_matrix
        The unshifted Laplacian.
    shifts : ndarray of shape (n_systems,)
        The offsets ``c_t`` (the context of instance ``t``).
    B : ndarray of shape (n_systems, n)
        Right-hand sides.

    Examples
    --------
    >>> from numsolve.linalg import shifted_laplacian_sequence
    >>> A, shifts, B = shifted_laplacian_sequence(3, random_state=0)
    >>> A.shape, shifts.shape, B.shape
    ((100, 100), (3,), (3, 100))
    """
    params = {"high": (0.5, 1.5), "low": (2.0, 6.0)}
    if variance not in params:
        raise ValueError(f"variance must be 'high' or 'low', got {variance!r}")
    rng = check_random_state(random_state)
    A = poisson_2d(grid)
    n = A.shape[0]
    shifts = offset + 0.6 * rng.beta(*params[variance], size=n_systems)
    B = np.stack([_truncated_normal(rng, n) for _ in range(n_systems)])
    return A, shifts, B


def _bump(X, Y, centre, radius):
    """Smooth bump ``exp(1 - 1 / (1 - (r/radius)^2))`` inside the disc, 0 outside."""
    r2 = ((X - centre[0]) ** 2 + (Y - centre[1]) ** 2) / radius**2
    out = np.zeros_like(X)
    inside = r2 < 1
    out[inside] = np.exp(1.0 - 1.0 / (1.0 - r2[inside]))
    return out


class HeatEquation2D:
    """Crank-Nicolson steps of ``u_t = kappa(t) Laplace(u) + f(t, x)`` on the unit square.

    The set-up of the paper's heat experiment: zero Dirichlet boundary, diffusion
    ``kappa(t) = max(0.1 sin(2 pi t), -10 sin(2 pi t))``, a bump initial condition and a
    bump forcing circling the centre. Each step is an SPD system
    ``(I + dt kappa / 2 L) u_{k+1} = (I - dt kappa / 2 L) u_k + dt f``.

    Parameters
    ----------
    nx : int
        Grid intervals per side; the system has ``(nx - 1)**2`` unknowns.
    n_steps : int, default=5000
    stoptime : float, default=5.0

    Attributes
    ----------
    u : ndarray
        Current solution (interior values).
    t : float
        Current time.

    Examples
    --------
    >>> from numsolve.linalg import HeatEquation2D, ssor_cg
    >>> pde = HeatEquation2D(nx=8, n_steps=3)
    >>> A, b, context = pde.system()
    >>> pde.advance(ssor_cg(A, b, x0=pde.u, omega=1.5).x)
    >>> pde.step
    1
    """

    def __init__(self, nx, n_steps=5000, stoptime=5.0):
        self.nx = int(nx)
        self.n_steps = int(n_steps)
        self.dt = stoptime / n_steps
        h = 1.0 / self.nx
        m = self.nx - 1
        self.laplacian = poisson_2d(m) / h**2
        grid = np.arange(1, self.nx) * h
        self._X, self._Y = np.meshgrid(grid, grid, indexing="ij")
        self.u = _bump(self._X, self._Y, (0.5, 0.5), 0.25).ravel()
        self.t = 0.0
        self.step = 0
        self._eye = sp.identity(m * m, format="csr")

    @staticmethod
    def coefficient(t):
        """Diffusion coefficient at time ``t``."""
        return max(0.1 * np.sin(2 * np.pi * t), -10.0 * np.sin(2 * np.pi * t))

    def forcing(self, t):
        """Forcing on the interior grid at time ``t``."""
        centre = (0.5 + np.cos(16 * np.pi * t) / 4, 0.5 + np.sin(16 * np.pi * t) / 4)
        return 32.0 * _bump(self._X, self._Y, centre, 0.125).ravel()

    def system(self):
        """``(A, b, context)`` of the next step; the context is the diffusion coefficient."""
        kappa = self.coefficient(self.t + self.dt / 2)
        half = 0.5 * self.dt * kappa * self.laplacian
        A = (self._eye + half).tocsr()
        b = self.u - half @ self.u + self.dt * self.forcing(self.t + self.dt / 2)
        return A, b, kappa

    def advance(self, u):
        """Accept the solution of the current step's system and move to the next step."""
        self.u = np.asarray(u, dtype=float)
        self.t += self.dt
        self.step += 1
