"""The Frechet distance of digit images in a digit classifier's features: closed forms, and that
it tells real held-out digits from blurred or noisy ones by a wide margin."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tune_flow.data.splits import split_indices
from tune_flow.data.toy import generate
from tune_flow.evaluation.digits_frechet import applies, frechet_digits, frechet_distance


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    # Same distribution: ~0; shifted means with equal covariances: the squared shift.
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, a + np.array([1.0, 2.0, 0.0])) == pytest.approx(5.0, rel=1e-6)
    # Scaled by 2 (cov 4I against I, same means): Tr(4I + I - 2 * 2I) = 3 in 3-d.
    assert frechet_distance(2 * a, a) == pytest.approx(3.0, rel=0.05)


@pytest.fixture(scope="module")
def held_out():
    images = torch.from_numpy(generate("digits", 0, 0))
    split = split_indices(len(images), 0.1, 0.1, None, 0)
    return images[split.val], images[split.test]


def test_real_held_out_digits_score_far_below_blurred_or_noise(held_out):
    val, test = held_out
    floor = frechet_digits(val, test)  # two halves of the held-out digits
    blurred = frechet_digits(torch.nn.functional.avg_pool2d(val, 3, 1, 1), test)
    noise = frechet_digits(torch.rand_like(val) * 16, test)
    assert floor > 0 and blurred > 5 * floor and noise > 5 * floor
    # Flat (n, 64) rows score as the same images.
    assert frechet_digits(val.flatten(1), test) == pytest.approx(floor)


def test_it_applies_to_the_built_in_digits_only():
    assert applies("digits") and applies("moons->digits")
    assert not applies("moons") and not applies("my.data:digits_like")
