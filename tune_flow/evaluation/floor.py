"""What the data itself scores: the floor of a sample metric at a given sample size.

An empirical W2 (or energy distance) between n generated points and n reference points is not
zero for a perfect model: it shrinks as n grows (on moons, a search's winner scored W2 0.200 on
1250 test points and 0.120 on 10k). A number means something only beside its n and the same
metric between the reference and n points of the data itself (:func:`tune_flow.data.floor_points`).
Every sample metric tune_flow prints or writes carries both (:class:`ScoredMetric`).

For 2-D data those points are training rows spread evenly along a Hilbert curve, as a model's
points from a quasi-random source draw (:mod:`tune_flow.evaluation.quasi_random`) are spread: an
i.i.d. draw's count fluctuations put the floor far above good models. Read a score near the floor
as "as good as the data can tell"; below it is luck of the draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from tune_flow.evaluation.metrics import energy_distance, wasserstein2

SAMPLE_METRIC_NAMES = ("w2", "energy_distance")
# Shown with their n and floor wherever present: the sample metrics, and the Frechet distance of
# digit images (tune_flow.evaluation.digits_frechet) in a digits search's best_eval.json.
SCORED_NAMES = (*SAMPLE_METRIC_NAMES, "frechet_digits")


def sample_metrics(
    generated: torch.Tensor,
    reference: torch.Tensor,
    names: tuple[str, ...] = SAMPLE_METRIC_NAMES,
) -> dict[str, float]:
    """``w2`` (exact, POT) and ``energy_distance`` (or those of ``names``) between two point sets
    (n, *shape) and (m, *shape) in the same units; points are flattened, so images compare as
    vectors. Non-finite generated points score inf."""
    generated, reference = generated.flatten(1), reference.flatten(1)
    if not torch.isfinite(generated).all():
        return dict.fromkeys(names, math.inf)
    metrics = {"w2": wasserstein2, "energy_distance": energy_distance}
    return {name: metrics[name](generated, reference) for name in names}


def metric_floor(independent: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
    """The floor of each sample metric: the metric between ``independent`` (points of the data
    itself, :func:`tune_flow.data.floor_points`, as many as the model generates) and the same
    ``reference``. A model's score below it is luck of the draw, not a better model."""
    return sample_metrics(independent, reference)


@dataclass(frozen=True)
class ScoredMetric:
    """A sample metric with what it needs to be read: the number of generated points ``n`` and
    the ``floor`` (the data's own score at that n; NaN when unknown)."""

    name: str
    value: float
    n: int
    floor: float = math.nan

    def __str__(self) -> str:
        """``w2 0.200 (n=1250; floor 0.171)``."""
        floor = "" if math.isnan(self.floor) else f"; floor {_number(self.floor)}"
        return f"{self.name} {_number(self.value)} (n={self.n}{floor})"

    @property
    def over_floor(self) -> float:
        """value / floor (1.0: as good as the data itself at this n)."""
        return self.value / self.floor if self.floor > 0 else math.nan


def scored(values: dict[str, Any], n: int, floors: dict[str, float] | None) -> list[ScoredMetric]:
    """:class:`ScoredMetric` of each sample metric in ``values``."""
    floors = floors or {}
    return [
        ScoredMetric(name, float(values[name]), n, float(floors.get(name, math.nan)))
        for name in SCORED_NAMES
        if name in values
    ]


def _number(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else str(value)
