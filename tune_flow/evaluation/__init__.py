"""Judging a flow model by its samples: ODE sampling, W2 and energy distance, test-split checks.

Lives here: :func:`integrate`/:func:`sample` (euler, midpoint, rk4), the sample metrics, and
generating/evaluating from a trained run. May import torch, POT, numpy and ``tune_flow.errors``;
never ``tune_flow.training`` (the trainer calls down into this package, not the reverse) and
never Ray.
"""

from tune_flow.evaluation.metrics import energy_distance, wasserstein2
from tune_flow.evaluation.sampling import METHODS, integrate, sample

__all__ = ["METHODS", "energy_distance", "integrate", "sample", "wasserstein2"]
