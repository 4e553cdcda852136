"""What a finished search leaves behind: trials.csv, best_config.yaml and the top-k table."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path
from typing import Any

import yaml

from tune_flow.search.numbers import format_value
from tune_flow.search.trainable import trial_config

TRIALS_FILENAME = "trials.csv"
BEST_CONFIG_FILENAME = "best_config.yaml"


def best_metric_column(metric: str) -> str:
    """trials.csv's column of a trial's best value of ``metric`` (``best_val_loss`` stays as is)."""
    return metric if metric.startswith("best_") else f"best_{metric}"


def stop_reason(result: Any, scheduler: str) -> str:
    """Why a trial ended: its own reason (max_epochs, patience, diverged), ``error``, or the
    scheduler that stopped it (asha, median; ``stopped`` for a time budget under FIFO)."""
    if result.error is not None:
        return "error"
    own = (result.metrics or {}).get("stop_reason")
    if own:
        return own
    return scheduler if scheduler in ("asha", "median") else "stopped"


def trial_rows(
    results: Any, param_names: list[str], metric: str, mode: str, scheduler: str
) -> list[dict[str, Any]]:
    """One row per trial: parameters, best/final metrics, epochs run, stop reason, status."""
    rows = []
    for result in results:
        metrics = result.metrics or {}
        history = result.metrics_dataframe
        series = history[metric] if history is not None and metric in history else None
        best = math.nan
        if series is not None and len(series):
            best = float(series.min() if mode == "min" else series.max())
        params = result.config.get("grid_point", result.config) if result.config else {}
        row: dict[str, Any] = {
            "trial_id": metrics.get("trial_id", Path(str(result.path)).name),
            "status": "ERROR" if result.error else "TERMINATED",
            "stop_reason": stop_reason(result, scheduler),
            "epochs_run": metrics.get("epoch", 0),
            best_metric_column(metric): best,
            "final_val_loss": metrics.get("val_loss", math.nan),
            "best_val_loss": metrics.get("best_val_loss", math.nan),
            "final_train_loss": metrics.get("train_loss", math.nan),
        }
        row.update({name: params.get(name, "") for name in param_names})
        row["node_id"] = metrics.get("node_id", "")
        row["checkpoint"] = str(result.checkpoint.path) if result.checkpoint else ""
        row["trial_dir"] = str(result.path)
        rows.append(row)
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
    best_params: dict[str, Any], base: dict[str, Any], path: Path
) -> dict[str, Any]:
    """The best trial's full, resolved TrainingConfig, in the format ``tune_flow.train --config``
    reads."""
    values = trial_config(best_params, base).to_dict()
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return values


def format_top_k(
    rows: list[dict[str, Any]], metric: str, param_names: list[str], k: int = 5
) -> str:
    key = best_metric_column(metric)
    header = ["rank", key, "epochs", "stop"] + param_names
    lines = [header]
    for rank, row in enumerate(rows[:k], 1):
        value = row[key]
        lines.append(
            [
                str(rank),
                format_value(value),
                str(row["epochs_run"]),
                row["stop_reason"],
            ]
            + [format_value(row[p]) for p in param_names]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines
    )


def write_search_outputs(results: Any, space: Any, experiment: Path, top_k: int = 5) -> int:
    """After ``Tuner.fit``: trials.csv, the top-k table, best_config.yaml and the paths a user
    needs next. Returns 1 when no trial reached a finite metric, else 0."""
    param_names = [p.name for p in space.parameters]
    rows = trial_rows(results, param_names, space.metric, space.mode, space.scheduler.type)
    write_trials_csv(rows, experiment / TRIALS_FILENAME)
    print(f"\ntop {min(top_k, len(rows))} of {len(rows)} trial(s):")
    print(format_top_k(rows, space.metric, param_names, top_k))
    if not any(math.isfinite(row[best_metric_column(space.metric)]) for row in rows):
        print(
            f"no trial reached a finite {space.metric} (errors or divergence; see "
            f"{experiment / TRIALS_FILENAME} and the trial directories)",
            file=sys.stderr,
        )
        return 1
    best = results.get_best_result(space.metric, space.mode, scope="all", filter_nan_and_inf=True)
    write_best_config(
        best.config.get("grid_point", best.config), space.base, experiment / BEST_CONFIG_FILENAME
    )
    checkpoint = (
        best.get_best_checkpoint(space.metric, space.mode) if best.best_checkpoints else None
    )
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["stop_reason"]] = counts.get(row["stop_reason"], 0) + 1
    print("stop reasons: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"best config: {experiment / BEST_CONFIG_FILENAME}")
    print(f"best checkpoint: {checkpoint.path if checkpoint else '(none)'}")
    print(f"all trials: {experiment / TRIALS_FILENAME}")
    print(f"TensorBoard: tensorboard --logdir {experiment}")
    return 0
