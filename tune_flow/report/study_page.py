"""A study's tables and page: mean +- std over seeds per cell, best per column, significance.

``table.md`` / ``table.csv`` hold every evaluated metric; ``study.html`` shows the tables, whether
each column's best row leads the others beyond the spread over seeds (Welch's t-test, two-sided,
scipy), and for 2-D data a grid of sample plots, one per cell, over the test data.
"""

from __future__ import annotations

import csv
import html
import math
from pathlib import Path
from typing import Any

from tune_flow.report.numbers import format_value
from tune_flow.space.study_spec import StudySpec

SIGNIFICANCE_LEVEL = 0.05


def _cell(summary: dict[str, Any]) -> str:
    if not summary["n"]:
        return "n/a"
    if summary["n"] < 2:
        return format_value(summary["mean"])
    return mean_and_spread(summary["mean"], summary["std"])


def mean_and_spread(mean: float, std: float) -> str:
    """``0.1395 ± 0.0065``: the spread at 2 significant digits, the mean to the same decimal
    place (a mean's digits past its spread's say nothing)."""
    if not (math.isfinite(mean) and math.isfinite(std)) or std <= 0:
        return f"{format_value(mean)} ± {format_value(std)}"
    decimals = max(0, 1 - math.floor(math.log10(std)))
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def _grid(spec: StudySpec, summaries: list[dict[str, Any]], metric: str):  # type: ignore[no-untyped-def]
    rows = list(dict.fromkeys(s["row"] for s in summaries))
    columns = list(dict.fromkeys(s["column"] for s in summaries))
    table = {(s["row"], s["column"]): s for s in summaries if s["metric"] == metric}
    best = {}
    for column in columns:
        means = [
            (table[(r, column)]["mean"], r)
            for r in rows
            if math.isfinite(table[(r, column)]["mean"])
        ]
        best[column] = min(means)[1] if means else None
    return rows, columns, table, best


def write_tables(spec: StudySpec, summaries: list[dict[str, Any]], root: Path) -> str:
    """table.csv (long format) and table.md (one table per metric); return the markdown."""
    with (root / "table.csv").open("w", newline="") as handle:
        fields = ["cell", *spec.cells, "metric", "mean", "std", "n"]
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(summaries)
    lines = [
        f"# Study {spec.name}",
        "",
        f"Mean ± std over {spec.seeds} training seed(s) of each cell's best config (tuned with "
        f"{spec.num_samples} trials, up to {spec.max_epochs} epochs), evaluated on the test "
        f"split ({spec.samples} points at most, {_solver_text(spec)}); lower is better; "
        "**bold**: best mean in its column.",
    ]
    for metric in dict.fromkeys(s["metric"] for s in summaries):
        rows, columns, table, best = _grid(spec, summaries, metric)
        row_head = ", ".join(spec.rows)
        heading = f"## {metric}"
        if metric.endswith("_floor"):  # a property of the data and n, not a result to rank
            best = dict.fromkeys(columns)
            heading += (
                " (what the data itself scores on the same test points: as many of its "
                "points, spread evenly)"
            )
        lines += ["", heading, "", f"| {row_head} | " + " | ".join(columns) + " |"]
        lines.append("|---" * (len(columns) + 1) + "|")
        for row in rows:
            cells = [
                f"**{_cell(table[(row, c)])}**" if best[c] == row else _cell(table[(row, c)])
                for c in columns
            ]
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    (root / "table.md").write_text(text)
    return text


def significance(spec: StudySpec, summaries: list[dict[str, Any]]) -> list[str]:
    """For each column of the study's metric: does the best row's lead hold up over seeds?"""
    from scipy.stats import ttest_ind

    rows, columns, table, best = _grid(spec, summaries, spec.metric)
    out = []
    for column in columns:
        leader = best[column]
        if leader is None:
            continue
        tests = []
        for row in rows:
            if row == leader:
                continue
            a, b = table[(leader, column)]["values"], table[(row, column)]["values"]
            if len(a) < 2 or len(b) < 2:
                tests.append((row, math.nan))
                continue
            tests.append((row, float(ttest_ind(a, b, equal_var=False).pvalue)))
        if not tests:
            continue
        holds = all(math.isfinite(p) and p < SIGNIFICANCE_LEVEL for _, p in tests)
        detail = ", ".join(
            f"vs {row}: p = {format_value(p)}" if math.isfinite(p) else f"vs {row}: too few seeds"
            for row, p in tests
        )
        verdict = "holds up" if holds else "does not hold up"
        out.append(
            f"{column}: best {leader}; its lead {verdict} at p < {SIGNIFICANCE_LEVEL} "
            f"(Welch's t-test on {spec.metric} over seeds; {detail})"
        )
    return out


def _solver_text(spec: StudySpec) -> str:
    from tune_flow.evaluation.sampling import ADAPTIVE_METHODS, Solver

    if spec.method in ADAPTIVE_METHODS:
        return Solver(spec.method).describe()
    return f"{', '.join(map(str, spec.steps))} {spec.method} step(s)"


def samples_grid(spec: StudySpec, runs: list[dict[str, Any]], path: Path, n: int = 1000) -> bool:
    """One scatter per cell (rows x columns): the first seed's samples and the test data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tune_flow.evaluation.judge import generate
    from tune_flow.report.sample_figures import (
        GRID_SIDE,
        image_mosaic,
        is_image_shape,
        shown_images,
    )
    from tune_flow.training.restore import load_run

    cells = spec.cell_values()
    rows = list(dict.fromkeys(spec.label(c, spec.rows) for c in cells))
    columns = list(dict.fromkeys(spec.label(c, spec.columns) for c in cells))
    fig, axes = plt.subplots(
        len(rows), len(columns), figsize=(3.2 * len(columns), 3.2 * len(rows)), squeeze=False
    )
    for cell in cells:
        name = spec.cell_name(cell)
        first = next((r for r in runs if r["cell"] == name and r.get("checkpoint")), None)
        if first is None:
            continue
        run = load_run(Path(first["checkpoint"]), device="cpu")
        if run.shape != (2,) and not is_image_shape(run.shape):
            plt.close(fig)
            return False
        test = run.data.stats.denormalize(run.data.x_1_test).numpy()
        generated = generate(run, n if run.shape == (2,) else GRID_SIDE**2).numpy()
        ax = axes[rows.index(spec.label(cell, spec.rows))][
            columns.index(spec.label(cell, spec.columns))
        ]
        ax.set_title(
            f"{spec.label(cell, spec.rows)} | {spec.label(cell, spec.columns)}", fontsize=9
        )
        if is_image_shape(run.shape):  # a grid of the cell's samples, at the test images' scale
            low, high = float(test.min()), float(test.max())
            ax.imshow(**shown_images(image_mosaic(generated), low, high))
            ax.set_axis_off()
            continue
        ax.scatter(
            generated[:, 0], generated[:, 1], s=2, alpha=0.5, color="tab:orange", label="samples"
        )
        ax.scatter(test[:, 0], test[:, 1], s=2, alpha=0.5, color="tab:blue", label="test data")
        ax.set_xticks([])
        ax.set_yticks([])
    if axes[0][0].get_legend_handles_labels()[0]:
        axes[0][0].legend(loc="lower left", fontsize=7, markerscale=3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _search_histories(spec: StudySpec, root: Path) -> str:
    """Each cell's search as Optuna's interactive optimisation history (hover: trial and
    parameters), plotly.js embedded once for the page; "" without plotly."""
    import csv

    from tune_flow.report.interactive import history_html

    parts: list[str] = []
    for cell in spec.cell_values():
        name = spec.cell_name(cell)
        trials = root / name / "search" / "trials.csv"
        if not trials.is_file():
            continue
        with trials.open() as handle:
            rows = list(csv.DictReader(handle))
        column = f"best_{spec.metric}"
        if not rows or column not in rows[0]:
            continue
        part = history_html(rows, column, "min", name, embed_js=not parts)
        if part:
            parts.append(part)
    if not parts:
        return ""
    return (
        f"<h2>Each cell's search</h2><p>Every trial's best in-trial {html.escape(spec.metric)} "
        "on the validation split, in the order the searcher proposed them, and the best so far. "
        "Hover a point for its trial's parameters.</p>" + "\n".join(parts)
    )


def write_page(
    spec: StudySpec, summaries: list[dict[str, Any]], runs: list[dict[str, Any]], root: Path
) -> Path:
    """study.html: the tables, the significance lines, the samples grid (2-D data and images)
    and each cell's search history (interactive, plotly.js embedded once: works offline)."""
    tables = []
    for metric in dict.fromkeys(s["metric"] for s in summaries):
        rows, columns, table, best = _grid(spec, summaries, metric)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join(
            f"<tr><th>{html.escape(row)}</th>"
            + "".join(
                f"<td>{'<b>' if best[c] == row else ''}{html.escape(_cell(table[(row, c)]))}"
                f"{'</b>' if best[c] == row else ''}</td>"
                for c in columns
            )
            + "</tr>"
            for row in rows
        )
        tables.append(
            f"<h2>{html.escape(metric)}</h2><table><tr><th>{html.escape(', '.join(spec.rows))}"
            f"</th>{head}</tr>{body}</table>"
        )
    tests = "".join(f"<li>{html.escape(line)}</li>" for line in significance(spec, summaries))
    grid = samples_grid(spec, runs, root / "samples_grid.png")
    figure = (
        '<figure><img src="samples_grid.png" alt="samples per cell"><figcaption>Samples of each '
        "cell's first retrained seed (points: orange, over the test data in blue; images: a grid "
        "at the test images' pixel scale)</figcaption></figure>"
        if grid
        else ""
    )
    histories = _search_histories(spec, root)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>tune_flow study: {html.escape(spec.name)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}img{{max-width:100%}}
table{{border-collapse:collapse;display:block;overflow-x:auto;max-width:100%}}td,th{{border:1px solid #ccc;padding:3px 8px}}</style></head>
<body><h1>Study {html.escape(spec.name)}</h1>
<p>Each cell: a search of {spec.num_samples} trials (up to {spec.max_epochs} epochs) ranked by the
in-trial {html.escape(spec.metric)} on the validation split; its best config retrained with
{spec.seeds} training seed(s) and evaluated on the test split. Mean ± std over seeds, lower is
better, best per column in bold. All runs: <code>runs.csv</code>.</p>
{"".join(tables)}
<h2>Does the best row's lead hold up?</h2><ul>{tests or "<li>needs at least 2 rows</li>"}</ul>
{figure}
{histories}
</body></html>
"""
    out = root / "study.html"
    out.write_text(page)
    return out
