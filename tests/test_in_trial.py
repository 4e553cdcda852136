"""In-trial sample metrics: names, fixed draws, when the trainer evaluates, normalisation modes."""

import math

import pytest
import torch
from torch import nn

from tune_flow import FlowTrainer
from tune_flow.data.normalization import NormalizationStats
from tune_flow.evaluation.in_trial import (
    SampleEvaluator,
    fixed_source_draw,
    is_sample_metric,
    sample_metric_names,
)


class _Still(nn.Module):
    """Zero velocity: the flow leaves every point where it starts."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, x, t):
        return torch.zeros_like(x)


def test_metric_names_follow_the_documented_scheme():
    assert sample_metric_names([4, 100]) == [
        "w2", "energy_distance", "w2_4steps", "energy_distance_4steps",
        "w2_100steps", "energy_distance_100steps", "sampling_seconds_per_1k",
    ]  # fmt: skip
    assert is_sample_metric("w2_4steps") and is_sample_metric("energy_distance")
    assert not is_sample_metric("val_loss") and not is_sample_metric("w2_steps")


def test_evaluator_compares_in_original_units():
    x_0 = fixed_source_draw(300, 2, torch.device("cpu"))
    stats = NormalizationStats(torch.tensor([5.0, -1.0]), torch.tensor([2.0, 3.0]))
    reference = stats.denormalize(x_0)  # what a still flow generates, in original units
    metrics = SampleEvaluator(x_0, reference, [4, 100], "euler", stats)(_Still())
    assert metrics["w2"] == pytest.approx(0.0, abs=1e-9)
    assert metrics["energy_distance"] == pytest.approx(0.0, abs=1e-9)
    assert metrics["w2"] == metrics["w2_4steps"]  # the plain name is the first entry
    assert set(metrics) == set(sample_metric_names([4, 100]))
    shifted = SampleEvaluator(x_0, reference + torch.tensor([3.0, 4.0]), [4], "euler", stats)
    assert shifted(_Still())["w2"] == pytest.approx(5.0, rel=1e-6)  # a pure shift by (3, 4)


def test_source_draw_is_the_same_for_every_evaluation():
    a = fixed_source_draw(50, 3, torch.device("cpu"))
    torch.manual_seed(123)  # the trial's own randomness must not matter
    b = fixed_source_draw(50, 3, torch.device("cpu"))
    assert torch.equal(a, b)


def test_trainer_evaluates_every_eval_every_at_milestones_and_last(small_config):
    trainer = FlowTrainer(small_config(max_epochs=7, eval_every=3, eval_samples=100))
    # A milestone in optimizer steps crossed during epoch 5 (as ASHA's rung would be).
    trainer.eval_milestones = [("step", 4.5 * trainer.steps_per_epoch)]
    trainer.train()
    evaluated = [h["epoch"] for h in trainer.history if "w2" in h]
    assert evaluated == [3, 5, 6, 7]
    assert all(math.isfinite(h["w2"]) for h in trainer.history if "w2" in h)
    assert trainer.summary()["sample_metrics"]["w2"] == trainer.history[-1]["w2"]
    # Each evaluation says what it cost; the other epochs carry no such entry.
    assert [h["epoch"] for h in trainer.history if "evaluation_seconds" in h] == evaluated
    assert all(h["evaluation_seconds"] > 0 for h in trainer.history if "w2" in h)


def test_evaluation_off_reports_no_sample_metric(small_config):
    trainer = FlowTrainer(small_config(max_epochs=2, eval_samples=0))
    trainer.train()
    assert not any(is_sample_metric(k) for h in trainer.history for k in h)


@pytest.mark.parametrize("mode", ["standard", "global", "none"])
def test_normalize_modes_round_trip_to_original_units(mode):
    x = torch.randn(500, 2) * torch.tensor([5.0, 0.5]) + torch.tensor([1.0, -2.0])
    stats = NormalizationStats.fit(x, mode=mode)
    assert torch.allclose(stats.denormalize(stats.normalize(x)), x, atol=1e-5)
    z = stats.normalize(x)
    if mode == "none":
        assert torch.equal(z, x)
    elif mode == "global":
        assert stats.std[0] == stats.std[1]  # one scale: the aspect ratio is kept
        ratio = z.std(dim=0)[0] / z.std(dim=0)[1]
        assert ratio == pytest.approx(float(x.std(dim=0)[0] / x.std(dim=0)[1]), rel=1e-4)
        assert z.square().mean().item() == pytest.approx(1.0, rel=0.05)
    else:
        assert torch.allclose(z.std(dim=0), torch.ones(2), atol=1e-4)


def test_normalize_is_a_config_field_used_by_the_data(small_config):
    trainer = FlowTrainer(small_config(max_epochs=1, normalize="none", eval_samples=0))
    assert torch.equal(trainer.data.stats.std, torch.ones(2))
