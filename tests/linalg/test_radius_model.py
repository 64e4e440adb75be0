"""Young's model in the default learner: radii read from trusted solves, checked moves."""

import numpy as np

from numsolve.linalg import poisson_2d
from numsolve.linalg._radius_model import RadiusModel, jacobi_radius
from numsolve.linalg._safe import SafeSearch
from numsolve.linalg._trial import Trial, TrialOutcome, run_trial
from numsolve.linalg._young import optimal_omega

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


def test_short_or_unsettled_phases_are_not_trusted():
    assert RadiusModel.trusted(-0.1, -0.102, 100)
    assert not RadiusModel.trusted(-0.1, -0.102, 20)  # transient: too few iterations
    assert not RadiusModel.trusted(-0.1, -0.15, 100)  # the rate still changes
    assert not RadiusModel.trusted(float("nan"), -0.1, 100)


def steady_search(incumbent):
    """A search whose model holds Gauss-Seidel solves of the 20 x 20 Laplacian (centre near
    Young's 1.74) and whose incumbent sits at ``incumbent``."""
    search = SafeSearch(1.0, 1.95, np.random.RandomState(0), 1)
    phi = search.features(None)
    gauss_seidel = TrialOutcome(600, incumbent_rate=np.log(MU**2), solver="sor",
                                tail_rate=np.log(MU**2))
    for _ in range(5):
        search.plan(phi)
        search.update(phi, Trial(1.0), gauss_seidel)
    assert abs(search.model.centre() - optimal_omega(MU)) <= 0.02
    search.theta[0] = incumbent
    return search, phi


def test_a_model_move_waits_for_a_check_that_beats_the_incumbent():
    search, phi = steady_search(1.3)
    trial = search.plan(phi)
    assert trial.model_check and trial.omega == 1.3
    assert np.isclose(trial.trial_omega, 1.45) and 0 < trial.budget < 600
    # the check decays more slowly than the incumbent after it: omega stays, and the next
    # rounds do not check again
    search.update(phi, trial, TrialOutcome(400, trial_rate=-0.01, incumbent_rate=-0.02,
                                           censored=True, solver="sor"))
    assert search.omega(phi) == 1.3
    assert not search.plan(phi).model_check
    # a check that beats the incumbent moves it there
    search, phi = steady_search(1.3)
    trial = search.plan(phi)
    search.update(phi, trial, TrialOutcome(300, trial_rate=-0.04, incumbent_rate=-0.02,
                                           censored=True, solver="sor"))
    assert np.isclose(search.omega(phi), 1.45)


def test_a_downward_check_where_the_model_only_bounds_moves_on_costly_systems_only():
    """Solves at 1.8 decaying at omega - 1's rate sit at or above their Young omega, which
    they only bound: the search checks 0.05 lower, and moves there only when the check wins
    on a system costing about the running mean (a win on a cheap system, where the first
    phase's fast start favours any lower omega, is checked again on the next system)."""
    search = SafeSearch(1.0, 1.95, np.random.RandomState(0), 1)
    phi = search.features(None)
    search.theta[0] = 1.8
    at_bound = TrialOutcome(600, incumbent_rate=np.log(0.8), solver="sor",
                            tail_rate=np.log(0.8))
    for _ in range(8):
        search.plan(phi)
        search.update(phi, Trial(1.8), at_bound)
    assert search.model.only_bounds() and np.isclose(search.model.centre(), 1.8, atol=0.01)
    incumbent = search.theta[0] = search.model.centre()
    won = dict(trial_rate=-0.3, incumbent_rate=np.log(0.8), censored=True, solver="sor")
    for cost in (100, 600):
        trial = search.plan(phi)
        assert trial.model_check and trial.omega == incumbent
        assert np.isclose(trial.trial_omega, incumbent - 0.05)
        search.update(phi, trial, TrialOutcome(cost, **won))
    # the check on the cheap system left omega alone; the one on the costly system moved it
    assert np.isclose(search.omega(phi), incumbent - 0.05)
    assert search.model.centre() is None or search.model.centre() <= incumbent - 0.05
