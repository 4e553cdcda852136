"""Running a study: one search per cell, the winners retrained with several seeds, one table.

For every cell of the grid (``StudySpec.cell_values``) this runs the study's space as a named
experiment ``<root>/<cell>/search`` with the cell's values fixed and the shared budget, ranked by
the in-trial version of the study's metric (validation split); then the cell's best config is
retrained with ``seeds`` training seeds (data and splits fixed) as Ray trials in parallel
(``<root>/<cell>/seeds``), and each retrained model is evaluated on the **test** split. A cell is
finished when ``<root>/<cell>/cell.json`` exists; ``--resume`` skips finished cells and restores
an unfinished search or seed experiment with Tune, so finished trials are never redone.
"""

from __future__ import annotations

import csv
import json
import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

import yaml

from tune_flow.space.study_spec import StudySpec

CELL_FILENAME = "cell.json"
RUNS_FILENAME = "runs.csv"
# Training seeds of the retrained runs start here, apart from the seed the search trained with,
# so that no reported run is the very run the search selected (that one is optimistically biased).
SEED_OFFSET = 1000
# Test-only switch: stop (as Ctrl-C would) after this many cells finished in this run.
INTERRUPT_ENV = "TUNE_FLOW_TEST_INTERRUPT_AFTER_CELLS"


def metric_names(spec: StudySpec) -> list[str]:
    """Test metrics of every retrained run: w2, energy_distance at the first steps entry, and
    ``<metric>_<n>steps`` for every further entry."""
    from tune_flow.evaluation.sampling import ADAPTIVE_METHODS

    names = ["w2", "energy_distance"]
    if spec.method not in ADAPTIVE_METHODS:  # an adaptive one evaluates once, to its tolerance
        names += [f"{m}_{n}steps" for n in spec.steps[1:] for m in ("w2", "energy_distance")]
    # What the data itself scores on the same test points (see tune_flow.evaluation.floor).
    return names + ["w2_floor", "energy_distance_floor"]


def evaluation_solvers(evaluate: dict[str, Any]) -> list[Any]:
    """The solvers of a study's ``evaluate`` section: one per entry of ``steps`` for a fixed-step
    ``method``, one for an adaptive method (which integrates to its tolerance, not in steps)."""
    from tune_flow.evaluation.sampling import ADAPTIVE_METHODS, Solver

    if evaluate["method"] in ADAPTIVE_METHODS:
        return [Solver(evaluate["method"])]
    return [Solver(evaluate["method"], int(steps)) for steps in evaluate["steps"]]


def retrain_seed(config: dict[str, Any], run: dict[str, Any], evaluate: dict[str, Any]) -> None:
    """Tune function trainable: train ``run`` with ``config["seed"]`` (resuming from Tune's
    checkpoint), then evaluate the final EMA weights on the test split and report it."""
    from ray import tune

    from tune_flow.evaluation.judge import evaluate_samples
    from tune_flow.search.background_report import BackgroundReports
    from tune_flow.search.trainable import Objective, _EpochReporter
    from tune_flow.training import FlowTrainer, TrainingConfig
    from tune_flow.training.checkpoint import CHECKPOINT_FILENAME, load_checkpoint

    cpus = tune.get_context().get_trial_resources().required_resources.get("CPU", 1)
    threads = max(1, int(cpus))

    def send(metrics: dict[str, Any], directory: Path | None) -> None:
        checkpoint = None if directory is None else tune.Checkpoint.from_directory(str(directory))
        tune.report(metrics, checkpoint=checkpoint)

    # A study judges the final weights (a fixed budget per cell), so its checkpoints carry no
    # best_model.pt: the samples figure then shows the same weights as the table.
    report = BackgroundReports(send)
    reporter = _EpochReporter(report, Objective(), keep_best=False)
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            state = load_checkpoint(Path(directory) / CHECKPOINT_FILENAME)
        trainer = FlowTrainer.from_checkpoint(state, reporter, num_threads=threads)
    else:
        values = {**run, "seed": int(config["seed"]), "num_threads": threads}
        trainer = FlowTrainer(TrainingConfig.from_dict(values), reporter)
    trainer.train()
    report.wait()  # the last epoch's result reaches Tune before the evaluation's
    n = min(int(evaluate["samples"]), len(trainer.data.x_1_test))
    from tune_flow.data import floor_points
    from tune_flow.evaluation.floor import metric_floor

    final: dict[str, Any] = {"epoch": trainer.epoch, "test_points": n}
    test = trainer.stats.denormalize(trainer.data.x_1_test)[:n]
    for name, value in metric_floor(floor_points(trainer.config, trainer.data, n), test).items():
        final[f"test_{name}_floor"] = value
    for i, solver in enumerate(evaluation_solvers(evaluate)):
        values = evaluate_samples(trainer, n, solver)
        for name in ("w2", "energy_distance"):
            if i == 0:
                final[f"test_{name}"] = values[name]
            if len(evaluate["steps"]) > 1 and not solver.adaptive:
                final[f"test_{name}_{solver.steps}steps"] = values[name]
    tune.report(final)


def _restore_or(experiment: Path, trainable: Any, build: Any) -> Any:
    from ray import tune

    from tune_flow.search.state.resume import register_moved_modules, repair_missing_checkpoints

    if tune.Tuner.can_restore(str(experiment)):
        for line in repair_missing_checkpoints(experiment):
            print(f"resume: {line}")
        register_moved_modules()  # a study started before search/ had sub-folders
        return tune.Tuner.restore(
            str(experiment), trainable, resume_unfinished=True, resume_errored=True
        )
    return build()


def _fit(tuner: Any) -> Any:
    results = tuner.fit()
    if results.num_terminated + results.num_errors < len(results):
        raise KeyboardInterrupt  # Tune returned early on a signal: unfinished trials remain
    return results


def search_cell(spec: StudySpec, cell: dict[str, Any], cell_dir: Path, fit: int) -> dict:
    """Run (or continue) the cell's search; return its best config."""
    from tune_flow.search.schedulers.rungs import num_train_rows, resolve_max_t
    from tune_flow.search.state.results import BEST_CONFIG_FILENAME, write_search_outputs
    from tune_flow.search.tuner import build_trainable, build_tuner

    space = spec.cell_space(cell)
    space.num_train = num_train_rows(space)
    max_t = resolve_max_t(space, space.num_train)
    experiment = cell_dir / "search"
    tuner = _restore_or(
        experiment,
        build_trainable(space, max_t),
        lambda: build_tuner(
            space,
            name="search",
            storage_path=cell_dir,
            seed=0,
            max_concurrent=fit,
            max_failures=2,
            time_budget_s=None,
            outputs_dir=experiment,
            max_t=max_t,
        ),  # fmt: skip
    )
    results = _fit(tuner)
    if write_search_outputs(results, space, experiment, top_k=3, evaluate_best=False) != 0:
        raise RuntimeError(f"cell {spec.cell_name(cell)}: no trial reached a finite {spec.metric}")
    return yaml.safe_load((experiment / BEST_CONFIG_FILENAME).read_text())


def retrain_cell(
    spec: StudySpec, cell_dir: Path, best_config: dict[str, Any], fit: int
) -> list[dict[str, Any]]:
    """Retrain the cell's best config with ``spec.seeds`` seeds in parallel; one row per run."""
    from ray import tune

    from tune_flow.search.callbacks.tensorboard_logging import DirectTBXLoggerCallback

    evaluate = {"samples": spec.samples, "steps": list(spec.steps), "method": spec.method}
    trainable = tune.with_resources(
        tune.with_parameters(retrain_seed, run=best_config, evaluate=evaluate),
        {"cpu": spec.space.resources["cpu"], "gpu": spec.space.resources["gpu"]},
    )
    tuner = _restore_or(
        cell_dir / "seeds",
        trainable,
        lambda: tune.Tuner(
            trainable,
            param_space={"seed": tune.grid_search([SEED_OFFSET + i for i in range(spec.seeds)])},
            tune_config=tune.TuneConfig(max_concurrent_trials=fit, reuse_actors=True),
            run_config=tune.RunConfig(
                name="seeds",
                storage_path=str(cell_dir),
                verbose=0,
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
                failure_config=tune.FailureConfig(max_failures=2),
                callbacks=[DirectTBXLoggerCallback()],
            ),  # fmt: skip
        ),
    )
    results = _fit(tuner)
    runs = []
    for result in sorted(results, key=lambda r: r.config["seed"]):
        if result.error is not None:
            raise RuntimeError(f"seed run {result.path} failed: {result.error}")
        metrics = result.metrics or {}
        runs.append(
            {
                "seed": result.config["seed"],
                "epochs": metrics.get("epoch"),
                **{k.removeprefix("test_"): v for k, v in metrics.items() if k.startswith("test_")},
                "checkpoint": str(result.checkpoint.path) if result.checkpoint else "",
                "run_dir": str(result.path),
            }
        )
    return runs


def run_cells(spec: StudySpec, root: Path, fit: int) -> list[dict[str, Any]]:
    """Every cell, skipping finished ones; returns every retrained run (one dict each)."""
    cells = spec.cell_values()
    interrupt_after = int(os.environ.get(INTERRUPT_ENV, "0") or 0)
    finished_here = 0
    durations: list[float] = []
    for index, cell in enumerate(cells, 1):
        name = spec.cell_name(cell)
        cell_dir = root / name
        head = f"[{spec.name}] cell {index}/{len(cells)} {name}"
        if (cell_dir / CELL_FILENAME).is_file():
            print(f"{head}: finished earlier, skipped", flush=True)
            continue
        started = time.monotonic()
        print(
            f"{head}: search ({spec.num_samples} trials, up to {spec.max_epochs} epochs, "
            f"ranked by in-trial {spec.metric})",
            flush=True,
        )
        best = search_cell(spec, cell, cell_dir, fit)
        print(f"{head}: retraining the best config with {spec.seeds} seed(s)", flush=True)
        runs = retrain_cell(spec, cell_dir, best, fit)
        record = {"cell": cell, "name": name, "best_config": best, "runs": runs}
        (cell_dir / CELL_FILENAME).write_text(json.dumps(record, indent=2) + "\n")
        durations.append(time.monotonic() - started)
        left = sum(not (root / spec.cell_name(c) / CELL_FILENAME).is_file() for c in cells)
        estimate = statistics.mean(durations) * left
        print(
            f"{head}: done in {durations[-1]:.0f} s; {len(cells) - left}/{len(cells)} cells "
            f"finished" + (f", about {estimate / 60:.1f} min left" if left else ""),
            flush=True,
        )
        finished_here += 1
        if interrupt_after and finished_here >= interrupt_after and left:
            raise KeyboardInterrupt
    return [
        {"cell": r["name"], **r["cell"], **run}
        for r in (json.loads((root / spec.cell_name(c) / CELL_FILENAME).read_text()) for c in cells)
        for run in r["runs"]
    ]


def write_runs(runs: list[dict[str, Any]], path: Path) -> None:
    columns = list(dict.fromkeys(key for run in runs for key in run))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(runs)


def _finite(values: list[Any]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def summarize(spec: StudySpec, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and sample std (ddof 1; NaN for one seed) over seeds, per cell and metric."""
    rows = []
    for cell in spec.cell_values():
        name = spec.cell_name(cell)
        cell_runs = [r for r in runs if r["cell"] == name]
        for metric in metric_names(spec):
            values = _finite([r.get(metric) for r in cell_runs])
            rows.append(
                {
                    "cell": name,
                    **cell,
                    "row": spec.label(cell, spec.rows),
                    "column": spec.label(cell, spec.columns),
                    "metric": metric,
                    "mean": statistics.mean(values) if values else math.nan,
                    "std": statistics.stdev(values) if len(values) > 1 else math.nan,
                    "n": len(values),
                    "values": values,
                }  # fmt: skip
            )
    return rows
