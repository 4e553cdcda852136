import math

import numpy as np
import pytest
import torch

from tune_flow.evaluation.metrics import energy_distance, wasserstein2
from tune_flow.evaluation.sampling import integrate


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


def test_w2_of_a_set_with_itself_is_zero_and_of_a_shift_is_the_shift():
    x = np.random.default_rng(0).normal(size=(300, 2))
    assert wasserstein2(x, x) == pytest.approx(0.0, abs=1e-9)
    shift = np.array([3.0, 4.0])
    assert wasserstein2(x, x + shift) == pytest.approx(5.0, rel=1e-6)


def test_energy_distance_is_zero_for_equal_sets_and_grows_with_shift():
    x = np.random.default_rng(0).normal(size=(400, 8))
    assert energy_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    assert 0 < energy_distance(x, x + 0.5) < energy_distance(x, x + 2.0)
