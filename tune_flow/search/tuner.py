"""Building the Tune pieces from a search space: searcher, scheduler, resources, run config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tune_flow.evaluation.in_trial import is_sample_metric
from tune_flow.search.callbacks.progress import LiveTable
from tune_flow.search.callbacks.tensorboard_logging import DirectTBXLoggerCallback
from tune_flow.search.callbacks.trial_logs import CsvLogger, JsonLogger
from tune_flow.search.schedulers.rungs import milestones as rung_milestones
from tune_flow.search.schedulers.rungs import num_train_rows, resolve_max_t
from tune_flow.search.state.search_end import SearchEnd, SearchTimeBudget
from tune_flow.search.trainable import Objective, train_flow
from tune_flow.space import SearchSpace


def build_searcher(
    space: SearchSpace,
    seed: int | None,
    optuna_storage: Any = None,
    study_name: str | None = None,
    n_startup_trials: int | None = None,
) -> Any:
    """Optuna (TPE for ``bayes``, random sampling for ``random``) with the define-by-run space, so
    ``when:`` conditions hold; ``grid`` uses Tune's own variant generator (None here).
    ``n_startup_trials``: TPE's random trials first (default: a quarter of the run, 2 to 10)."""
    if space.method == "grid":
        return None
    import warnings

    import optuna

    from tune_flow.search.schedulers.optuna_searcher import TruthfulOptunaSearch

    # `multivariate`/`group` are marked experimental in Optuna but are the documented way to
    # model conditional spaces with TPE.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if space.method == "bayes":
        # multivariate + group model joint and conditional parameters; constant_liar keeps
        # concurrent trials from being proposed at the same point.
        sampler: optuna.samplers.BaseSampler = optuna.samplers.TPESampler(
            seed=seed,
            multivariate=True,
            group=True,
            constant_liar=True,
            n_startup_trials=n_startup_trials or min(10, max(2, space.run_cap // 4)),
        )
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    multi = space.is_multi_objective
    return TruthfulOptunaSearch(
        space=space.sample,
        metric=space.metrics if multi else space.metric,
        mode=space.modes if multi else space.mode,
        sampler=sampler,
        storage=optuna_storage,
        study_name=study_name if optuna_storage is not None else None,
    )


def build_scheduler(
    space: SearchSpace, experiment_dir: Path | None = None, max_t: int | None = None
) -> Any:
    """ASHA (one bracket, rungs at grace_period x reduction_factor^k; Ray's, which stops trials
    at a rung, or by promotion, which pauses them there: asha_promotion.py), the median stopping
    rule, or FIFO. Time is counted in ``scheduler.time_attr`` units (epochs by default; optimizer steps
    or samples seen), which survive a trial's restore. ``max_t``: resolved by
    :func:`tune_flow.search.schedulers.rungs.resolve_max_t`. With an ``experiment_dir``, ASHA keeps its
    rungs there so that ``--resume`` continues them."""
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, MedianStoppingRule

    from tune_flow.search.schedulers.asha_state import STATE_FILENAME, PersistentASHAScheduler

    spec = space.scheduler
    max_t = max_t or spec.max_t or space.base.get("max_epochs", 100)
    if spec.has_rungs and experiment_dir is not None:
        experiment_dir.mkdir(parents=True, exist_ok=True)
    # A short run (e.g. --max-epochs 2 for a smoke test) keeps a rung at its last epoch.
    asha_args = dict(
        time_attr=spec.time_attr,
        max_t=max_t,
        grace_period=min(spec.grace_period, max_t),
        reduction_factor=spec.reduction_factor,
    )
    if spec.type == "asha":
        if experiment_dir is None:
            return ASHAScheduler(**asha_args, brackets=1)
        return PersistentASHAScheduler(experiment_dir / STATE_FILENAME, **asha_args, brackets=1)
    if spec.type == "asha_promote":
        from tune_flow.search.schedulers.asha_promotion import STATE_FILENAME as PROMOTION_STATE
        from tune_flow.search.schedulers.asha_promotion import PromotingASHAScheduler

        state_path = None if experiment_dir is None else experiment_dir / PROMOTION_STATE
        return PromotingASHAScheduler(**asha_args, state_path=state_path)
    if spec.type == "median":
        return MedianStoppingRule(
            time_attr=spec.time_attr, grace_period=spec.grace_period, min_samples_required=3
        )
    return FIFOScheduler()


def build_trainable(space: SearchSpace, max_t: int | None = None) -> Any:
    """``train_flow`` with the space's fixed values, its objective and its resources bound.

    Every Tuner of a space, new or restored, is built with this, so the one process-wide switch
    the space needs lives here too."""
    import os

    from ray import tune

    if any(is_sample_metric(name) for name in space.metrics):
        # Sample metrics come on evaluation epochs only; Tune must not require them every epoch
        # (the schedulers and our searcher skip results without them).
        os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"

    milestones: tuple[tuple[str, float], ...] = ()
    if space.scheduler.has_rungs:
        horizon = max_t or space.scheduler.max_t or space.base.get("max_epochs", 100)
        rungs = rung_milestones(
            space.scheduler.grace_period, space.scheduler.reduction_factor, horizon
        )
        # ASHA also stops every trial at max_t: a checkpoint (and evaluation) there as well.
        milestones = tuple((space.scheduler.time_attr, t) for t in sorted({*rungs, horizon}))
    objective = Objective(space.metric, space.mode, milestones)
    return tune.with_resources(
        tune.with_parameters(train_flow, base=space.base, objective=objective),
        {"cpu": space.resources["cpu"], "gpu": space.resources["gpu"]},
    )  # with_resources outermost: inside with_parameters it once lost the request (ray#30839)


def _sample_points(space: SearchSpace) -> int | None:
    """Points each in-trial evaluation generates, when the search ranks by a sample metric."""
    from tune_flow.training.config import TrainingConfig

    if not is_sample_metric(space.metric) or space.metric == "sampling_seconds_per_1k":
        return None
    return int(space.base.get("eval_samples", TrainingConfig.eval_samples))


def build_tuner(
    space: SearchSpace,
    *,
    name: str,
    storage_path: str | Path,
    seed: int | None,
    max_concurrent: int | None,
    max_failures: int,
    time_budget_s: float | None,
    callbacks: list[Any] | None = None,
    optuna_storage: Any = None,
    reuse_actors: bool = True,
    outputs_dir: Path | None = None,
    max_t: int | None = None,
    n_startup_trials: int | None = None,
) -> Any:
    """The Tuner of a search. ``outputs_dir``: local directory for the ASHA rungs (default: the
    experiment directory under a local ``storage_path``). ``max_t``: ASHA's horizon in
    ``time_attr`` units (default: resolved from the space and its data)."""

    from ray import tune

    if max_t is None:
        max_t = resolve_max_t(space, num_train_rows(space))
    trainable = build_trainable(space, max_t)
    param_space: dict[str, Any] = {}
    num_samples = space.run_cap
    if space.method == "grid":
        points = space.grid_points()[: space.run_cap]
        param_space = {"grid_point": tune.grid_search(points)}
        num_samples = 1
    # Tune's limit counts paused trials as live: ASHA by promotion would wait for ever once that
    # many trials wait at rungs. The trials' resources bound how many run at once instead.
    concurrency_limit = None if space.scheduler.type == "asha_promote" else max_concurrent
    searcher = build_searcher(
        space, seed, optuna_storage, study_name=name, n_startup_trials=n_startup_trials
    )
    callbacks = [
        LiveTable(
            space.metric,
            [p.name for p in space.parameters],
            space.scheduler.type,
            num_trials=num_samples * len(param_space.get("grid_point", {}).get("grid_search", [1])),
            mode=space.mode,
            sample_points=_sample_points(space),
        ),  # fmt: skip
        # Replace Tune's default loggers: same files (TensorBoard's written in-thread; result.json
        # and progress.csv never overwritten by an older copy when a trial restarts).
        DirectTBXLoggerCallback(),
        JsonLogger(),
        CsvLogger(),
        *(callbacks or []),
    ]
    budget = None if time_budget_s is None else SearchTimeBudget(time_budget_s)
    # First, so that the others hear of the time budget's cuts before their own ends.
    callbacks.insert(0, SearchEnd(budget, searcher, list(callbacks)))
    return tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            metric=space.metric,
            mode=space.mode,
            search_alg=searcher,
            scheduler=build_scheduler(space, outputs_dir or Path(storage_path) / name, max_t),
            num_samples=num_samples,
            max_concurrent_trials=concurrency_limit,
            reuse_actors=reuse_actors,  # no actor start-up (torch import) per trial
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=str(storage_path),
            stop=budget,
            # The latest checkpoint holds the best model so far (best_model.pt, see trainable.py);
            # the one before it stays until the next is safely written.
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            failure_config=tune.FailureConfig(max_failures=max_failures),
            verbose=0,
            callbacks=callbacks,
        ),
    )
