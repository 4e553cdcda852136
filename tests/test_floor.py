"""evaluation.floor: every sample metric is read beside its n and the data's own score."""

import math

import pytest
import torch

from tune_flow.data.toy import generate
from tune_flow.evaluation.floor import ScoredMetric, metric_floor, sample_metrics, scored


def _moons(n: int, seed: int) -> torch.Tensor:
    return torch.from_numpy(generate("moons", n, seed)).double()


def test_a_perfect_model_does_not_score_zero_and_its_floor_shrinks_with_n():
    reference_small, reference_large = _moons(200, 1), _moons(2000, 1)
    small = metric_floor(_moons(200, 2), reference_small)["w2"]
    large = metric_floor(_moons(2000, 2), reference_large)["w2"]
    assert 0 < large < small


def test_a_model_off_the_data_scores_above_the_floor():
    reference = _moons(500, 1)
    floor = metric_floor(_moons(500, 2), reference)
    shifted = sample_metrics(_moons(500, 2) + 0.3, reference)
    assert shifted["w2"] > floor["w2"] and shifted["energy_distance"] > floor["energy_distance"]


def test_non_finite_samples_score_inf_and_images_compare_as_vectors():
    reference = torch.zeros(8, 1, 2, 2, dtype=torch.float64)
    bad = torch.full((8, 1, 2, 2), math.nan, dtype=torch.float64)
    assert sample_metrics(bad, reference) == {"w2": math.inf, "energy_distance": math.inf}
    assert sample_metrics(reference + 1, reference, ("w2",)) == {"w2": pytest.approx(2.0)}


def test_a_scored_metric_prints_its_n_and_floor():
    assert str(ScoredMetric("w2", 0.2, 1250, 0.171)) == "w2 0.2 (n=1250; floor 0.171)"
    assert str(ScoredMetric("w2", 0.123456, 500)) == "w2 0.1235 (n=500)"
    assert ScoredMetric("w2", 0.2, 10, 0.1).over_floor == pytest.approx(2.0)
    names = [m.name for m in scored({"w2": 1.0, "energy_distance": 2.0, "x": 3}, 5, {"w2": 0.5})]
    assert names == ["w2", "energy_distance"]
