"""Judging a trained run by its samples: generate with EMA weights, compare with the test split."""

from __future__ import annotations

from typing import Any

import torch

from tune_flow.evaluation.floor import sample_metrics
from tune_flow.evaluation.quasi_random import evaluation_source_draw
from tune_flow.evaluation.sampling import Solver, sample_with


def generate(
    trainer: Any, n: int, solver: Solver | None = None, seed: int = 0, iid: bool = False
) -> torch.Tensor:
    """``n`` samples (n, *shape) in original units from the EMA weights of ``trainer``: a
    ``FlowTrainer`` or a ``training.restore.RestoredRun`` (both have ``model``, ``ema``,
    ``stats``, ``source_pool``, ``device``, ``shape`` and ``draw_source``). ``solver``: the run's
    own (``config.solver``, dopri5 by default) unless given. The source draw is quasi-random
    (:mod:`~tune_flow.evaluation.quasi_random`: lower-variance metrics) unless ``iid``."""
    solver = solver or trainer.config.solver
    pool = None if trainer.source_pool is None else trainer.source_pool.to(trainer.device)
    if iid:
        x_0 = trainer.draw_source(n, torch.Generator(trainer.device).manual_seed(seed), pool)
    else:
        x_0 = evaluation_source_draw(n, trainer.shape, seed, trainer.device, pool)
    with trainer.ema.average_parameters(trainer.model):
        return sample_with(trainer.model, x_0, solver, trainer.stats)


def evaluate_samples(
    trainer: Any, n: int, solver: Solver | None = None, seed: int = 0
) -> dict[str, Any]:
    """W2 (exact, on up to ``n`` test points) and energy distance, in original units."""
    solver = solver or trainer.config.solver
    generated = generate(trainer, n, solver, seed)
    test = trainer.stats.denormalize(trainer.data.x_1_test)[:n]
    return {"eval_samples": n, "solver": solver.to_dict(), **sample_metrics(generated, test)}
