"""tune_flow: hyperparameter search for flow-matching generative models on Ray Tune.

The folders are the architecture; arrows point down only::

    search/      everything that talks to Ray (CLI, Tuner, trainable, resume, results, report)
    space/       the search-space grammar (W&B sweep words, distributions, conditions)
    training/    TrainingConfig, FlowTrainer, flows, EMA, schedule, early stopping, checkpoints
    data/ models/ evaluation/   datasets, velocity networks, ODE sampling and sample metrics

Only ``tune_flow.search`` imports Ray (``tests/test_layout.py`` checks it). ``train``, ``sample``,
``report`` and ``cli`` at this level are thin command-line entry points.
"""

from tune_flow.data import FlowDataset, create_dataloader
from tune_flow.errors import UserInputError
from tune_flow.training import (
    ICFM,
    OTCFM,
    EarlyStopping,
    EMAModel,
    FlowTrainer,
    PathSample,
    TrainingConfig,
    get_cosine_schedule_with_warmup,
)

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
