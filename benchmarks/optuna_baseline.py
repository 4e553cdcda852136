"""tune_flow against the tool a user would otherwise use: a plain Optuna script on one machine.

    python benchmarks/optuna_baseline.py [--space search_spaces/arch.yaml] [--seeds 3] [--processes 2]
        [--fixed] [--smoke-test]

The same space (parsed by tune_flow, sampled by the same define-by-run function), the same TPE
settings, and Optuna's SuccessiveHalvingPruner with ASHA's rungs (min_resource = grace period,
same reduction factor), driving FlowTrainer in-process and reporting val_loss every epoch. Run
in one process, and in N processes sharing a JournalStorage file (the way Optuna parallelises on
one machine). tune_flow runs as `make search` does (subprocess, dashboard and report included),
launch to exit. Prints wall time, epochs and best val_loss of each, per seed, and the ratios.

``--fixed`` measures pure overhead instead: the same configurations on every side (drawn once
per seed by Optuna's RandomSampler from the space and enqueued in each side's study, tune_flow's
through ``--optuna-storage``), no pruning and no ASHA (``--scheduler fifo``), so both sides train
exactly the same epochs (printed) and differ only in what runs around them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _objective_factory(space_path: str, max_epochs: int | None):  # type: ignore[no-untyped-def]
    import optuna

    from tune_flow import FlowTrainer
    from tune_flow.search.trainable import trial_config
    from tune_flow.space import load_space

    space = load_space(space_path)
    base = dict(space.base)
    if max_epochs:
        base["max_epochs"] = max_epochs

    def objective(trial: optuna.Trial) -> float:
        params = space.sample(trial)
        config = trial_config(params, {**base, "num_threads": 1})
        epochs = [0]

        def on_epoch_end(metrics: dict, trainer: FlowTrainer) -> None:
            epochs[0] = metrics["epoch"]
            trial.report(metrics["val_loss"], metrics["epoch"])
            if trial.should_prune():
                raise optuna.TrialPruned()

        trial.set_user_attr("epochs", 0)
        try:
            summary = FlowTrainer(config, on_epoch_end).train()
        finally:
            trial.set_user_attr("epochs", epochs[0])
        return float(summary["best_val_loss"])

    return space, objective


def fixed_configs(space_path: str, seed: int, n: int | None) -> list[dict]:
    """``n`` (default run_cap) parameter sets drawn by Optuna's RandomSampler from the space."""
    import optuna

    from tune_flow.space import load_space

    space = load_space(space_path)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    configs = []
    for _ in range(n or space.run_cap):
        trial = study.ask()
        space.sample(trial)
        configs.append(dict(trial.params))
        study.tell(trial, 0.0)
    return configs


def _enqueued_study(storage, name: str, configs: list[dict]):  # type: ignore[no-untyped-def]
    """A study (random sampler, no pruner) whose next trials are ``configs``, in order."""
    import optuna

    study = optuna.create_study(
        study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.NopPruner(), load_if_exists=True,
    )  # fmt: skip
    for params in configs:
        study.enqueue_trial(params)
    return study


def _study(space, storage, seed: int, name: str, fixed: bool = False):  # type: ignore[no-untyped-def]
    import optuna

    if fixed:  # the enqueued study, already created by run_optuna
        return optuna.load_study(
            study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler(seed=seed),
            pruner=optuna.pruners.NopPruner(),
        )  # fmt: skip

    sampler = optuna.samplers.TPESampler(
        seed=seed, multivariate=True, group=True, constant_liar=True,
        n_startup_trials=min(10, max(2, space.run_cap // 4)),
    )  # fmt: skip
    pruner = optuna.pruners.SuccessiveHalvingPruner(
        min_resource=space.scheduler.grace_period,
        reduction_factor=int(space.scheduler.reduction_factor),
    )
    return optuna.create_study(
        study_name=name, storage=storage, sampler=sampler, pruner=pruner, load_if_exists=True
    )


def _worker(
    space_path: str, journal: str, seed: int, n_trials: int, max_epochs: int | None,
    fixed: bool = False,
) -> None:  # fmt: skip
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(journal))
    space, objective = _objective_factory(space_path, max_epochs)
    study = _study(space, storage, seed, "bench", fixed)
    study.optimize(objective, n_trials=n_trials)


def run_optuna(
    space_path: str, seed: int, processes: int, max_epochs: int | None, n: int | None,
    configs: list[dict] | None = None,
) -> dict:  # fmt: skip
    import optuna

    from tune_flow.space import load_space

    space = load_space(space_path)
    n_trials = n or space.run_cap
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        journal = str(Path(tmp) / "journal.log")
        fixed = configs is not None
        if fixed:
            n_trials = len(configs)
            _enqueued_study(
                optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(journal)),
                "bench", configs,
            )  # fmt: skip
        counts = [n_trials // processes + (i < n_trials % processes) for i in range(processes)]
        if processes == 1:
            _worker(space_path, journal, seed, n_trials, max_epochs, fixed)
        else:
            ctx = multiprocessing.get_context("spawn")
            workers = [
                ctx.Process(target=_worker, args=(space_path, journal, seed, c, max_epochs, fixed))
                for c in counts
            ]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        wall = time.perf_counter() - started
        storage = optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(journal)
        )
        study = optuna.load_study(study_name="bench", storage=storage)
        trials = study.trials
        best = min(
            (min(t.intermediate_values.values()) for t in trials if t.intermediate_values),
            default=float("nan"),
        )
        epochs = sum(t.user_attrs.get("epochs", 0) for t in trials)
    return {"wall": wall, "epochs": epochs, "best": best}


def run_tune_flow(
    space_path: str, seed: int, max_epochs: int | None, n: int | None,
    configs: list[dict] | None = None,
) -> dict:  # fmt: skip
    import csv

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "tune_flow.search", "--space", space_path, "--seed", str(seed),
               "--storage-path", tmp, "--name", "bench"]  # fmt: skip
        if configs is not None:  # the same trials as Optuna's, unpruned (the timer starts later)
            db = f"sqlite:///{tmp}/study.db"
            _enqueued_study(db, "bench", configs)
            cmd += [
                "--optuna-storage",
                db,
                "--scheduler",
                "fifo",
                "--num-samples",
                str(len(configs)),
            ]
        if max_epochs:
            cmd += ["--max-epochs", str(max_epochs)]
        if n:
            cmd += ["--num-samples", str(n)]
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-3000:])
        rows = list(csv.DictReader((Path(tmp) / "bench" / "trials.csv").open()))
    return {
        "wall": wall,
        "epochs": sum(int(r["epochs_run"]) for r in rows),
        "best": min(float(r["best_val_loss"]) for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="search_spaces/arch.yaml")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--fixed", action="store_true",
        help="pure overhead: the same configurations on every side, no pruning, no ASHA",
    )  # fmt: skip
    parser.add_argument("--smoke-test", action="store_true", help="1 seed, 4 trials, 6 epochs")
    args = parser.parse_args()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seeds = 1 if args.smoke_test else args.seeds
    max_epochs, n = (6, 4) if args.smoke_test else (None, None)
    configs: dict[int, list[dict] | None] = {
        s: fixed_configs(args.space, s, n) if args.fixed else None for s in range(seeds)
    }
    sides = {
        "tune_flow": lambda s: run_tune_flow(args.space, s, max_epochs, n, configs[s]),
        "optuna 1p": lambda s: run_optuna(args.space, s, 1, max_epochs, n, configs[s]),
        f"optuna {args.processes}p": lambda s: run_optuna(
            args.space, s, args.processes, max_epochs, n, configs[s]
        ),
    }
    measured: dict[str, list[dict]] = {side: [] for side in sides}
    for seed in range(seeds):
        for side, run in sides.items():
            result = run(seed)
            measured[side].append(result)
            print(f"seed {seed} {side:<11} wall {result['wall']:6.1f} s  epochs {result['epochs']:4d}  "
                  f"best val_loss {result['best']:.4f}", flush=True)  # fmt: skip
    medians = {side: statistics.median(r["wall"] for r in rs) for side, rs in measured.items()}
    fastest = min((s for s in sides if s != "tune_flow"), key=medians.get)
    print("median wall: " + ", ".join(f"{s} {w:.1f} s" for s, w in medians.items()))
    target = 1.15 if args.fixed else 1.25
    print(
        f"tune_flow / fastest Optuna baseline ({fastest}): {medians['tune_flow'] / medians[fastest]:.2f}x (target <= {target})"
    )


if __name__ == "__main__":
    main()
