"""What a finished search leaves behind: trials.csv, best_config.yaml, search_summary.json and the
printed summary (the top-k table, importances, where everything is). The chosen model's files come
from :mod:`.chosen_model`."""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path
from typing import Any

import yaml

from tune_flow.report.numbers import format_sample_metric, format_value
from tune_flow.search.state.chosen_model import (
    BEST_EVAL_FILENAME,
    BEST_MODEL_FILENAME,
    DEFAULT_SELECT_TOP,
    SHOWN_SAMPLE_METRICS,
    run_final_selection,
    write_best_eval,
    write_best_model,
)
from tune_flow.search.trainable import trial_config

TRIALS_FILENAME = "trials.csv"
BEST_CONFIG_FILENAME = "best_config.yaml"
SUMMARY_FILENAME = "search_summary.json"  # objectives and parameter importances, for the report


def best_metric_column(metric: str) -> str:
    """trials.csv's column of a trial's best value of ``metric`` (``best_val_loss`` stays as is)."""
    return metric if metric.startswith("best_") else f"best_{metric}"


def scheduler_label(scheduler: str) -> str:
    """The name a trial stopped by ``scheduler`` is reported under: ASHA by promotion counts as
    ``asha`` (a trial it stopped waited at a rung and was not promoted)."""
    return "asha" if scheduler == "asha_promote" else scheduler


def stop_reason(result: Any, scheduler: str) -> str:
    """Why a trial ended: its own reason (max_epochs, patience, diverged; ``time_budget``, set by
    :class:`tune_flow.search.state.search_end.SearchEnd`), ``error``, or the scheduler that
    stopped it (asha, median; ``stopped`` otherwise: a trial of an interrupted search)."""
    if result.error is not None:
        return "error"
    own = (result.metrics or {}).get("stop_reason")
    if own:
        return own
    label = scheduler_label(scheduler)
    return label if label in ("asha", "median") else "stopped"


def _existing(checkpoint: Any) -> str:
    """The file of the weights a trial hands on in its latest checkpoint (``best_model.pt``, or
    ``checkpoint.pt``'s EMA weights when it has none); "" when the pruner removed it."""
    if checkpoint is None or not Path(checkpoint.path).is_dir():
        return ""
    from tune_flow.training.restore import weights_file

    return str(weights_file(Path(checkpoint.path)))


def pareto_front(points: list[list[float]], modes: list[str]) -> list[bool]:
    """Which points no other point dominates (at least as good in every objective, better in
    one). Written out because Optuna's own front is private API and works on its trials only;
    O(n^2) is nothing for a search's trial count. Non-finite points are never on the front."""
    signs = [1.0 if mode == "min" else -1.0 for mode in modes]
    keyed = [[s * v for s, v in zip(signs, p, strict=True)] for p in points]
    finite = [all(math.isfinite(v) for v in p) for p in keyed]

    def dominates(a: list[float], b: list[float]) -> bool:
        return all(x <= y for x, y in zip(a, b, strict=True)) and any(
            x < y for x, y in zip(a, b, strict=True)
        )

    return [
        finite[i]
        and not any(finite[j] and dominates(keyed[j], keyed[i]) for j in range(len(keyed)))
        for i in range(len(keyed))
    ]


def trial_rows(
    results: Any,
    param_names: list[str],
    metric: str,
    mode: str,
    scheduler: str,
    objectives: list[tuple[str, str]] | None = None,
    stop_reasons: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One row per trial: parameters, best/final metrics, epochs run, stop reason, status, the
    weights it hands on (``checkpoint``: ``best_model.pt`` in its latest checkpoint); with several
    ``objectives`` (name, mode), each one's final value and whether the trial is on the Pareto
    front. ``stop_reasons``: trial id -> reason for trials whose results lack one (the time
    budget's cuts, :class:`tune_flow.search.state.search_end.SearchOutcome`)."""
    stop_reasons = stop_reasons or {}
    rows = []
    for result in results:
        metrics = result.metrics or {}
        history = result.metrics_dataframe
        series = history[metric] if history is not None and metric in history else None
        best = math.nan
        if series is not None and len(series.dropna()):
            best = float(series.min() if mode == "min" else series.max())
        params = result.config.get("grid_point", result.config) if result.config else {}
        trial_id = metrics.get("trial_id", Path(str(result.path)).name)
        row: dict[str, Any] = {
            "trial_id": trial_id,
            "status": "ERROR" if result.error else "TERMINATED",
            "stop_reason": stop_reasons.get(trial_id) or stop_reason(result, scheduler),
            "epochs_run": metrics.get("epoch", 0),
            best_metric_column(metric): best,
            "final_val_loss": metrics.get("val_loss", math.nan),
            "best_val_loss": metrics.get("best_val_loss", math.nan),
            "final_train_loss": metrics.get("train_loss", math.nan),
        }
        # The sample metrics of the last evaluation (validation split), when trials report them.
        for name in SHOWN_SAMPLE_METRICS:
            if history is not None and name in history and len(history[name].dropna()):
                row[f"final_{name}"] = float(history[name].dropna().iloc[-1])
            floor = f"{name}_floor"  # the data's own score on the same points
            if history is not None and floor in history and len(history[floor].dropna()):
                row[floor] = float(history[floor].dropna().iloc[-1])
        for name, _ in objectives or []:
            row.setdefault(f"final_{name}", metrics.get(name, math.nan))
        row.update({name: params.get(name, "") for name in param_names})
        row["node_id"] = metrics.get("node_id", "")
        # The weights the trial hands on (the final selection may pick others of its latest
        # checkpoint). Empty where the checkpoint pruner removed it (finished outside the top k).
        row["checkpoint"] = _existing(result.checkpoint)
        row["trial_dir"] = str(result.path)
        rows.append(row)
    if objectives and len(objectives) > 1:
        points = [[row.get(f"final_{name}", math.nan) for name, _ in objectives] for row in rows]
        modes = ["min" if goal in ("minimize", "min") else "max" for _, goal in objectives]
        for row, on_front in zip(rows, pareto_front(points, modes), strict=True):
            row["pareto"] = on_front
    # Every row gets every column (some trials may lack a sample metric, e.g. errored ones).
    columns = list(dict.fromkeys(key for row in rows for key in row))
    rows = [{key: row.get(key, math.nan) for key in columns} for row in rows]
    key = best_metric_column(metric)
    sign = 1 if mode == "min" else -1
    # best first; NaN/inf (errored, diverged) last
    rows.sort(
        key=lambda r: (not math.isfinite(r[key]), sign * r[key] if math.isfinite(r[key]) else 0)
    )
    return rows


def write_trials_csv(rows: list[dict[str, Any]], path: Path) -> None:
    if not rows:
        return
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_best_config(
    best_params: dict[str, Any], base: dict[str, Any], path: Path, why: str | None = None
) -> dict[str, Any]:
    """The best trial's full, resolved TrainingConfig, in the format ``tune_flow.train --config``
    reads; ``why`` (how it was chosen) becomes a comment line at the top."""
    values = trial_config(best_params, base).to_dict()
    header = f"# {why}\n" if why else ""
    path.write_text(header + yaml.safe_dump(values, sort_keys=False))
    return values


def format_top_k(
    rows: list[dict[str, Any]], metric: str, param_names: list[str], k: int = 5
) -> str:
    key = best_metric_column(metric)
    # Sample metrics and the other objectives of a multi-objective search.
    extra = [
        c for c in (rows[0] if rows else {})
        if (c.startswith("final_") and c not in ("final_val_loss", "final_train_loss"))
        or c.startswith("selected_") and c not in ("selected_weights", "selected_epoch")
    ]  # fmt: skip
    extra += ["pareto"] if rows and "pareto" in rows[0] else []
    header = ["rank", "trial", key, *extra, "epochs", "stop"] + param_names
    lines = [header]
    for rank, row in enumerate(rows[:k], 1):
        lines.append(
            [str(rank), str(row["trial_id"]), format_value(row[key])]
            + [format_sample_metric(row[c]) if c != "pareto" else str(row[c]) for c in extra]
            + [str(row["epochs_run"]), row["stop_reason"]]
            + [format_value(row[p]) for p in param_names]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines
    )


def write_search_outputs(
    results: Any, space: Any, experiment: Path, top_k: int = 5, evaluate_best: bool = True,
    stop_reasons: dict[str, str] | None = None, select_top: int = DEFAULT_SELECT_TOP,
    selection_reference: str | None = None,
) -> int:  # fmt: skip
    """After ``Tuner.fit``: the final selection (``select_top`` trials; 0: off), trials.csv,
    the top-k table, best_config.yaml, best_model.pt, best_eval.json and the paths a user needs
    next (``stop_reasons``: see :func:`trial_rows`). Returns 1 when no trial reached a finite
    metric, else 0."""
    param_names = [p.name for p in space.parameters]
    rows = trial_rows(
        results, param_names, space.metric, space.mode, space.scheduler.type,
        objectives=space.objectives, stop_reasons=stop_reasons,
    )  # fmt: skip
    finite = any(math.isfinite(row[best_metric_column(space.metric)]) for row in rows)
    selection = None
    # A multi-objective search has a front, not one winner: nothing to select.
    if finite and select_top > 0 and len(space.objectives) <= 1:
        selection = run_final_selection(
            rows, space.metric, select_top, experiment, selection_reference
        )
    write_trials_csv(rows, experiment / TRIALS_FILENAME)
    if selection is not None:
        print(selection.describe())
        print(selection.table())
    print(f"\ntop {min(top_k, len(rows))} of {len(rows)} trial(s):")
    print(format_top_k(rows, space.metric, param_names, top_k))
    _print_in_trial_floor(rows, space.base)
    if not finite:
        print(
            f"no trial reached a finite {space.metric} (errors or divergence; see "
            f"{experiment / TRIALS_FILENAME} and the trial directories)",
            file=sys.stderr,
        )
        return 1
    best = next(r for r in results if str(r.path) == rows[0]["trial_dir"])
    why = f"trial {rows[0]['trial_id']}, the best by {best_metric_column(space.metric)}"
    if selection is not None:
        chosen = selection.chosen
        why = (
            f"trial {chosen.candidate.trial_id}, chosen by the final selection: its "
            f"{chosen.candidate.weights} weights (epoch {chosen.candidate.epoch}) scored "
            f"{chosen.scored()} against {selection.reference}; they are {BEST_MODEL_FILENAME}"
        )
    write_best_config(
        best.config.get("grid_point", best.config), space.base,
        experiment / BEST_CONFIG_FILENAME, why,
    )  # fmt: skip
    from tune_flow.report.importance import parameter_importances

    importances = parameter_importances(
        rows, param_names, best_metric_column(space.metric), space.mode
    )
    (experiment / SUMMARY_FILENAME).write_text(
        json.dumps(
            {
                "metric": space.metric,
                "mode": space.mode,
                "objectives": [list(o) for o in space.objectives],
                "importances": importances,
                "selection": None if selection is None else selection.to_dict(),
            },
            indent=2,
        )
        + "\n"
    )
    if importances:
        print(
            f"parameter importances for {space.metric} (fANOVA): "
            + ", ".join(f"{name} {format_value(value)}" for name, value in importances.items())
        )
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["stop_reason"]] = counts.get(row["stop_reason"], 0) + 1
    print("stop reasons: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"best config: {experiment / BEST_CONFIG_FILENAME}")
    model_file = None
    if selection is not None:
        chosen = selection.chosen
        model_file = write_best_model(chosen, experiment / BEST_MODEL_FILENAME)
        print(
            f"best model: {model_file} (trial {chosen.candidate.trial_id}, "
            f"{chosen.candidate.weights} weights of epoch {chosen.candidate.epoch}; "
            f"{chosen.scored()} against {selection.reference})"
        )
    elif rows[0]["checkpoint"]:
        model_file = Path(rows[0]["checkpoint"])
        print(f"best checkpoint: {model_file}")
    else:
        print("best checkpoint: (none)")
    if model_file is not None and evaluate_best:
        write_best_eval(model_file, rows[0], experiment / BEST_EVAL_FILENAME, selection)
    print(f"all trials: {experiment / TRIALS_FILENAME}")
    print(f"TensorBoard: tensorboard --logdir {experiment}{viewer_missing('tensorboard')}")
    return 0


def viewer_missing(program: str) -> str:
    """ "" when ``program`` (tensorboard, optuna-dashboard) is installed, else how to get it: they
    are an extra, not a dependency of the search."""
    import shutil

    here = Path(sys.executable).parent / program  # the running environment's, activated or not
    if here.exists() or shutil.which(program):
        return ""
    return f" (not installed: {Path(sys.executable).parent / 'pip'} install -e '.[viz]')"


def _print_in_trial_floor(rows: list[dict[str, Any]], base: dict[str, Any]) -> None:
    """Under the top-k table: what its in-trial sample metrics are measured on, and what the
    data itself scores there."""
    first = rows[0] if rows else {}
    floors = {
        name: first[f"{name}_floor"]
        for name in SHOWN_SAMPLE_METRICS
        if isinstance(first.get(f"{name}_floor"), float) and math.isfinite(first[f"{name}_floor"])
    }
    if not floors:
        return
    from tune_flow.training.config import TrainingConfig

    n = base.get("eval_samples", TrainingConfig.eval_samples)
    print(
        f"final_w2/final_energy_distance: the last in-trial evaluation, n={n} generated points "
        "against the validation split; the data itself scores "
        + ", ".join(f"{name} {format_value(value)}" for name, value in floors.items())
    )
