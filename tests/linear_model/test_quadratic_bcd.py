"""quadratic_bcd: exact solutions, the paper's per-iteration claims on the lattice, penalties."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.sparse.linalg import spsolve
from sklearn.exceptions import ConvergenceWarning

from array_api_compat import device as device_of

from numsolve._array_api import to_numpy
from numsolve.linear_model import _quadratic_bcd
from numsolve.linear_model._graph_blocks import lattice_forests
from numsolve.linear_model._quadratic_bcd import QuadraticProblem, locality_order, quadratic_bcd
from numsolve.semi_supervised import harmonic_system, make_lattice_problem, make_moons_problem

RULES = ["forest", "greedy-forest", "colour", "coordinate"]


@pytest.fixture(scope="module")
def lattice():
    """The paper's dataset D: 50 x 50 lattice, weight 1e5, 100 labelled nodes."""
    W, labelled, values = make_lattice_problem(50, 50, random_state=0)
    Q, c, unlabelled = harmonic_system(W, labelled, values)
    return Q, c[:, 0], lattice_forests((50, 50))[unlabelled]


@pytest.fixture(scope="module")
def moons():
    """The paper's dataset E: two moons, symmetrised 5-NN graph, 100 labelled points."""
    X, y, W = make_moons_problem(2000, random_state=0)
    labelled = np.flatnonzero(y >= 0)
    Q, c, _ = harmonic_system(W, labelled, np.eye(2)[y[labelled]])
    return Q, c


def relative_residual(Q, c, x):
    return np.linalg.norm(c - Q @ x, axis=0) / np.linalg.norm(c, axis=0)


# cg needs a fixed partition: greedy forests refuse it (tested below)
@pytest.mark.parametrize("blocks, acceleration",
                         [(blocks, None) for blocks in RULES]
                         + [(blocks, "cg") for blocks in RULES if blocks != "greedy-forest"])
def test_solves_the_linear_system(moons, blocks, acceleration):
    Q, c = moons
    result = quadratic_bcd(Q, c, blocks=blocks, acceleration=acceleration, tol=1e-9,
                           max_iter=5000)
    assert result.converged and result.x.shape == c.shape
    assert np.all(relative_residual(Q, c, result.x) <= 1e-9)
    np.testing.assert_allclose(result.x, spsolve(Q.tocsc(), c), rtol=1e-6, atol=1e-7)
    assert result.history["residual"][-1] == pytest.approx(result.residual)


def test_forest_blocks_beat_red_black_and_coordinates_per_iteration(lattice):
    """Paper, Fig. 6: big forest blocks converge faster per iteration (equal work per pass)."""
    Q, c, combs = lattice
    runs = {}
    for name, blocks in [("comb", combs), ("forest", "forest"), ("red-black", "colour"),
                         ("coordinate", "coordinate")]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            runs[name] = quadratic_bcd(Q, c, blocks=blocks, tol=1e-12, max_iter=60)
    assert runs["red-black"].n_blocks == 2 and runs["comb"].n_blocks == 2
    for k in (5, 20, 60):
        forest_residuals = [runs[name].history["residual"][k] for name in ("comb", "forest")]
        others = [runs[name].history["residual"][k] for name in ("red-black", "coordinate")]
        assert max(forest_residuals) < min(others)
    # the same number of block updates for the two 2-block partitions
    assert runs["comb"].history["residual"][60] < 0.5 * runs["red-black"].history["residual"][60]


@pytest.mark.parametrize("problem", ["lattice", "moons"])
def test_greedy_forests_need_fewer_iterations_than_fixed_forests(problem, request):
    Q, c = request.getfixturevalue(problem)[:2]
    greedy = quadratic_bcd(Q, c, blocks="greedy-forest", tol=1e-6, max_iter=5000)
    fixed = quadratic_bcd(Q, c, blocks="forest", tol=1e-6, max_iter=5000)
    assert greedy.converged and fixed.converged
    assert greedy.block_updates < fixed.block_updates


def test_cg_acceleration_needs_far_fewer_iterations(lattice):
    Q, c, combs = lattice
    plain = quadratic_bcd(Q, c, blocks=combs, tol=1e-8, max_iter=5000)
    accelerated = quadratic_bcd(Q, c, blocks=combs, acceleration="cg", tol=1e-8)
    assert accelerated.converged and plain.converged
    assert accelerated.n_iter * 3 < plain.n_iter
    np.testing.assert_allclose(accelerated.x, plain.x, atol=1e-4)


def test_cg_run_stopped_after_every_iteration_continues_exactly(moons):
    """With a progress bar the compiled CG run returns after every iteration and is resumed:
    iterates, residual history and stopping point equal those of the run made in one call."""
    Q, c = moons
    whole = quadratic_bcd(Q, c, acceleration="cg", tol=1e-9)
    stepped = quadratic_bcd(Q, c, acceleration="cg", tol=1e-9, verbose=1)
    assert whole.converged and stepped.n_iter == whole.n_iter
    np.testing.assert_array_equal(stepped.x, whole.x)
    np.testing.assert_array_equal(stepped.history["residual"], whole.history["residual"])
    assert len(whole.history["elapsed"]) == whole.n_iter + 1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("acceleration", [None, "cg"])
def test_renumbering_for_locality_keeps_the_block_updates(moons, monkeypatch, acceleration):
    """The renumbered sweeps update the same blocks: the same iterates up to round-off."""
    Q, c = moons
    plain = quadratic_bcd(Q, c, acceleration=acceleration, tol=1e-9, max_iter=40)
    monkeypatch.setattr(_quadratic_bcd, "LOCALITY_MIN_SIZE", 0)
    renumbered = quadratic_bcd(Q, c, acceleration=acceleration, tol=1e-9, max_iter=40)
    assert renumbered.renumbered and not plain.renumbered
    assert renumbered.n_iter == plain.n_iter
    np.testing.assert_allclose(renumbered.x, plain.x, rtol=1e-9, atol=1e-12)


def testlocality_order_renumbers_shuffled_graphs_only():
    W, labelled, values = make_lattice_problem(150, 150, random_state=0)
    Q, _, _ = harmonic_system(W, labelled, values)
    assert locality_order(Q) is None

    def mean_span(A):
        rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
        return np.abs(rows - A.indices).mean()

    shuffle = np.random.default_rng(0).permutation(Q.shape[0])
    shuffled = Q[shuffle][:, shuffle].tocsr()
    order = locality_order(shuffled)
    assert np.array_equal(np.sort(order), np.arange(Q.shape[0]))
    assert mean_span(shuffled[order][:, order].tocsr()) < mean_span(shuffled) / 50


def test_warm_start_and_float32(moons):
    Q, c = moons
    cold = quadratic_bcd(Q, c, tol=1e-8)
    warm = quadratic_bcd(Q, c, x0=cold.x, tol=1e-8)
    assert warm.n_iter == 0 and warm.converged
    result = quadratic_bcd(Q.astype(np.float32), c.astype(np.float32), tol=1e-5,
                           acceleration="cg")
    assert result.x.dtype == np.float32 and result.converged
    np.testing.assert_allclose(result.x, cold.x, atol=1e-3)


def test_inputs_unchanged(moons):
    Q, c = moons
    Q_data, c_copy = Q.data.copy(), c.copy()
    x0 = np.zeros_like(c)
    quadratic_bcd(Q, c, x0=x0, l1=0.01, tol=1e-6)
    quadratic_bcd(Q, c, x0=x0, acceleration="cg")
    assert np.array_equal(Q.data, Q_data) and np.array_equal(c, c_copy) and not x0.any()


def small_spd(n=60, seed=0):
    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=0.08, random_state=rng)
    A = A + A.T
    Q = (A + sp.diags(np.asarray(abs(A).sum(axis=1)).ravel() + 0.5)).tocsr()
    return Q, rng.standard_normal(n) * 3


def reference_penalised(Q, c, l1, lower, upper):
    """L-BFGS-B on the split x = p - m (p, m >= 0) for L1, plain bounds otherwise."""
    Qd = Q.toarray()
    n = c.size
    if l1 == 0:
        f = lambda x: (0.5 * x @ Qd @ x - c @ x, Qd @ x - c)  # noqa: E731
        res = minimize(f, np.zeros(n), jac=True, method="L-BFGS-B",
                       bounds=[(lower, upper)] * n, options={"ftol": 1e-15, "gtol": 1e-12})
        return res.x

    def f(z):
        x = z[:n] - z[n:]
        g = Qd @ x - c
        return 0.5 * x @ Qd @ x - c @ x + l1 * z.sum(), np.r_[g + l1, -g + l1]

    res = minimize(f, np.zeros(2 * n), jac=True, method="L-BFGS-B", bounds=[(0, None)] * 2 * n,
                   options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000})
    return res.x[:n] - res.x[n:]


@pytest.mark.parametrize("blocks", RULES)
@pytest.mark.parametrize("penalty", ["l1", "bounds", "both"])
def test_l1_and_bounds_match_a_reference(blocks, penalty):
    Q, c = small_spd()
    l1 = 1.0 if penalty in ("l1", "both") else 0.0
    bounds = (-0.5, 0.8) if penalty in ("bounds", "both") else None
    result = quadratic_bcd(Q, c, blocks=blocks, l1=l1, bounds=bounds, tol=1e-10,
                           max_iter=20000)
    assert result.converged
    x = result.x
    if bounds:
        assert x.min() >= -0.5 - 1e-12 and x.max() <= 0.8 + 1e-12
    if penalty == "both":  # KKT of the bounded L1 problem, checked directly
        g = Q @ x - c
        free = (x > -0.5 + 1e-9) & (x < 0.8 - 1e-9) & (np.abs(x) > 1e-9)
        np.testing.assert_allclose(g[free], -l1 * np.sign(x[free]), atol=1e-6)
        zero = np.abs(x) <= 1e-9
        assert np.all(np.abs(g[zero]) <= l1 + 1e-6)
    else:
        reference = reference_penalised(Q, c, l1, *(bounds or (None, None)))
        np.testing.assert_allclose(x, reference, atol=1e-5)


def test_several_right_hand_sides_with_l1():
    Q, c = small_spd()
    C = np.column_stack([c, -c, 2 * c])
    result = quadratic_bcd(Q, C, l1=0.5, tol=1e-10, max_iter=20000)
    single = quadratic_bcd(Q, C[:, 2], l1=0.5, tol=1e-10, max_iter=20000)
    np.testing.assert_allclose(result.x[:, 0], -result.x[:, 1], atol=1e-8)
    np.testing.assert_allclose(result.x[:, 2], single.x, atol=1e-8)


def test_not_converged_warns():
    Q, c = small_spd()
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        result = quadratic_bcd(Q, c, blocks="coordinate", tol=1e-14, max_iter=2)
    assert not result.converged and result.n_iter == 2


def test_objective_figure():
    Q, c = small_spd()
    result = quadratic_bcd(Q, c, tol=1e-12)
    x = result.x
    assert result.objective == pytest.approx(0.5 * x @ (Q @ x) - c @ x)
    problem = QuadraticProblem(Q, c)
    assert problem.shape == (60, 1)


def test_bad_input():
    Q, c = small_spd()
    with pytest.raises(ValueError, match="symmetric"):
        quadratic_bcd(Q + sp.triu(Q, 1), c)
    with pytest.raises(ValueError, match="positive diagonal"):
        quadratic_bcd(Q - sp.diags(Q.diagonal()), c)
    with pytest.raises(ValueError, match="rows"):
        quadratic_bcd(Q, c[:-1])
    with pytest.raises(ValueError, match="square"):
        quadratic_bcd(Q[:, :-1], c)
    with pytest.raises(ValueError, match="blocks"):
        quadratic_bcd(Q, c, blocks="tree")
    with pytest.raises(ValueError, match="not a forest"):
        quadratic_bcd(Q, c, blocks=np.zeros(60, dtype=int))
    with pytest.raises(ValueError, match="acceleration"):
        quadratic_bcd(Q, c, l1=1.0, acceleration="cg")
    with pytest.raises(ValueError, match="acceleration"):
        quadratic_bcd(Q, c, blocks="greedy-forest", acceleration="cg")
    with pytest.raises(ValueError, match="lower"):
        quadratic_bcd(Q, c, bounds=(1.0, 0.0))
    with pytest.raises(ValueError, match="l1"):
        quadratic_bcd(Q, c, l1=-1.0)
    with pytest.raises(ValueError, match="tol"):
        quadratic_bcd(Q, c, tol=0.0)
    with pytest.raises(ValueError, match="x0"):
        quadratic_bcd(Q, c, x0=np.zeros(3))
    with pytest.raises(ValueError, match="NaN|infinity"):
        quadratic_bcd(Q, np.full(60, np.nan))


@pytest.mark.parametrize("options", [
    {}, {"acceleration": "cg"}, {"l1": 0.5}, {"bounds": (-0.3, 0.4)},
])
def test_array_namespace_path_matches_numpy(xp_device, options):
    xp, device = xp_device
    Q, c = small_spd(40, seed=2)
    C = np.column_stack([c, 0.5 * c])
    expected = quadratic_bcd(Q, C, blocks="colour", tol=1e-10, max_iter=20000, **options)
    Qx = xp.asarray(Q.toarray(), device=device)
    Cx = xp.asarray(C, device=device)
    result = quadratic_bcd(Qx, Cx, blocks="colour", tol=1e-10, max_iter=20000, **options)
    assert result.converged
    assert device_of(result.x) == device_of(Qx)
    np.testing.assert_allclose(to_numpy(result.x), expected.x, atol=1e-7)


def test_array_namespace_path_single_rhs_float32(xp_device):
    xp, device = xp_device
    Q, c = small_spd(30, seed=4)
    Qx = xp.asarray(Q.toarray(), dtype=xp.float32, device=device)
    result = quadratic_bcd(Qx, xp.asarray(c, dtype=xp.float32, device=device),
                           blocks="colour", acceleration="cg", tol=1e-5)
    assert result.x.shape == (30,) and result.x.dtype == xp.float32
    np.testing.assert_allclose(to_numpy(result.x), spsolve(Q.tocsc(), c), atol=1e-4)


def test_array_namespace_path_needs_colour_blocks(xp_device):
    xp, device = xp_device
    Q, c = small_spd(10)
    with pytest.raises(ValueError, match="colour"):
        quadratic_bcd(xp.asarray(Q.toarray(), device=device), xp.asarray(c, device=device))
