"""Young's model in the default learner: radii read from trusted solves, checked moves."""

import warnings

import numpy as np
import scipy.sparse as sp

from numsolve.linalg import poisson_2d
from numsolve.linalg._radius_model import RadiusModel, jacobi_radius
from numsolve.linalg._safe import SafeSearch
from numsolve.linalg._trial import Trial, TrialOutcome, run_trial
from numsolve.linalg._young import (YoungGrid, optimal_omega, sor_rate, young_iteration,
                                    young_iterations)

GRID = 20
# Jacobi radius of the 5-point Laplacian on a GRID x GRID interior grid.
MU = np.cos(np.pi / (GRID + 1))


def test_radii_from_solves_below_the_optimum_agree_with_the_laplacian():
    """The 5-point Laplacian is consistently ordered: every solve below Young's omega gives
    cos(pi h), and the model's centre lands on Young's omega (1.74), where omega = 1 costs
    about 5x more."""
    A = poisson_2d(GRID)
    b = np.random.default_rng(0).standard_normal(GRID * GRID)
    model = RadiusModel(1.0, 1.95)
    counts = {}
    for omega in (1.0, 1.2, 1.4):
        _, outcome = run_trial("sor", A, b, Trial(omega), None, 1e-8, 10_000)
        assert RadiusModel.trusted(outcome.incumbent_rate, outcome.tail_rate, outcome.n_iter)
        assert abs(jacobi_radius(omega, np.exp(outcome.incumbent_rate)) - MU) < 2e-3
        model.observe(omega, outcome.incumbent_rate, outcome.n_iter)
        counts[omega] = outcome.n_iter
    young = optimal_omega(MU)
    assert abs(model.centre() - young) <= 0.02
    at_centre = run_trial("sor", A, b, Trial(model.centre()), None, 1e-8, 10_000)[1].n_iter
    assert counts[1.0] > 4 * at_centre


def test_grid_and_single_omega_counts_equal_the_array_model_bit_for_bit():
    """The model's cached grid (all radii at once) and its scalar count at the omega played
    give exactly what one young_iterations call per radius on both gives, at every radius
    (0 and next to 1 included), below, at and above Young's omega, on grids from below 1
    to 2, without a warning."""
    rng = np.random.default_rng(0)
    betas = np.concatenate([[0.0, 0.5, 1.0 - 1e-12], rng.uniform(0.0, 1.0, 300)])
    for grid in (np.linspace(1.0, 1.95, 96), np.linspace(0.8, 2.0, 61)):
        omegas = rng.uniform(0.9, 2.0, betas.size)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            rows = YoungGrid(grid, 1.75).iterations(
                betas, [optimal_omega(beta) for beta in betas], 1.0)
            for row, beta, omega in zip(rows, betas, omegas):
                got = np.append(row, young_iteration(float(omega), beta, 1.0, 1.75))
                expected = young_iterations(np.append(grid, omega), beta, 1.0, 1.75)
                assert np.array_equal(got, expected)
    assert young_iteration(1.0, 0.0, 1.0, 1.75) == young_iterations([1.0], 0.0, 1.0, 1.75)[0]


def test_the_centre_is_the_same_whenever_it_is_asked_for():
    """Systems modelled together when the centre is asked for give the totals, bit for bit,
    of systems modelled one at a time, past the model's memory of 100 systems too; the
    model knows it has a centre from the first system on, before modelling it."""
    rng = np.random.default_rng(1)
    systems = [(float(rng.uniform(1.0, 1.9)), float(rng.uniform(-0.3, -0.01)),
                int(rng.integers(40, 200))) for _ in range(250)]
    each, batched = RadiusModel(1.0, 1.95), RadiusModel(1.0, 1.95)
    assert not batched.known() and batched.centre() is None
    for t, system in enumerate(systems):
        each.observe(*system)
        each.centre()
        batched.observe(*system)
        assert batched.known()
        if t % 37 == 0:
            assert batched.centre() == each.centre()
    assert batched.centre() == each.centre()
    assert np.array_equal(batched._total, each._total)
    assert [bound for _, bound in batched.rows] == [bound for _, bound in each.rows]


def test_short_or_unsettled_phases_are_not_trusted():
    assert RadiusModel.trusted(-0.1, -0.102, 100)
    assert not RadiusModel.trusted(-0.1, -0.102, 20)  # transient: too few iterations
    assert not RadiusModel.trusted(-0.1, -0.15, 100)  # the rate still changes
    assert not RadiusModel.trusted(float("nan"), -0.1, 100)


def steady_search(incumbent):
    """A search whose model holds Gauss-Seidel solves of the 20 x 20 Laplacian (centre near
    Young's 1.74) and whose incumbent sits at ``incumbent``."""
    search = SafeSearch(1.0, 1.95, 1)
    phi = search.features(None)
    gauss_seidel = TrialOutcome(600, incumbent_rate=np.log(MU**2), solver="sor",
                                tail_rate=np.log(MU**2))
    for _ in range(5):
        search.plan(phi)
        search.update(phi, Trial(1.0), gauss_seidel)
    assert abs(search.model.centre() - optimal_omega(MU)) <= 0.02
    search.theta[0] = incumbent
    return search, phi


def read_twice(search, phi, A, b, incumbent, trial_omega, times=2):
    """Feed ``search`` real cut-short trials on ``A x = b`` (the probe's own update moves
    nothing here: only the agreement of the two phases' readings is wanted)."""
    for _ in range(times):
        theta = search.theta.copy()
        trial = Trial(incumbent, trial_omega, 60)
        search.update(phi, trial, run_trial("sor", A, b, trial, None, 1e-8, 10_000)[1])
        search.theta = theta


def test_two_phases_of_one_system_read_the_same_young_omega_only_where_young_holds():
    """A cut-short trial and the incumbent's phase after it run at two omegas on one system:
    on the 5-point Laplacian (consistently ordered) both read Young's omega, on a random
    sparse SPD matrix they read different ones, and the model's moves up then need checks."""
    A = poisson_2d(GRID)
    b = np.random.default_rng(0).standard_normal(GRID * GRID)
    search, phi = steady_search(1.3)
    assert search._young_holds() is None
    read_twice(search, phi, A, b, 1.3, 1.45)
    assert search._young_holds()
    search._steady = 1.0  # the model leads (the trials above were not steady solves)
    trial = search.plan(phi)
    assert trial.trial_omega is None and np.isclose(trial.omega, 1.45)
    rng = np.random.default_rng(6022)
    B = sp.random(73, 73, density=4 / 73, random_state=6022, data_rvs=rng.standard_normal)
    M = (B @ B.T + sp.diags(rng.uniform(0.05, 1.0, 73))).tocsr()
    M = (M + 0.05 * M.diagonal().mean() * sp.identity(73)).tocsr()
    random_spd, _ = steady_search(1.3)
    read_twice(random_spd, phi, M, rng.standard_normal(73), 1.2, 1.3)
    assert random_spd._young_holds() is False
    random_spd._steady = 1.0
    trial = random_spd.plan(phi)
    assert trial.model_check and trial.omega == 1.3 and trial.trial_omega > 1.3


def test_the_model_moves_omega_up_at_once_and_down_only_after_a_check():
    """Where Young's relation holds, above the best omega the cost rises slowly: a move up
    to the modelled centre (1.74) is made at once, at most 0.15 per round, and stops there.
    A move down is a cut-short check that must beat the incumbent on the same system
    first."""
    search, phi = steady_search(1.3)
    search._disagreements = [0.0, 0.0]
    played = []
    for _ in range(4):
        trial = search.plan(phi)
        assert not trial.model_check and trial.trial_omega is None
        played.append(trial.omega)
        rate = np.log(sor_rate(trial.omega, MU))  # the Laplacian's, so the model stays put
        search.update(phi, trial, TrialOutcome(600, incumbent_rate=rate, solver="sor",
                                               tail_rate=rate))
    np.testing.assert_allclose(played, [1.45, 1.6] + 2 * [search.model.centre()], atol=1e-12)
    # from above, the check decays more slowly than the incumbent after it: omega stays,
    # and the next rounds do not check again
    search, phi = steady_search(1.95)
    trial = search.plan(phi)
    assert trial.model_check and trial.omega == 1.95
    assert np.isclose(trial.trial_omega, 1.8) and 0 < trial.budget < 600
    search.update(phi, trial, TrialOutcome(600, trial_rate=-0.01, incumbent_rate=-0.02,
                                           censored=True, solver="sor"))
    assert search.omega(phi) == 1.95
    assert not search.plan(phi).model_check
    # a check that beats the incumbent on a system of the usual cost moves it there
    search, phi = steady_search(1.95)
    trial = search.plan(phi)
    search.update(phi, trial, TrialOutcome(600, trial_rate=-0.04, incumbent_rate=-0.02,
                                           censored=True, solver="sor"))
    assert np.isclose(search.omega(phi), 1.8)


def test_a_downward_check_where_the_model_only_bounds_moves_on_costly_systems_only():
    """Solves at 1.8 decaying at omega - 1's rate sit at or above their Young omega, which
    they only bound: the search checks 0.05 lower and 0.05 higher in turn, and a downward
    check moves omega only when it wins on a system costing about the running mean (a win
    on a cheap system, where the first phase's fast start favours any lower omega, moves
    nothing, and the next system is checked on the other side)."""
    search = SafeSearch(1.0, 1.95, 1)
    phi = search.features(None)
    search.theta[0] = 1.8
    at_bound = TrialOutcome(600, incumbent_rate=np.log(0.8), solver="sor",
                            tail_rate=np.log(0.8))
    for _ in range(8):
        search.plan(phi)
        search.update(phi, Trial(1.8), at_bound)
    assert search.model.only_bounds() and np.isclose(search.model.centre(), 1.8, atol=0.01)
    incumbent = search.theta[0] = search.model.centre()
    search._bound_check_up = True  # the upward check of the pair was made last
    won = dict(trial_rate=-0.3, incumbent_rate=np.log(0.8), censored=True, solver="sor")
    lost = dict(won, trial_rate=-0.1)
    sides = []
    for cost, shown in ((100, won), (600, lost), (600, won)):
        trial = search.plan(phi)
        while not trial.model_check:  # the rounds without checks after the lost one
            search.update(phi, trial, at_bound)
            trial = search.plan(phi)
        assert trial.omega == incumbent
        sides.append(round(trial.trial_omega - incumbent, 6))
        search.update(phi, trial, TrialOutcome(cost, **shown))
    assert sides == [-0.05, 0.05, -0.05]
    # only the downward check that won on the costly system moved omega
    assert np.isclose(search.omega(phi), incumbent - 0.05)
    assert search.model.centre() is None or search.model.centre() <= incumbent - 0.05


def test_bounds_read_below_young_omega_are_checked_above_and_dropped_when_beaten():
    """Systems of Young omega 1.80 played at 1.75 decay at 0.90 per iteration, within 30 % of
    omega - 1, and read as bounds: they pin the model's centre to 1.75 (the paper's task,
    whose best fixed omega is 1.80). The search checks 0.05 above; the check decays at
    Young's rate 0.80 against 0.90, wins, moves omega to 1.80 and drops the misread bounds,
    where a search checking only below would stay at 1.75."""
    mu = 2.0 * np.sqrt(0.8) / 1.8
    assert np.isclose(optimal_omega(mu), 1.8)
    search = SafeSearch(1.0, 1.95, 1)
    phi = search.features(None)
    search.theta[0] = 1.75
    rate = np.log(sor_rate(1.75, mu))
    for _ in range(8):
        search.plan(phi)
        search.update(phi, Trial(1.75), TrialOutcome(600, incumbent_rate=rate, solver="sor",
                                                     tail_rate=rate))
    assert search.model.only_bounds() and abs(search.model.centre() - 1.75) <= 0.011  # grid step
    search.theta[0] = search.model.centre()
    trial = search.plan(phi)
    assert trial.model_check and np.isclose(trial.trial_omega, trial.omega + 0.05)
    search.update(phi, trial, TrialOutcome(600, trial_rate=np.log(sor_rate(1.8, mu)),
                                           incumbent_rate=rate, censored=True, solver="sor"))
    assert np.isclose(search.omega(phi), trial.omega + 0.05)
    assert not any(bound is not None and bound < search.omega(phi)
                   for _, bound in search.model.rows)


def test_where_young_is_refuted_a_model_at_the_incumbent_is_checked_below():
    """Exact readings pin the model's centre to the incumbent; where the two phases of the
    trials disagree (pyamg's bar and dG heat steps, whose best omega lies below Young's
    reading) the search still checks 0.05 below, where Young's relation holds it does not."""
    for disagreements, checks in (([0.0, 0.0], False), ([0.08, 0.09], True)):
        search, phi = steady_search(1.74)
        search.theta[0] = search.model.centre()
        search._disagreements = disagreements
        trial = search.plan(phi)
        assert trial.model_check == checks
        if checks:
            assert np.isclose(trial.trial_omega, trial.omega - 0.05)
