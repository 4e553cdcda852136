"""tune_flow: hyperparameter search for flow-matching generative models on Ray Tune.

The training core (this package's root) never imports Ray; ``tune_flow.trainable`` and
``tune_flow.search`` are the only modules that do.
"""

from tune_flow.config import TrainingConfig
from tune_flow.data import FlowDataset, create_dataloader
from tune_flow.early_stopping import EarlyStopping
from tune_flow.ema import EMAModel
from tune_flow.errors import UserInputError
from tune_flow.flows import ICFM, OTCFM, PathSample
from tune_flow.schedule import get_cosine_schedule_with_warmup
from tune_flow.trainer import FlowTrainer

__all__ = [
    "ICFM",
    "OTCFM",
    "EMAModel",
    "EarlyStopping",
    "FlowDataset",
    "FlowTrainer",
    "PathSample",
    "TrainingConfig",
    "UserInputError",
    "create_dataloader",
    "get_cosine_schedule_with_warmup",
]
