"""Restoring a trained run for sampling: a trainer whose EMA holds the weights to sample with."""

from __future__ import annotations

from pathlib import Path

from tune_flow.errors import UserInputError
from tune_flow.training.checkpoint import BEST_MODEL_FILENAME, CHECKPOINT_FILENAME, load_checkpoint
from tune_flow.training.ema import EMAModel
from tune_flow.training.trainer import FlowTrainer


def load_trainer(run_dir: Path, device: str = "auto") -> FlowTrainer:
    """A trainer restored from ``run_dir`` whose EMA holds the weights to sample with: the best
    EMA weights when the directory has ``best_model.pt``, else the checkpoint's EMA."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserInputError(f"--checkpoint {str(run_dir)!r} is not a directory")
    if not (run_dir / CHECKPOINT_FILENAME).exists():
        raise UserInputError(
            f"--checkpoint {str(run_dir)!r} holds no {CHECKPOINT_FILENAME}; give a run or trial checkpoint directory"
        )
    trainer = FlowTrainer.from_checkpoint(load_checkpoint(run_dir), device=device)
    best = run_dir / BEST_MODEL_FILENAME
    if best.exists():
        trainer.model.load_state_dict(load_checkpoint(best)["model"])
        trainer.ema = EMAModel(trainer.model, trainer.config.ema_decay)  # shadow = best weights
    return trainer


def sampled_epoch(run_dir: Path) -> int:
    """The epoch of the weights :func:`load_trainer` samples with: the best model's epoch when
    ``run_dir`` has ``best_model.pt``, else the checkpoint's."""
    run_dir = Path(run_dir)
    best = run_dir / BEST_MODEL_FILENAME
    return int(load_checkpoint(best if best.exists() else run_dir / CHECKPOINT_FILENAME)["epoch"])
