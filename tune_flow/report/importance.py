"""Which searched parameters mattered: Optuna's fANOVA over a finished search's trials.

The trials are replayed into an in-memory Optuna study (``create_trial`` with distributions
inferred from the values the trials used), so importances work for every searcher, grid and
random included, and do not need ``--optuna-storage``. Parameters that only some trials have
(``when:`` conditions) are left out by Optuna's evaluator, which needs every trial to have them.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

MIN_TRIALS = 4  # below this a random forest over the trials says nothing


def _distribution(values: list[Any]) -> Any:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not numeric:
        return CategoricalDistribution(sorted({v for v in values}, key=str))
    low, high = min(values), max(values)
    if all(isinstance(v, int) for v in values):
        return IntDistribution(int(low), int(high))
    # Learning rates and similar span decades: a log scale is what the searcher used too.
    return FloatDistribution(float(low), float(high), log=low > 0 and high / low >= 100)


def parameter_importances(
    rows: list[dict[str, Any]], param_names: list[str], metric_column: str, mode: str
) -> dict[str, float]:
    """fANOVA importances (summing to 1) of the parameters that varied, over trials with a finite
    ``metric_column``; {} when there are too few trials or nothing varied."""
    import optuna
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    finished = [r for r in rows if math.isfinite(float(r[metric_column]))]
    if len(finished) < MIN_TRIALS:
        return {}
    distributions = {}
    for name in param_names:
        values = [r[name] for r in finished if r.get(name, "") != "" and r[name] is not None]
        if len({str(v) for v in values}) > 1:
            distributions[name] = _distribution(values)
    if not distributions:
        return {}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize" if mode == "min" else "maximize")
    for row in finished:
        params = {n: row[n] for n in distributions if row.get(n, "") != "" and row[n] is not None}
        study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions={n: distributions[n] for n in params},
                value=float(row[metric_column]),
            )
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental-feature warnings
        try:
            importances = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))
        except (RuntimeError, ValueError):  # e.g. no parameter shared by every trial
            return {}
    return {name: float(value) for name, value in importances.items()}
