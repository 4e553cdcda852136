"""Judging a trained run by its samples: generate with EMA weights, compare with the test split."""

from __future__ import annotations

from typing import Any

import torch

from tune_flow.evaluation.metrics import energy_distance, wasserstein2
from tune_flow.evaluation.sampling import sample


def generate(
    trainer: Any, n: int, steps: int = 100, method: str = "euler", seed: int = 0
) -> torch.Tensor:
    """``n`` samples (n, D) in original units from the EMA weights of ``trainer``: a
    ``FlowTrainer`` or a ``training.restore.RestoredRun`` (both have ``model``, ``ema``, ``data``,
    ``device`` and ``draw_source``)."""
    gen = torch.Generator(trainer.device).manual_seed(seed)
    pool = None if trainer.data.x_0_test is None else trainer.data.x_0_test.to(trainer.device)
    x_0 = trainer.draw_source(n, gen, pool)
    with trainer.ema.average_parameters(trainer.model):
        return sample(trainer.model, x_0, steps, method, trainer.data.stats)


def evaluate_samples(
    trainer: Any, n: int, steps: int = 100, method: str = "euler", seed: int = 0
) -> dict[str, Any]:
    """W2 (exact, on up to ``n`` test points) and energy distance, in original units."""
    generated = generate(trainer, n, steps, method, seed)
    test = trainer.data.stats.denormalize(trainer.data.x_1_test)[:n]
    return {
        "eval_samples": n,
        "eval_steps": steps,
        "eval_method": method,
        **compare(generated, test),
    }


def compare(generated: torch.Tensor, test: torch.Tensor) -> dict[str, float]:
    """``w2`` (exact) and ``energy_distance`` between two point sets (n, D) in the same units."""
    return {
        "w2": wasserstein2(generated, test),
        "energy_distance": energy_distance(generated, test),
    }
