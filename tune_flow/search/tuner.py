"""Building the Tune pieces from a search space: searcher, scheduler, resources, run config."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from tune_flow.search.progress import LiveTable
from tune_flow.search.trainable import train_flow
from tune_flow.space import SearchSpace


def build_searcher(
    space: SearchSpace, seed: int | None, optuna_storage: Any = None, study_name: str | None = None
) -> Any:
    """Optuna (TPE for ``bayes``, random sampling for ``random``) with the define-by-run space, so
    ``when:`` conditions hold; ``grid`` uses Tune's own variant generator (None here)."""
    if space.method == "grid":
        return None
    import warnings

    import optuna
    from ray.tune.search.optuna import OptunaSearch

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
            n_startup_trials=min(10, max(2, space.run_cap // 4)),
        )
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    return OptunaSearch(
        space=space.sample,
        metric=space.metric,
        mode=space.mode,
        sampler=sampler,
        storage=optuna_storage,
        study_name=study_name if optuna_storage is not None else None,
    )


def build_scheduler(space: SearchSpace, experiment_dir: Path | None = None) -> Any:
    """ASHA (one bracket, rungs at grace_period x reduction_factor^k epochs), the median stopping
    rule, or FIFO. Time is counted in epochs, which survive a trial's restore. With an
    ``experiment_dir``, ASHA keeps its rungs there so that ``--resume`` continues them."""
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, MedianStoppingRule

    from tune_flow.search.asha_state import STATE_FILENAME, PersistentASHAScheduler

    spec = space.scheduler
    max_t = spec.max_t or space.base.get("max_epochs", 100)
    if spec.type == "asha":
        make_asha: Any = ASHAScheduler
        if experiment_dir is not None:
            experiment_dir.mkdir(parents=True, exist_ok=True)
            make_asha = partial(PersistentASHAScheduler, experiment_dir / STATE_FILENAME)
        return make_asha(
            time_attr="epoch",
            max_t=max_t,
            # A short run (e.g. --max-epochs 2 for a smoke test) keeps a rung at its last epoch.
            grace_period=min(spec.grace_period, max_t),
            reduction_factor=spec.reduction_factor,
            brackets=1,
        )
    if spec.type == "median":
        return MedianStoppingRule(
            time_attr="epoch", grace_period=spec.grace_period, min_samples_required=3
        )
    return FIFOScheduler()


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
) -> Any:
    """The Tuner of a search. ``outputs_dir``: local directory for the ASHA rungs (default: the
    experiment directory under a local ``storage_path``)."""
    from ray import tune

    trainable = tune.with_resources(
        tune.with_parameters(train_flow, base=space.base),
        {"cpu": space.resources["cpu"], "gpu": space.resources["gpu"]},
    )  # with_resources outermost: inside with_parameters it once lost the request (ray#30839)
    param_space: dict[str, Any] = {}
    num_samples = space.run_cap
    if space.method == "grid":
        points = space.grid_points()[: space.run_cap]
        param_space = {"grid_point": tune.grid_search(points)}
        num_samples = 1
    return tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            metric=space.metric,
            mode=space.mode,
            search_alg=build_searcher(space, seed, optuna_storage, study_name=name),
            scheduler=build_scheduler(space, outputs_dir or Path(storage_path) / name),
            num_samples=num_samples,
            max_concurrent_trials=max_concurrent,
            reuse_actors=reuse_actors,  # no actor start-up (torch import) per trial
            time_budget_s=time_budget_s,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=str(storage_path),
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=2,
                checkpoint_score_attribute=space.metric,
                checkpoint_score_order=space.mode,
            ),  # fmt: skip
            failure_config=tune.FailureConfig(max_failures=max_failures),
            verbose=0,
            callbacks=[
                LiveTable(space.metric, [p.name for p in space.parameters], space.scheduler.type),
                *(callbacks or []),
            ],
        ),
    )
