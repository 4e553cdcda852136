"""tune_flow against the tool a user would otherwise use: a plain Optuna script on one machine.

    python benchmarks/optuna_baseline.py [--space search_spaces/arch.yaml] [--seeds 3] [--processes 2] [--smoke-test]

The same space (parsed by tune_flow, sampled by the same define-by-run function), the same TPE
settings, and Optuna's SuccessiveHalvingPruner with ASHA's rungs (min_resource = grace period,
same reduction factor), driving FlowTrainer in-process and reporting val_loss every epoch. Run
in one process, and in N processes sharing a JournalStorage file (the way Optuna parallelises on
one machine). tune_flow runs as `make search` does (subprocess, dashboard and report included),
launch to exit. Prints wall time, epochs and best val_loss of each, per seed, and the ratios.
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


def _study(space, storage, seed: int, name: str):  # type: ignore[no-untyped-def]
    import optuna

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
    space_path: str, journal: str, seed: int, n_trials: int, max_epochs: int | None
) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(journal))
    space, objective = _objective_factory(space_path, max_epochs)
    study = _study(space, storage, seed, "bench")
    study.optimize(objective, n_trials=n_trials)


def run_optuna(
    space_path: str, seed: int, processes: int, max_epochs: int | None, n: int | None
) -> dict:
    import optuna

    from tune_flow.space import load_space

    space = load_space(space_path)
    n_trials = n or space.run_cap
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        journal = str(Path(tmp) / "journal.log")
        counts = [n_trials // processes + (i < n_trials % processes) for i in range(processes)]
        if processes == 1:
            _worker(space_path, journal, seed, n_trials, max_epochs)
        else:
            ctx = multiprocessing.get_context("spawn")
            workers = [
                ctx.Process(target=_worker, args=(space_path, journal, seed, c, max_epochs))
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


def run_tune_flow(space_path: str, seed: int, max_epochs: int | None, n: int | None) -> dict:
    import csv

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "tune_flow.search", "--space", space_path, "--seed", str(seed),
               "--storage-path", tmp, "--name", "bench"]  # fmt: skip
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
    parser.add_argument("--smoke-test", action="store_true", help="1 seed, 4 trials, 6 epochs")
    args = parser.parse_args()
    seeds = 1 if args.smoke_test else args.seeds
    max_epochs, n = (6, 4) if args.smoke_test else (None, None)
    sides = {
        "tune_flow": lambda s: run_tune_flow(args.space, s, max_epochs, n),
        "optuna 1p": lambda s: run_optuna(args.space, s, 1, max_epochs, n),
        f"optuna {args.processes}p": lambda s: run_optuna(
            args.space, s, args.processes, max_epochs, n
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
    print(
        f"tune_flow / fastest Optuna baseline ({fastest}): {medians['tune_flow'] / medians[fastest]:.2f}x (target <= 1.25)"
    )


if __name__ == "__main__":
    main()
