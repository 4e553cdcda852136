"""``python -m tune_flow.report EXPERIMENT_DIR``: report.html plus PNGs for a finished search.

Writes into the experiment directory: ``curves.png`` (val-loss learning curves of every trial,
coloured by stop reason), ``params.png`` (best val loss against each searched parameter),
``samples.png`` for 2-D data and images (the best model's samples beside the test data: a
scatter plot, or grids of images), and ``report.html``
(the figures, the top-k table and Optuna's interactive plotly plots with plotly.js embedded once,
so it opens offline from disk; it references only those files, next to it).
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import math
import sys
from pathlib import Path
from typing import Any

from tune_flow.errors import UserInputError, exits_cleanly_on_user_error
from tune_flow.program_name import program_name
from tune_flow.report.numbers import format_sample_metric, format_value
from tune_flow.report.sample_figures import evaluated_samples, samples_figure, scatter

REPORT_FILENAME = "report.html"
REASON_COLOURS = {
    "asha": "tab:orange", "median": "tab:orange", "patience": "tab:blue", "max_epochs": "tab:green",
    "diverged": "tab:red", "error": "black", "stopped": "tab:gray",
    "time_budget": "tab:purple",
}  # fmt: skip
FIXED_COLUMNS = {
    "trial_id", "status", "stop_reason", "epochs_run", "final_val_loss", "best_val_loss",
    "final_train_loss", "checkpoint", "trial_dir", "node_id", "pareto",
    "last_checkpoint",  # trials.csv of searches before best_model.pt (it is "checkpoint" now)
}  # fmt: skip


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _float(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def write_report(experiment: str | Path, top_k: int = 10, samples: int = 2000) -> Path:
    """Write the figures and report.html into ``experiment``; return the HTML's path."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    experiment = Path(experiment)
    trials_csv = experiment / "trials.csv"
    if not trials_csv.is_file():
        raise UserInputError(
            f"{str(experiment)!r} holds no trials.csv; give the directory of a finished search"
        )
    rows = _read_csv(trials_csv)
    metric_column = next(c for c in rows[0] if c.startswith("best_"))
    params = [
        c for c in rows[0]
        if c not in FIXED_COLUMNS and not c.startswith(("best_", "final_", "selected_"))
        and not c.endswith("_floor")
    ]  # fmt: skip
    finals = [
        c for c in rows[0]
        if (c.startswith("final_") and c not in ("final_val_loss", "final_train_loss"))
        or c.startswith("selected_") and c not in ("selected_weights", "selected_epoch")
    ]  # fmt: skip
    summary = _read_json(experiment / "search_summary.json")
    best_eval = _read_json(experiment / "best_eval.json")
    figures: list[tuple[str, str]] = []

    metric = metric_column.removeprefix("best_")
    curves = ["val_loss"] + ([metric] if metric not in ("val_loss", "num_parameters") else [])
    fig, axes = plt.subplots(1, len(curves), figsize=(8 * len(curves), 5), squeeze=False)
    for ax, curve in zip(axes[0], curves, strict=True):
        seen: set[str] = set()
        for row in rows:
            # result.json, not progress.csv: Tune's CSV keeps the columns of the first result, and
            # sample metrics first appear at the first evaluation epoch.
            history = [h for h in _read_results(Path(row["trial_dir"])) if curve in h]
            points = [(_float(h["epoch"]), _float(h[curve])) for h in history]
            points = [(e, v) for e, v in points if math.isfinite(v)]
            reason = row["stop_reason"]
            ax.plot([e for e, _ in points], [v for _, v in points],
                    color=REASON_COLOURS.get(reason, "tab:purple"), alpha=0.7, lw=1,
                    marker="." if curve != "val_loss" else None,
                    label=reason if reason not in seen else None)  # fmt: skip
            seen.add(reason)
        ax.set(xlabel="epoch", ylabel=curve + (" (EMA)" if curve == "val_loss" else ""),
               yscale="log", title=f"{curve} by stop reason")  # fmt: skip
        ax.legend()
    fig.tight_layout()
    fig.savefig(experiment / "curves.png", dpi=110)
    plt.close(fig)
    figures.append(
        ("curves.png", "Validation loss (and the search metric) of every trial, by why it ended")
    )
    objectives = (summary or {}).get("objectives", [])
    if "pareto" in rows[0] and len(objectives) >= 2:
        _pareto_figure(rows, objectives, experiment / "pareto.png")
        figures.append(("pareto.png", "Final objective values; the Pareto front in orange"))

    if params:
        fig, axes = plt.subplots(1, len(params), figsize=(3.2 * len(params), 3.2), squeeze=False)
        for ax, name in zip(axes[0], params, strict=True):
            points = [(row[name], _float(row[metric_column])) for row in rows if row[name] != ""]
            points = [(x, y) for x, y in points if math.isfinite(y)]
            numeric = all(not math.isnan(_float(x)) for x, _ in points)
            if numeric:
                ax.scatter([_float(x) for x, _ in points], [y for _, y in points], s=18)
            else:
                labels = sorted({x for x, _ in points})
                ax.scatter([labels.index(x) for x, _ in points], [y for _, y in points], s=18)
                ax.set_xticks(range(len(labels)), labels, rotation=30)
            ax.set(xlabel=name, ylabel=metric_column)
        fig.tight_layout()
        fig.savefig(experiment / "params.png", dpi=110)
        plt.close(fig)
        figures.append(
            ("params.png", f"{metric_column} of each trial against each searched parameter")
        )

    best = rows[0]  # trials.csv is sorted best first
    evaluated = evaluated_samples(experiment, best["trial_id"])
    if samples > 0 and (
        (evaluated is not None and scatter(*evaluated, experiment / "samples.png"))
        or (
            evaluated is None
            and best["checkpoint"]
            and samples_figure(Path(best["checkpoint"]), experiment / "samples.png", samples)
        )
    ):
        caption = "Samples of the chosen model (EMA weights) beside the test data"
        if evaluated is not None:
            caption += ": the points best_eval.json was computed from"
        figures.append(("samples.png", caption))

    extra = ["pareto"] if "pareto" in rows[0] else []
    columns = ["trial_id", metric_column, *finals, *extra, "epochs_run", "stop_reason", *params]
    table = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape((format_sample_metric if c.startswith(('final_', 'selected_')) else format_value)(row.get(c, '')))}</td>"
            for c in columns
        )
        + "</tr>"
        for row in rows[:top_k]
    )
    from tune_flow.report.interactive import interactive_html

    curves = {
        row["trial_id"]: [
            (int(_float(h["epoch"])), _float(h[metric]))
            for h in _read_results(Path(row["trial_dir"]))
            if metric in h and math.isfinite(_float(h[metric]))
        ]
        for row in rows
    }
    mode = (summary or {}).get("mode", "min")
    interactive = interactive_html(rows, params, metric_column, mode, curves)
    body = "\n".join(
        f'<figure><img src="{name}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        for name, caption in figures
    )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>tune_flow report: {html.escape(experiment.name)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}img{{max-width:100%}}
table{{border-collapse:collapse;display:block;overflow-x:auto;max-width:100%}}td,th{{border:1px solid #ccc;padding:3px 8px}}</style></head>
<body><h1>Search {html.escape(experiment.name)}</h1>
<p>{len(rows)} trial(s). TensorBoard: <code>tensorboard --logdir {html.escape(str(experiment))}</code></p>
{_best_eval_html(best_eval)}
<h2>Top {min(top_k, len(rows))}</h2>
<p>{_ranking_html(rows, metric_column)}</p>
<table><tr>{"".join(f"<th>{html.escape(c)}</th>" for c in columns)}</tr>{table}</table>
{_importances_html((summary or {}).get("importances", {}), metric_column)}
<h2>Explore</h2>
<p>Optuna's interactive plots of this search (hover a point for its trial and parameters; drag
to zoom, double-click to reset). Every trial counts with the value the top-k table ranks by,
those ASHA stopped included.</p>
{interactive}
<h2>Figures</h2>
{body}
</body></html>
"""
    out = experiment / REPORT_FILENAME
    out.write_text(page)
    return out


def _read_results(trial_dir: Path) -> list[dict[str, Any]]:
    """Every result a trial reported (Tune's result.json: one JSON object per line)."""
    path = trial_dir / "result.json"
    if not path.is_file():
        return []
    results = []
    for line in path.read_text().splitlines():
        try:
            results.append(json.loads(line))
        except ValueError:  # a line cut short by a kill
            continue
    return results


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        return None


def _ranking_html(rows: list[dict[str, str]], metric_column: str) -> str:
    """What the top-k table is ranked by, and what its sample metrics are measured on: their n
    and the floor (the data's own score on the same points)."""
    selected = next((c for c in rows[0] if c.startswith("selected_") and c not in (
        "selected_weights", "selected_epoch")), None)  # fmt: skip
    text = f"Trials ranked by <code>{html.escape(metric_column)}</code>"
    if selected:
        text = (
            f"The trials the final selection scored first, by <code>{html.escape(selected)}</code> "
            f"(selection.json), then the others by <code>{html.escape(metric_column)}</code>"
        )
    floors = ", ".join(
        f"{name} {format_value(rows[0][f'{name}_floor'])}"
        for name in ("w2", "energy_distance")
        if rows[0].get(f"{name}_floor") not in (None, "", "nan")
    )
    text += (
        "; <code>final_w2</code> and <code>final_energy_distance</code> are the last in-trial "
        'evaluation (validation split; "-": cut before its first evaluation)'
    )
    if floors:
        text += f"; the data itself scores {html.escape(floors)} there"
    return text + "."


def _best_eval_html(evaluation: dict[str, Any] | None) -> str:
    if not evaluation:
        return ""
    floors = evaluation.get("floor") or {}
    n = evaluation["eval_samples"]

    def shown(name: str, label: str) -> str:
        floor = floors.get(name)
        tail = f" (n={n}; floor {format_value(floor)})" if floor is not None else f" (n={n})"
        return f"{label} {format_value(evaluation[name])}{tail}"

    solver = evaluation.get("solver") or {
        "method": evaluation.get("eval_method"), "steps": evaluation.get("eval_steps")
    }  # fmt: skip
    how = ", ".join(f"{k} {v}" for k, v in solver.items())
    selection = evaluation.get("selection")
    chosen = ""
    if selection:
        first = selection["candidates"][0]
        close_call = selection.get("close_call")  # absent from selections before it existed
        rest = (
            f" for those within {close_call:.0%} of the best after the first, 1 for the rest"
            if close_call is not None and selection["draws"] > 1
            else ""
        )
        chosen = (
            f" Chosen among {len(selection['candidates'])} candidate weights by "
            f"{html.escape(selection['metric'])} against "
            f"{html.escape(selection.get('reference', 'the validation split'))} "
            f"({first['n']} generated points x {selection['draws']} source draws{rest}): "
            f"<code>{html.escape(str(first['weights']))}</code> weights."
        )
    return (
        "<h2>Chosen model on the test split</h2><p>"
        f"Trial <code>{html.escape(str(evaluation['trial_id']))}</code> (epoch "
        f"{html.escape(str(evaluation['epoch']))}): <b>{shown('w2', 'W2')}</b>, "
        f"{shown('energy_distance', 'energy distance')}, generated with {html.escape(how)}, "
        "in the data's original units; the floor is what the data itself scores at that n "
        f"(as many of its points, spread evenly, against the same test points).{chosen}</p>"
    )


def _importances_html(importances: dict[str, float], metric_column: str) -> str:
    if not importances:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{format_value(value)}</td></tr>"
        for name, value in importances.items()
    )
    return (
        f"<h2>Parameter importances for {html.escape(metric_column)}</h2>"
        "<p>Optuna's fANOVA over the finished trials (parameters every trial has).</p>"
        f"<table><tr><th>parameter</th><th>importance</th></tr>{rows}</table>"
    )


def _pareto_figure(rows: list[dict[str, str]], objectives: list[list[str]], path: Path) -> None:
    import matplotlib.pyplot as plt

    (x_name, _), (y_name, _) = objectives[0], objectives[1]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for on_front, colour, label in (
        (False, "tab:blue", "dominated"),
        (True, "tab:orange", "Pareto front"),
    ):
        points = sorted(
            (_float(r[f"final_{x_name}"]), _float(r[f"final_{y_name}"]))
            for r in rows
            if (r["pareto"] == "True") == on_front
        )
        points = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
        ax.scatter([x for x, _ in points], [y for _, y in points], color=colour, label=label, s=20)
        if on_front and points:
            ax.plot([x for x, _ in points], [y for _, y in points], color=colour, lw=1)
    ax.set(xlabel=x_name, ylabel=y_name, title="Objectives of every trial")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@exits_cleanly_on_user_error
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program_name("report"), description=__doc__)
    parser.add_argument("experiment", help="a search's directory (holding trials.csv)")
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument(
        "--samples", type=int, default=2000, help="samples drawn for the 2-D scatter"
    )
    args = parser.parse_args(argv)
    out = write_report(args.experiment, args.top_k, args.samples)
    print(f"report: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
