"""tune_flow: hyperparameter search for flow-matching generative models on Ray Tune.

The folders are the architecture; arrows point down only::

    search/      everything that talks to Ray (CLI, Tuner, trainable, resume, results, report)
    space/       the search-space grammar (W&B sweep words, distributions, conditions)
    training/    TrainingConfig, FlowTrainer, flows, EMA, schedule, early stopping, checkpoints
    data/ models/ evaluation/   datasets, velocity networks, ODE sampling and sample metrics

Only ``tune_flow.search`` imports Ray (``tests/test_layout.py`` checks it). ``train``, ``sample``,
``report`` and ``cli`` at this level are thin command-line entry points.

Python API (:mod:`tune_flow.search.api`)::

    result = tune_flow.search("search_spaces/arch.yaml", num_samples=8, no_dashboard=True)
    result.best_config, result.best_checkpoint, result.trials  # a pandas DataFrame
    tune_flow.study("studies/smoke.yaml")
"""

from tune_flow import search, study  # callable modules: search(space, ...), study(spec, ...)
from tune_flow.data import FlowDataset, create_dataloader
from tune_flow.errors import UserInputError
from tune_flow.search.api import SearchResult, StudyResult
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
    "SearchResult",
    "StudyResult",
    "TrainingConfig",
    "UserInputError",
    "create_dataloader",
    "get_cosine_schedule_with_warmup",
    "search",
    "study",
]
