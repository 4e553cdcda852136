"""``python -m tune_flow.report EXPERIMENT_DIR``: report.html plus PNGs for a finished search.

Writes into the experiment directory: ``curves.png`` (val-loss learning curves of every trial,
coloured by stop reason), ``params.png`` (best val loss against each searched parameter),
``samples.png`` for 2-D data (the best model's samples beside the test data), and ``report.html``
(the figures and the top-k table; it references only those files, next to it).
"""

from __future__ import annotations

import argparse
import csv
import html
import math
import sys
from pathlib import Path

from tune_flow.errors import UserInputError, exits_cleanly_on_user_error
from tune_flow.search.numbers import format_value

REPORT_FILENAME = "report.html"
REASON_COLOURS = {
    "asha": "tab:orange", "median": "tab:orange", "patience": "tab:blue", "max_epochs": "tab:green",
    "diverged": "tab:red", "error": "black", "stopped": "tab:gray",
}  # fmt: skip
FIXED_COLUMNS = {
    "trial_id", "status", "stop_reason", "epochs_run", "final_val_loss", "best_val_loss",
    "final_train_loss", "checkpoint", "trial_dir", "node_id",
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
    params = [c for c in rows[0] if c not in FIXED_COLUMNS and not c.startswith("best_")]
    figures: list[tuple[str, str]] = []

    fig, ax = plt.subplots(figsize=(8, 5))
    seen: set[str] = set()
    for row in rows:
        progress = Path(row["trial_dir"]) / "progress.csv"
        if not progress.is_file():
            continue
        history = _read_csv(progress)
        epochs = [_float(h["epoch"]) for h in history]
        losses = [_float(h["val_loss"]) for h in history]
        reason = row["stop_reason"]
        ax.plot(epochs, [v if math.isfinite(v) else math.nan for v in losses],
                color=REASON_COLOURS.get(reason, "tab:purple"), alpha=0.7, lw=1,
                label=reason if reason not in seen else None)  # fmt: skip
        seen.add(reason)
    ax.set(
        xlabel="epoch",
        ylabel="val_loss (EMA)",
        yscale="log",
        title="Learning curves by stop reason",
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(experiment / "curves.png", dpi=110)
    plt.close(fig)
    figures.append(("curves.png", "Validation loss of every trial, coloured by why it ended"))

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
    if (
        best["checkpoint"]
        and samples > 0
        and _samples_figure(Path(best["checkpoint"]), experiment / "samples.png", samples)
    ):
        figures.append(
            ("samples.png", "Samples of the best trial's model (EMA weights) beside the test data")
        )

    columns = ["trial_id", metric_column, "epochs_run", "stop_reason", *params]
    table = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(format_value(row.get(c, '')))}</td>" for c in columns)
        + "</tr>"
        for row in rows[:top_k]
    )
    body = "\n".join(
        f'<figure><img src="{name}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        for name, caption in figures
    )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>tune_flow report: {html.escape(experiment.name)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}img{{max-width:100%}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px}}</style></head>
<body><h1>Search {html.escape(experiment.name)}</h1>
<p>{len(rows)} trial(s). TensorBoard: <code>tensorboard --logdir {html.escape(str(experiment))}</code></p>
<h2>Top {min(top_k, len(rows))}</h2>
<table><tr>{"".join(f"<th>{html.escape(c)}</th>" for c in columns)}</tr>{table}</table>
{body}
</body></html>
"""
    out = experiment / REPORT_FILENAME
    out.write_text(page)
    return out


def _samples_figure(checkpoint: Path, path: Path, n: int) -> bool:
    """Scatter the best model's samples beside the test data when the data is 2-D."""
    import matplotlib.pyplot as plt

    from tune_flow.evaluation.judge import generate
    from tune_flow.training.restore import load_trainer

    trainer = load_trainer(checkpoint, device="cpu")
    if trainer.data.dim != 2:
        return False
    generated = generate(trainer, n).numpy()
    test = trainer.data.stats.denormalize(trainer.data.x_1_test).numpy()
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.5), sharex=True, sharey=True)
    axes[0].scatter(test[:, 0], test[:, 1], s=2, alpha=0.5)
    axes[0].set_title(f"test data ({len(test)})")
    axes[1].scatter(generated[:, 0], generated[:, 1], s=2, alpha=0.5, color="tab:orange")
    axes[1].set_title(f"best model, {n} samples (100 Euler steps)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


@exits_cleanly_on_user_error
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tune_flow.report", description=__doc__)
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
