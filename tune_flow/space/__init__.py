"""The search-space grammar: YAML files in W&B sweep words, parsed into a :class:`SearchSpace`.

Lives here: distributions, parameters and their ``when:`` conditions, the scheduler and metric
specs, and ``python -m tune_flow.space FILE``. May import ``tune_flow.training`` (to check values
against :class:`TrainingConfig`), Optuna's trial interface and YAML; never Ray: parsing a space
never starts it.
"""

from tune_flow.space._parse import METHODS, load_space, parse_space
from tune_flow.space._scheduler import SCHEDULERS
from tune_flow.space.objectives import GOALS
from tune_flow.space.search_space import Parameter, SchedulerSpec, SearchSpace

__all__ = [
    "GOALS",
    "METHODS",
    "SCHEDULERS",
    "Parameter",
    "SchedulerSpec",
    "SearchSpace",
    "load_space",
    "parse_space",
]
