"""Running a validated search: Ray for the run, ``Tuner.fit`` (new or ``--resume``), how it
ended, and its outputs (trials.csv, best config and evaluation, report). The flags and every
check that can run before Ray starts are :mod:`tune_flow.search.cli`'s.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from tune_flow.errors import UserInputError
from tune_flow.search.state.experiment import ExperimentLocation
from tune_flow.space import SearchSpace
from tune_flow.stop_signals import EXIT_SIGINT, exit_code


def run_search(space: SearchSpace, args: argparse.Namespace, where: ExperimentLocation) -> int:
    from tune_flow.search.cluster import ray_session
    from tune_flow.search.state.search_record import resume_command

    resume_hint = f"continue with: {resume_command(where.name, where.storage)}"
    try:
        with ray_session(
            args.address, not args.no_dashboard, args.dashboard_host, args.dashboard_port,
            args.num_cpus, args.verbose,
            runtime_env=None if space.code is None else space.code.runtime_env(),
        ) as cluster:  # fmt: skip
            return _search(space, args, where, cluster, resume_hint)
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (see ray_session)
        print(f"\ninterrupted; {resume_hint}", file=sys.stderr)
        return exit_code(stop)
    except BaseException:
        if not args.resume:
            _forget_unstarted(where)
        raise


def _forget_unstarted(where: ExperimentLocation) -> None:
    """A search that failed before any trial started leaves nothing that blocks its name (the
    next start would be refused as 'already exists', and --resume would find no Tune state)."""
    import shutil

    outputs = where.outputs
    if outputs.is_dir() and not any(outputs.glob("*/params.json")):
        shutil.rmtree(outputs, ignore_errors=True)


def _search(
    space: SearchSpace, args: argparse.Namespace, where: ExperimentLocation, cluster: Any,
    resume_hint: str,
) -> int:  # fmt: skip
    from ray import tune

    from tune_flow.search.cluster import check_resources, print_dashboard_hint
    from tune_flow.search.schedulers.rungs import resolve_max_t
    from tune_flow.search.state.checkpoint_pruning import CheckpointPruner
    from tune_flow.search.state.results import write_search_outputs
    from tune_flow.search.state.search_end import take_outcome
    from tune_flow.search.tuner import build_trainable, build_tuner

    max_t = resolve_max_t(space, space.num_train)

    fit = check_resources(space.resources["cpu"], space.resources["gpu"], cluster)
    print_dashboard_hint(cluster.dashboard_url)
    name, experiment = where.name, where.outputs
    experiment.mkdir(parents=True, exist_ok=True)
    if cluster.ray_log is not None:
        cluster.ray_log.write_to(experiment)
    if not args.resume:
        from tune_flow.search.state.search_record import write_record

        write_record(experiment, args)
    print(
        f"search {name!r}: {space.run_cap} trial(s), {space.method} + {space.scheduler.type}, "
        f"{fit} at a time ({space.resources['cpu']:g} CPU, {space.resources['gpu']:g} GPU each); "
        f"results in {where.experiment}"
    )
    # Disk grows with what is worth keeping: checkpoints of finished trials outside the top k go.
    pruner = CheckpointPruner(space.metric, space.mode, args.top_k)
    if args.resume:
        from tune_flow.search.state.resume import (
            register_moved_modules,
            repair_missing_checkpoints,
            set_aside_unreadable_state,
        )

        if where.is_local:
            for line in set_aside_unreadable_state(experiment) + repair_missing_checkpoints(
                experiment
            ):
                print(f"resume: {line}")
        register_moved_modules()  # a search started before search/ had sub-folders
        tuner = tune.Tuner.restore(
            where.experiment,
            build_trainable(space, max_t),
            resume_unfinished=True,
            resume_errored=True,
        )
    else:
        tuner = build_tuner(
            space, name=name, storage_path=where.storage, outputs_dir=experiment, seed=args.seed,
            max_concurrent=args.max_concurrent or fit, max_failures=args.max_failures,
            time_budget_s=args.time_budget, optuna_storage=_optuna_storage(args.optuna_storage),
            callbacks=[*_wandb_callbacks(args, space), pruner], max_t=max_t,
        )  # fmt: skip
    results = tuner.fit()
    outcome = take_outcome()
    if outcome is None:  # a search started before SearchEnd existed, resumed
        interrupted = results.num_terminated + results.num_errors < len(results)
    else:  # Tune ends its loop early on a signal it catches itself (SIGUSR1, see search_end.py)
        interrupted = not outcome.finished
    stop_reasons = outcome.stop_reasons if outcome else {}  # the time budget's cuts
    if not interrupted and where.is_local:
        from tune_flow.search.state.resume import record_finished_trials

        record_finished_trials(Path(where.experiment), stop_reasons)
    # Everything below reads the trials from disk: Ray's shutdown overlaps with it. The Tuner
    # goes first: its callbacks' finalizers (W&B's) still call Ray.
    del tuner
    cluster.shut_down_in_background()

    if write_search_outputs(
        results, space, experiment, args.top_k, stop_reasons=stop_reasons,
        select_top=args.select_top, selection_reference=args.selection_reference,
    ):  # fmt: skip
        return 1
    if pruner.pruned_checkpoints:
        print(pruner.summary())
    if not args.no_report:
        _write_report(experiment)
    if args.optuna_storage:
        from tune_flow.search.state.results import viewer_missing

        print(
            f"Optuna dashboard: optuna-dashboard {args.optuna_storage}"
            f"{viewer_missing('optuna-dashboard')}"
        )
    if args.wandb and not _wandb_online():
        print(
            f"W&B runs were logged offline: upload them with `wandb sync {experiment}/*/wandb/offline-run-*`"
        )
    ray_lines = cluster.ray_log.summary() if cluster.ray_log is not None else None
    if ray_lines:
        print(ray_lines)
    if interrupted:
        print(f"interrupted before every trial ended; {resume_hint}", file=sys.stderr)
        return EXIT_SIGINT
    return 0


def _wandb_online() -> bool:
    from tune_flow.search.callbacks.wandb_logging import has_wandb_credentials

    return (
        os.environ.get("WANDB_MODE", "online" if has_wandb_credentials() else "offline") == "online"
    )


def _write_report(experiment: Path) -> None:
    """report.html and figures; a failure here must not fail a search whose results are written."""
    import time

    from tune_flow.report.page import write_report

    started = time.monotonic()
    try:
        path = write_report(experiment)
        print(f"report: {path} ({time.monotonic() - started:.1f} s)")
    except Exception as error:  # matplotlib/backends vary; the search itself succeeded
        print(
            f"warning: report not written ({error}); try python -m tune_flow.report {experiment}",
            file=sys.stderr,
        )


def _optuna_storage(url: str | None):  # type: ignore[no-untyped-def]
    """An RDB storage for OptunaSearch (it needs a storage object, not a URL string)."""
    if url is None:
        return None
    import optuna

    try:
        return optuna.storages.RDBStorage(url)
    except Exception as error:  # SQLAlchemy's errors for bad URLs vary by backend
        raise UserInputError(
            f"--optuna-storage {url!r} cannot be opened: {str(error).splitlines()[0]}"
        ) from None


def _wandb_callbacks(args: argparse.Namespace, space: SearchSpace) -> list:
    """Ray's own W&B logger: one W&B run per trial, grouped by the config's ``group``."""
    if not args.wandb:
        return []
    from tune_flow.search.callbacks.wandb_logging import wandb_callback

    group = str(space.base.get("group", space.name))
    return [wandb_callback(args.wandb_project, args.wandb_entity, group, space.base)]
