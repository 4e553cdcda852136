import math

import numpy as np
import pytest
import torch

from tune_flow.evaluation.metrics import energy_distance, wasserstein2
from tune_flow.evaluation.sampling import ADAPTIVE_METHODS, Solver, integrate


def test_constant_field_moves_points_by_the_field():
    x_0 = torch.randn(10, 2)
    shift = torch.tensor([1.0, -2.0])
    for method in ("euler", "midpoint", "rk4"):
        x_1 = integrate(lambda x, t: shift.expand_as(x), x_0, steps=7, method=method)
        torch.testing.assert_close(x_1, x_0 + shift)


def test_time_dependent_field_matches_analytic_endpoint():
    # dx/dt = 2t  ->  x(1) = x(0) + 1 ; midpoint and rk4 are exact for a linear-in-t field.
    x_0 = torch.zeros(3, 1, dtype=torch.float64)
    for method in ("midpoint", "rk4"):
        x_1 = integrate(lambda x, t: 2 * t[:, None].expand_as(x), x_0, steps=4, method=method)
        torch.testing.assert_close(x_1, x_0 + 1)


def test_linear_field_converges_with_order():
    # dx/dt = x  ->  x(1) = e x(0)
    x_0 = torch.ones(1, 1, dtype=torch.float64)
    errors = {
        m: abs(integrate(lambda x, t: x, x_0, 20, m).item() - math.e)
        for m in ("euler", "midpoint", "rk4")
    }
    assert errors["rk4"] < 1e-6 < errors["midpoint"] < errors["euler"] < 0.1


def test_fixed_step_methods_take_exactly_the_given_number_of_steps():
    calls = []

    def field(x, t):
        calls.append(float(t[0]))
        return torch.ones_like(x)

    integrate(field, torch.zeros(2, 1), steps=3, method="euler")
    assert calls == pytest.approx([0.0, 1 / 3, 2 / 3])


def test_adaptive_solvers_reach_their_tolerance():
    # dx/dt = x  ->  x(1) = e x(0); dopri5 at 1e-8 is far closer than Euler with 100 steps.
    x_0 = torch.ones(4, 1, dtype=torch.float64)
    for method in ADAPTIVE_METHODS:
        x_1 = integrate(lambda x, t: x, x_0, method=method, atol=1e-8, rtol=1e-8)
        torch.testing.assert_close(x_1, x_0 * math.e, rtol=1e-6, atol=0)
    loose = integrate(lambda x, t: x, x_0, method="dopri5", atol=1e-2, rtol=1e-2)
    assert abs(loose[0, 0].item() - math.e) < 1e-2


def test_image_shaped_points_integrate_in_their_shape():
    x_0 = torch.zeros(5, 1, 3, 3)
    x_1 = integrate(lambda x, t: torch.ones_like(x), x_0, method="dopri5")
    assert x_1.shape == x_0.shape
    torch.testing.assert_close(x_1, x_0 + 1)


@pytest.mark.parametrize(
    ("settings", "culprit"),
    [
        ({"method": "dopri6"}, "`method` is 'dopri6'"),
        ({"method": "dopri5", "atol": 0.0}, "`atol` is 0.0"),
        ({"method": "dopri5", "rtol": -1e-3}, "`rtol` is -0.001"),
        ({"method": "euler", "steps": 0}, "`steps` is 0"),
    ],
)
def test_bad_solver_settings_are_refused_naming_the_culprit(settings, culprit):
    with pytest.raises(ValueError, match=culprit):
        Solver(**settings)
    with pytest.raises(ValueError, match=culprit):
        integrate(lambda x, t: x, torch.zeros(1, 1), **settings)


def test_solver_describes_itself_by_its_kind():
    assert Solver("dopri5", atol=1e-4, rtol=1e-3).describe() == "dopri5 (atol 0.0001, rtol 0.001)"
    assert Solver("rk4", steps=20).describe() == "20 rk4 steps"


def test_w2_of_a_set_with_itself_is_zero_and_of_a_shift_is_the_shift():
    x = np.random.default_rng(0).normal(size=(300, 2))
    assert wasserstein2(x, x) == pytest.approx(0.0, abs=1e-9)
    shift = np.array([3.0, 4.0])
    assert wasserstein2(x, x + shift) == pytest.approx(5.0, rel=1e-6)


def test_energy_distance_is_zero_for_equal_sets_and_grows_with_shift():
    x = np.random.default_rng(0).normal(size=(400, 8))
    assert energy_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    assert 0 < energy_distance(x, x + 0.5) < energy_distance(x, x + 2.0)
