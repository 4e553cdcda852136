"""Restoring a trained run for sampling: its model holding the weights to sample with.

Only what sampling needs is rebuilt (config, data, model, weights): no optimizer, since building
one imports ``torch._dynamo`` (~1.5 s on the 2-core VM, the larger part of a search's test-split
evaluation at its end and of ``python -m tune_flow.sample``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from tune_flow.data import FlowData, build_data
from tune_flow.errors import UserInputError
from tune_flow.evaluation.in_trial import draw_source
from tune_flow.models import build_model
from tune_flow.training.checkpoint import BEST_MODEL_FILENAME, CHECKPOINT_FILENAME, load_checkpoint
from tune_flow.training.config import TrainingConfig
from tune_flow.training.device import resolve_device
from tune_flow.training.ema import EMAModel
from tune_flow.training.rng import seed_everything


class RestoredRun:
    """A trained run, ready to sample. ``model`` (eval mode, on ``device``) holds the weights to
    sample with; ``data`` is the run's data (the same splits and normalisation as in training);
    ``epoch`` is the epoch those weights come from. ``ema`` averages nothing more (its shadow is
    those weights), so code written for a :class:`~tune_flow.training.trainer.FlowTrainer`
    (``evaluation.judge.generate``) samples a restored run unchanged."""

    def __init__(
        self,
        config: TrainingConfig,
        model: nn.Module,
        data: FlowData,
        device: torch.device,
        epoch: int,
    ) -> None:
        self.config, self.model, self.data, self.device, self.epoch = (
            config, model, data, device, epoch
        )  # fmt: skip
        self.ema = EMAModel(model, config.ema_decay)

    def draw_source(
        self, n: int, generator: torch.Generator, pool: torch.Tensor | None
    ) -> torch.Tensor:
        """``n`` source points x_0 (n, D), drawn as the trainer draws them."""
        return draw_source(n, self.data.dim, self.device, generator, pool)


def load_run(run_dir: Path, device: str = "auto") -> RestoredRun:
    """The run in ``run_dir`` (a run or trial checkpoint directory) with the best EMA weights when
    the directory has ``best_model.pt``, else the checkpoint's EMA weights."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserInputError(f"--checkpoint {str(run_dir)!r} is not a directory")
    if not (run_dir / CHECKPOINT_FILENAME).exists():
        raise UserInputError(
            f"--checkpoint {str(run_dir)!r} holds no {CHECKPOINT_FILENAME}; give a run or trial checkpoint directory"
        )
    state = load_checkpoint(run_dir)
    config = TrainingConfig.from_dict({**state["config"], "device": device})
    target = resolve_device(config.device)
    seed_everything(config.seed)  # as FlowTrainer does before it builds the data
    data = build_data(config)
    model = build_model(config, data.dim).to(target)
    best = run_dir / BEST_MODEL_FILENAME
    if best.exists():
        best_state = load_checkpoint(best)  # {"model": the EMA weights at the best epoch, ...}
        model.load_state_dict(best_state["model"])
        epoch = int(best_state["epoch"])
    else:
        model.load_state_dict(state["model"])
        ema = EMAModel(model, config.ema_decay)
        ema.load_state_dict(state["ema"])
        ema.copy_to(model)
        epoch = int(state["epoch"])
    model.eval()
    return RestoredRun(config, model, data, target, epoch)


def sampled_epoch(run_dir: Path) -> int:
    """The epoch of the weights :func:`load_run` samples with: the best model's epoch when
    ``run_dir`` has ``best_model.pt``, else the checkpoint's."""
    run_dir = Path(run_dir)
    best = run_dir / BEST_MODEL_FILENAME
    return int(load_checkpoint(best if best.exists() else run_dir / CHECKPOINT_FILENAME)["epoch"])
