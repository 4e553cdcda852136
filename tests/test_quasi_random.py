"""Quasi-random source draws for evaluation: still N(0, I), reproducible, and lower-variance."""

from __future__ import annotations

import statistics

import numpy as np
import pytest
import torch
from scipy import stats

from tune_flow.evaluation.in_trial import fixed_source_draw
from tune_flow.evaluation.metrics import wasserstein2
from tune_flow.evaluation.quasi_random import (
    MAX_SOBOL_DIMENSION,
    evaluation_source_draw,
    quasi_random_normal,
)


def test_each_coordinate_is_standard_normal_and_closer_to_it_than_an_iid_draw() -> None:
    n = 4096
    quasi = quasi_random_normal(n, (3,), seed=0)
    iid = torch.randn(n, 3, generator=torch.Generator().manual_seed(0))
    for d in range(3):
        ks_quasi = stats.kstest(quasi[:, d].numpy(), "norm").statistic
        ks_iid = stats.kstest(iid[:, d].numpy(), "norm").statistic
        # An i.i.d. draw's KS distance is ~0.87 / sqrt(n) = 0.014; a Sobol draw's ~1 / n.
        assert ks_quasi < 0.002 < ks_iid
    assert quasi.dtype == torch.float32 and torch.isfinite(quasi).all()


def test_the_same_seed_gives_the_same_points_and_another_seed_others() -> None:
    a = evaluation_source_draw(100, (1, 4, 4), seed=7)
    assert a.shape == (100, 1, 4, 4)
    assert torch.equal(a, evaluation_source_draw(100, (1, 4, 4), seed=7))
    assert not torch.allclose(a, evaluation_source_draw(100, (1, 4, 4), seed=8))
    assert torch.equal(
        fixed_source_draw(50, 2, torch.device("cpu")), fixed_source_draw(50, 2, "cpu")
    )


def test_w2_of_quasi_random_draws_varies_far_less_from_seed_to_seed() -> None:
    """The reason for the module: the same model, scored from several source draws against one
    reference, gets nearly the same W2 (here the model is the identity map of N(0, I))."""
    reference = torch.randn(2048, 2, generator=torch.Generator().manual_seed(123)).double()

    def spread(draw) -> float:  # type: ignore[no-untyped-def]
        return statistics.stdev(wasserstein2(draw(seed).double(), reference) for seed in range(6))

    quasi = spread(lambda seed: quasi_random_normal(512, (2,), seed))
    iid = spread(lambda seed: torch.randn(512, 2, generator=torch.Generator().manual_seed(seed)))
    assert quasi < 0.5 * iid


def test_a_source_pool_is_drawn_every_row_once_before_any_row_twice() -> None:
    pool = torch.arange(7.0).unsqueeze(1)
    drawn = evaluation_source_draw(17, (1,), seed=0, pool=pool).flatten().tolist()
    assert sorted(drawn[:7]) == sorted(drawn[7:14]) == list(range(7))
    assert len(set(drawn[14:])) == 3


def test_a_point_with_more_numbers_than_sobol_covers_falls_back_to_iid_normal() -> None:
    x = quasi_random_normal(3, (MAX_SOBOL_DIMENSION + 1,), seed=0)
    assert x.shape == (3, MAX_SOBOL_DIMENSION + 1)
    assert abs(float(x.mean())) < 0.05 and abs(float(x.std()) - 1) < 0.05


@pytest.mark.parametrize("n", [1, 5, 1000])
def test_any_number_of_points(n: int) -> None:
    x = quasi_random_normal(n, (2,), seed=1)
    assert x.shape == (n, 2) and np.isfinite(x.numpy()).all()
