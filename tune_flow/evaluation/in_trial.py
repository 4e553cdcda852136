"""Sample quality during training: the metrics a search ranks and cuts trials by.

Every trial is judged on the same points: the source draw x_0 comes from a fixed seed (the same
for every trial and every evaluation; a scrambled Sobol draw, see
:mod:`tune_flow.evaluation.quasi_random`), and the reference is the **validation** split in the
data's original units (the test split stays untouched until the search's final evaluation).
Flows, sigmas and normalisations therefore compare fairly, which ``val_loss`` cannot do.

Reported names (all to be minimised):
    ``w2``, ``energy_distance``         at the first entry of ``eval_steps``
    ``w2_<n>steps``, ``energy_distance_<n>steps``   for every entry n of ``eval_steps``
    ``sampling_seconds_per_1k``         wall time to generate 1000 points at the first entry
    ``w2_floor``, ``energy_distance_floor``   what the data itself scores on the same points
                                        (see :mod:`tune_flow.evaluation.floor`); not rankable
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from tune_flow.evaluation.floor import ScoredMetric, metric_floor, sample_metrics
from tune_flow.evaluation.quasi_random import evaluation_source_draw
from tune_flow.evaluation.sampling import sample

# The evaluation source draw comes from this seed, never from the trial's: differences between
# trials' sample metrics then come from the models, not from the draw.
EVALUATION_SEED = 4321
SAMPLE_METRICS = ("w2", "energy_distance")
STEPS_METRIC = re.compile(r"^(w2|energy_distance)_(\d+)steps$")
FLOOR_METRICS = tuple(f"{name}_floor" for name in SAMPLE_METRICS)
COST_METRICS = ("sampling_seconds_per_1k", "num_parameters")


def scored_in_trial(metrics: dict[str, Any], name: str, n: int) -> ScoredMetric:
    """An evaluation epoch's sample metric ``name`` (e.g. ``w2``) with its n (the run's
    ``eval_samples``) and its floor from the same epoch's metrics, for printing:
    ``w2 0.3195 (n=500; floor 0.07878)``."""
    floor = metrics.get(f"{name}_floor", math.nan)
    return ScoredMetric(name, float(metrics[name]), n, float(floor))


def sample_metric_names(eval_steps: Sequence[int]) -> list[str]:
    """Every sample-quality name a trial with these ``eval_steps`` reports."""
    names = list(SAMPLE_METRICS)
    for steps in eval_steps:
        names += [f"{metric}_{steps}steps" for metric in SAMPLE_METRICS]
    return names + ["sampling_seconds_per_1k"]


def is_sample_metric(name: str) -> bool:
    """True for metrics computed only on evaluation epochs (w2, energy_distance and their
    per-steps variants, sampling time)."""
    return (
        name in SAMPLE_METRICS
        or name == "sampling_seconds_per_1k"
        or name in FLOOR_METRICS
        or bool(STEPS_METRIC.match(name))
    )


class SampleEvaluator:
    """Generates ``len(x_0)`` points with a model's current weights and compares them with a
    reference set.

    Args:
        x_0: (n, *shape) source points in normalised units, drawn once (see
            :func:`fixed_source_draw`).
        reference: (m, *shape) reference points in original units (the validation split);
            the metrics compare points flattened to vectors.
        eval_steps: ODE steps per evaluation; each entry is reported (see the module docstring).
        method: ``euler``, ``midpoint`` or ``rk4``.
        stats: ``NormalizationStats`` mapping generated points back to original units.
        independent: (n, D) points of the data itself (:func:`tune_flow.data.floor_points`),
            original units: the floor of each metric is theirs against ``reference``; None: no
            floor.
    """

    def __init__(
        self,
        x_0: torch.Tensor,
        reference: torch.Tensor,
        eval_steps: Sequence[int],
        method: str,
        stats,  # type: ignore[no-untyped-def]  # NormalizationStats
        independent: torch.Tensor | None = None,
    ) -> None:
        self.x_0 = x_0
        self.reference = reference.detach().cpu().double().flatten(1)
        self.eval_steps = list(eval_steps)
        self.method = method
        self.stats = stats
        self.floors: dict[str, float] = {}
        if independent is not None:
            floors = metric_floor(independent[: len(x_0)].double().flatten(1), self.reference)
            self.floors = {f"{name}_floor": value for name, value in floors.items()}

    @torch.no_grad()
    def __call__(self, model: nn.Module) -> dict[str, float]:
        """Sample metrics of ``model`` (hand it the EMA weights) in original units."""
        out: dict[str, float] = {}
        for i, steps in enumerate(self.eval_steps):
            started = time.perf_counter()
            generated = sample(model, self.x_0, steps, self.method, self.stats)
            seconds = time.perf_counter() - started
            values = sample_metrics(generated.double().flatten(1), self.reference)
            for name, value in values.items():
                out[f"{name}_{steps}steps"] = value
                if i == 0:
                    out[name] = value
            if i == 0:
                out["sampling_seconds_per_1k"] = seconds * 1000 / len(self.x_0)
        return {**out, **self.floors}


def draw_source(
    n: int,
    shape: int | tuple[int, ...],
    device: torch.device,
    generator: torch.Generator,
    pool: torch.Tensor | None = None,
) -> torch.Tensor:
    """``n`` source points x_0 (n, *shape) (an int D means (D,)): standard normal, or rows of
    ``pool`` (a source dataset, normalised) drawn with replacement. Training and evaluation draw
    alike."""
    if pool is None:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        return torch.randn(n, *shape, generator=generator, device=device)
    index = torch.randint(0, len(pool), (n,), generator=generator, device=device)
    return pool.to(device)[index]


def fixed_source_draw(
    n: int, shape: int | tuple[int, ...], device: torch.device, pool: torch.Tensor | None = None
) -> torch.Tensor:
    """The in-trial source draw: quasi-random from :data:`EVALUATION_SEED`
    (:func:`~tune_flow.evaluation.quasi_random.evaluation_source_draw`), the same points for
    every trial and every evaluation."""
    return evaluation_source_draw(n, shape, EVALUATION_SEED, device, pool)
