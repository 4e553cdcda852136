"""Restoring a trained run for sampling: its model holding the weights to sample with.

Only what sampling needs is rebuilt (config, data, model, weights): no optimizer, since building
one imports ``torch._dynamo`` (~1.5 s on the 2-core VM, the larger part of a search's test-split
evaluation at its end and of ``python -m tune_flow.sample``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tune_flow.data import FlowData, NormalizationStats, build_data
from tune_flow.errors import UserInputError
from tune_flow.evaluation.in_trial import draw_source
from tune_flow.training.checkpoint import BEST_MODEL_FILENAME, CHECKPOINT_FILENAME, load_checkpoint
from tune_flow.training.config import TrainingConfig
from tune_flow.training.device import resolve_device
from tune_flow.training.ema import EMAModel
from tune_flow.training.rng import seed_everything


class RestoredRun:
    """A trained run, ready to sample. ``model`` (eval mode, on ``device``) holds the weights to
    sample with; ``stats`` maps generated points back to original units; ``source_pool`` holds the
    source points to draw x_0 from (None: standard normal); ``epoch`` is the epoch the weights
    come from. All of it comes from the checkpoint, so sampling needs no data file. ``data`` (the
    run's splits, for judging against the test split) is built on first use. ``ema`` averages
    nothing more (its shadow is those weights), so code written for a
    :class:`~tune_flow.training.trainer.FlowTrainer` (``evaluation.judge.generate``) samples a
    restored run unchanged."""

    def __init__(
        self,
        config: TrainingConfig,
        model: nn.Module,
        device: torch.device,
        epoch: int,
        stats: NormalizationStats,
        shape: tuple[int, ...],
        source_pool: torch.Tensor | None,
    ) -> None:
        self.config, self.model, self.device, self.epoch = config, model, device, epoch
        self.stats, self.shape, self.source_pool = stats, tuple(shape), source_pool
        self.ema = EMAModel(model, config.ema_decay)
        self._data: FlowData | None = None

    @property
    def data(self) -> FlowData:
        """The run's data (the same splits and normalisation as in training), built on first use:
        needs the data file of a file dataset."""
        if self._data is None:
            seed_everything(self.config.seed)  # as FlowTrainer does before it builds the data
            self._data = build_data(self.config)
        return self._data

    @property
    def dim(self) -> int:
        """Numbers per point (the product of :attr:`shape`)."""
        return math.prod(self.shape)

    def draw_source(
        self, n: int, generator: torch.Generator, pool: torch.Tensor | None
    ) -> torch.Tensor:
        """``n`` source points x_0 (n, *shape), drawn as the trainer draws them."""
        return draw_source(n, self.shape, self.device, generator, pool)


def weights_file(path: Path) -> Path:
    """The file :func:`load_run` takes the weights from: ``path`` itself when it is a file, else
    the directory's ``best_model.pt`` when it has one, else its ``checkpoint.pt``."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise UserInputError(f"--checkpoint {str(path)!r} does not exist")
    best = path / BEST_MODEL_FILENAME
    if best.exists():
        return best
    if not (path / CHECKPOINT_FILENAME).exists():
        raise UserInputError(
            f"--checkpoint {str(path)!r} holds no {CHECKPOINT_FILENAME}; give a run or trial "
            "checkpoint directory, or a model file (best_model.pt)"
        )
    return path / CHECKPOINT_FILENAME


def ema_weights(
    state: dict[str, Any], shape: tuple[int, ...] | None = None
) -> dict[str, torch.Tensor]:
    """The weights to sample with from a checkpoint or model file: a model file's ``model`` is
    already the EMA weights; a trainer checkpoint's are in its ``ema`` shadow. ``shape``: one
    point's shape, when the caller knows it (else the state's, or the data's for old
    checkpoints)."""
    if "ema" not in state:
        return state["model"]
    config = TrainingConfig.from_dict({**state["config"], "device": "cpu"})
    model = config.build_network(shape if shape is not None else _shape(state, config))
    model.load_state_dict(state["model"])
    ema = EMAModel(model, config.ema_decay)
    ema.load_state_dict(state["ema"])
    ema.copy_to(model)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def load_run(path: Path, device: str = "auto") -> RestoredRun:
    """The run of ``path``: a model file (``best_model.pt``, a search's chosen model) or a run or
    trial checkpoint directory (see :func:`weights_file`), with its EMA weights."""
    state = load_checkpoint(weights_file(path))
    if not isinstance(state, dict) or not {"config", "model", "epoch"} <= set(state):
        raise UserInputError(
            f"--checkpoint {str(path)!r} is not a tune_flow checkpoint or model file (it needs "
            "'config', 'model' and 'epoch')"
        )
    config = TrainingConfig.from_dict({**state["config"], "device": device})
    target = resolve_device(config.device)
    if "normalization_stats" in state and "dim" in state:
        stats = NormalizationStats.from_dict(state["normalization_stats"])
        shape, pool = _shape(state, config), state.get("source_pool")
    else:  # written before checkpoints carried what sampling needs: from the data, as then
        seed_everything(config.seed)
        data = build_data(config)
        stats, shape, pool = data.stats, data.shape, data.x_0_test
    model = config.build_network(shape).to(target)
    model.load_state_dict(ema_weights(state, shape))
    model.eval()
    return RestoredRun(config, model, target, int(state["epoch"]), stats, shape, pool)


def _shape(state: dict[str, Any], config: TrainingConfig) -> tuple[int, ...]:
    """One point's shape: the state's ("shape"; "dim" in files of vector data written before
    it), else the data's."""
    if "shape" in state:
        return tuple(int(n) for n in state["shape"])
    if "dim" in state:
        return (int(state["dim"]),)
    seed_everything(config.seed)
    return build_data(config).shape


def sampled_epoch(run_dir: Path) -> int:
    """The epoch of the weights :func:`load_run` samples with."""
    return int(load_checkpoint(weights_file(run_dir))["epoch"])
