"""The training core: one flow-matching run, from a :class:`TrainingConfig` to checkpoints.

Lives here: the config, :class:`FlowTrainer` and its parts (flows, EMA, LR schedule, early
stopping, RNG state, device choice, checkpoint files, restoring a run for sampling, the
optional torch.compile'd step).
May import: ``tune_flow.data``, ``tune_flow.models``, ``tune_flow.evaluation``, ``tune_flow.errors``.
Never imports Ray: the same loop runs in the CLI, in tests and inside a Tune trial.
"""

from tune_flow.training.config import TrainingConfig
from tune_flow.training.early_stopping import EarlyStopping
from tune_flow.training.ema import EMAModel
from tune_flow.training.flows import ICFM, OTCFM, PathSample
from tune_flow.training.schedule import get_cosine_schedule_with_warmup
from tune_flow.training.trainer import FlowTrainer

__all__ = [
    "ICFM",
    "OTCFM",
    "EMAModel",
    "EarlyStopping",
    "FlowTrainer",
    "PathSample",
    "TrainingConfig",
    "get_cosine_schedule_with_warmup",
]
