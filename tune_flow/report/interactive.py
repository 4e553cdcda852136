"""The report's interactive plots: Optuna's own plotly visualisations of a finished search.

The trials of trials.csv, with their learning curves, are replayed into an in-memory Optuna study
(as :mod:`tune_flow.report.importance` does for fANOVA), so the plots work for every searcher and
need no ``--optuna-storage``: optimisation history, learning curves (intermediate values),
parallel coordinates, slices, parameter importances and, for the two
most important numeric parameters, a contour. Hovering a point names its trial number and
parameters. plotly.js is embedded once, inline, so report.html works offline from disk.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Optuna draws nothing useful from fewer trials than this.
MIN_TRIALS = 2


def _value(text: str) -> Any:
    """A CSV cell as the number it holds, else the text."""
    try:
        number = float(text)
    except (TypeError, ValueError):
        return text
    return int(number) if number.is_integer() and "." not in str(text) else number


def proposal_order(row: dict[str, str]) -> int:
    """The order Tune created a trial in: the number in its directory's name
    (``train_flow_<id>_<N>_<params>_<time>``); rows without one keep their place at the end."""
    match = re.match(r"[^_]+_[^_]+_[0-9a-f]+_(\d+)_", Path(row.get("trial_dir", "")).name)
    return int(match.group(1)) if match else 10**9


def build_study(
    rows: list[dict[str, str]],
    params: list[str],
    metric_column: str,
    mode: str,
    curves: dict[str, list[tuple[int, float]]],
) -> Any:
    """An in-memory study with one trial per row: COMPLETE with its ``metric_column`` value (the
    value trials.csv ranks by: trials ASHA stopped too, which Optuna's plots would leave out as
    PRUNED), FAIL without a finite one; ``curves`` (trial id -> [(epoch, value)]) become the
    intermediate values; the trial id and stop reason are user attributes."""
    import optuna

    from tune_flow.report.importance import _distribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = sorted(rows, key=proposal_order)  # trials.csv is ranked; histories run in time
    study = optuna.create_study(direction="minimize" if mode == "min" else "maximize")
    values = {name: [_value(r[name]) for r in rows if r.get(name, "") != ""] for name in params}
    distributions = {n: _distribution(v) for n, v in values.items() if len({str(x) for x in v}) > 1}
    for row in rows:
        value = _value(row[metric_column])
        finite = isinstance(value, (int, float)) and math.isfinite(value)
        state = optuna.trial.TrialState.COMPLETE if finite else optuna.trial.TrialState.FAIL
        trial_params = {
            n: _value(row[n]) for n in distributions if row.get(n, "") not in ("", None)
        }
        study.add_trial(
            optuna.trial.create_trial(
                params=trial_params,
                distributions={n: distributions[n] for n in trial_params},
                value=float(value) if state == optuna.trial.TrialState.COMPLETE else None,
                state=state,
                intermediate_values=dict(curves.get(row["trial_id"], [])),
                user_attrs={"trial_id": row["trial_id"], "stop_reason": row.get("stop_reason")},
            )
        )
    return study


def interactive_html(
    rows: list[dict[str, str]],
    params: list[str],
    metric_column: str,
    mode: str,
    curves: dict[str, list[tuple[int, float]]],
) -> str:
    """The plots as HTML fragments (the first one carries plotly.js); "" with too few trials or
    without plotly."""
    try:
        import plotly  # noqa: F401
    except ImportError:
        return "<p>(interactive plots need plotly: pip install plotly)</p>"
    from optuna import visualization as vis

    if len(rows) < MIN_TRIALS:
        return ""
    study = build_study(rows, params, metric_column, mode, curves)
    target = metric_column
    plots: list[tuple[str, Callable[[], Any]]] = [
        ("Optimisation history", lambda: vis.plot_optimization_history(study, target_name=target)),
        ("Learning curves (intermediate values)", lambda: vis.plot_intermediate_values(study)),
    ]
    if study.best_trials and len({p for t in study.trials for p in t.params}) > 0:
        plots += [
            (
                "Parallel coordinates",
                lambda: vis.plot_parallel_coordinate(study, target_name=target),
            ),
            ("Slices", lambda: vis.plot_slice(study, target_name=target)),
            ("Parameter importances (fANOVA)", lambda: _importances(study, vis)),
        ]
        numeric = [
            n for n in study.best_trial.params
            if all(isinstance(t.params.get(n, 0), (int, float)) for t in study.trials)
            and len({t.params[n] for t in study.trials if n in t.params}) > 1
        ]  # fmt: skip
        if len(numeric) >= 2:
            pair = numeric[:2]
            plots.append(
                (f"Contour of {pair[0]} and {pair[1]}",
                 lambda: vis.plot_contour(study, params=pair, target_name=target))
            )  # fmt: skip
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # e.g. a contour axis with one value
    parts, embedded = [], False
    for title, draw in plots:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's experimental-feature warnings
            try:
                figure = draw()
            except (ValueError, RuntimeError):  # e.g. too few completed trials for a plot
                continue
        figure.update_layout(height=420, margin={"l": 60, "r": 20, "t": 40, "b": 50})
        # "cdn" would need the network; inline once, then every later plot reuses it.
        html = figure.to_html(full_html=False, include_plotlyjs=not embedded)
        embedded = True
        parts.append(f"<h3>{title}</h3>\n{html}")
    return "\n".join(parts)


def _importances(study: Any, vis: Any) -> Any:
    from optuna.importance import FanovaImportanceEvaluator

    return vis.plot_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))


def history_html(
    rows: list[dict[str, str]], metric_column: str, mode: str, title: str, embed_js: bool
) -> str:
    """One search's optimisation history (each trial's ``metric_column`` and the best so far) as
    an HTML fragment, carrying plotly.js when ``embed_js``; "" with too few trials or without
    plotly. The study page draws one per cell."""
    try:
        import plotly  # noqa: F401
    except ImportError:
        return ""
    from optuna import visualization as vis

    if len(rows) < MIN_TRIALS:
        return ""
    study = build_study(rows, [], metric_column, mode, {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        figure = vis.plot_optimization_history(study, target_name=metric_column)
    figure.update_layout(
        title=title, height=320, margin={"l": 60, "r": 20, "t": 50, "b": 40}, showlegend=False
    )
    return figure.to_html(full_html=False, include_plotlyjs=embed_js)
