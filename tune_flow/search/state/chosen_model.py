"""The search's chosen model: the final selection over the top trials' candidate weights
(selection.json, each trial's ``checkpoint`` in trials.csv), the chosen weights as one model
file (best_model.pt) and its one evaluation on the test split (best_eval.json with
best_samples.npz)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from tune_flow.errors import UserInputError
from tune_flow.report.sample_figures import BEST_SAMPLES_FILENAME

BEST_EVAL_FILENAME = "best_eval.json"
SELECTION_FILENAME = "selection.json"  # every candidate's score in the final selection
BEST_MODEL_FILENAME = "best_model.pt"  # the chosen weights, one self-contained model file
SHOWN_SAMPLE_METRICS = ("w2", "energy_distance")
# The final evaluation of the chosen model: all test rows, at most this many.
FINAL_EVAL_MAX_POINTS = 10_000
DEFAULT_SELECT_TOP = 5  # trials whose candidate weights the final selection scores


def selection_metric(metric: str) -> tuple[str, int | None]:
    """The sample metric the final selection scores by and at how many solver steps: the
    search's own when it is one (``w2``, ``energy_distance``; ``w2_4steps`` is ``w2`` at 4 steps
    of the run's ``eval_method``), else ``w2``; steps None: the selection's own solver."""
    from tune_flow.evaluation.in_trial import STEPS_METRIC

    match = STEPS_METRIC.match(metric)
    if match:
        return match.group(1), int(match.group(2))
    return (metric if metric in SHOWN_SAMPLE_METRICS else "w2"), None


def run_final_selection(
    rows: list[dict[str, Any]], metric: str, top: int, experiment: Path,
    reference: str | None = None,
) -> Any:  # fmt: skip
    """Score the candidate weights of the ``top`` first rows (those whose checkpoints exist) and
    reorder ``rows`` in place: scored trials first, by their best candidate; each scored row
    gets ``selected_<metric>`` (mean over the draws), ``selected_weights``, ``selected_epoch``
    and ``checkpoint`` = the file of its best candidate (the weights it hands on). Scores
    against the validation split, or the points of the file ``reference`` (the search's
    ``--selection-reference``, checked when the search started). Writes ``selection.json``;
    returns the :class:`~tune_flow.selection.Selection`, or None when no trial has a
    checkpoint."""
    import torch

    from tune_flow.data.files import load_array
    from tune_flow.selection import select_final_model, trial_candidates

    candidates = []
    for row in rows:
        if len({c.trial_id for c in candidates}) >= top:
            break
        if row["checkpoint"]:
            candidates += trial_candidates(str(row["trial_id"]), Path(row["checkpoint"]).parent)
    if not candidates:
        return None
    name, steps = selection_metric(metric)
    given = None
    if reference is not None:
        try:
            given = torch.from_numpy(load_array(reference)).double()
        except UserInputError as error:
            # Checked at the start; moved or damaged since. The trials are not lost for it.
            print(
                f"warning: --selection-reference cannot be read now ({error}); the final "
                "selection scores against the validation split instead",
                file=sys.stderr,
            )
    selection = select_final_model(
        candidates, name, steps=steps, reference=given, reference_name=str(reference)
    )
    best_of_trial: dict[str, Any] = {}
    for score in selection.scores:  # best first
        best_of_trial.setdefault(score.candidate.trial_id, score)
    name = f"selected_{selection.metric}"
    for row in rows:
        score = best_of_trial.get(str(row["trial_id"]))
        row[name] = score.mean if score else math.nan
        row["selected_weights"] = score.candidate.weights if score else ""
        row["selected_epoch"] = score.candidate.epoch if score else ""
        if score:
            row["checkpoint"] = str(score.candidate.path)
    order = {trial: i for i, trial in enumerate(best_of_trial)}
    rows.sort(key=lambda r: order.get(str(r["trial_id"]), len(order)))  # stable for the rest
    (experiment / SELECTION_FILENAME).write_text(json.dumps(selection.to_dict(), indent=2) + "\n")
    return selection


def write_best_model(chosen: Any, path: Path) -> Path:
    """The chosen weights as one self-contained model file (config, EMA weights, epoch,
    normalisation, source pool): ``python -m tune_flow.sample --checkpoint`` takes it as is."""
    from tune_flow.training.checkpoint import load_checkpoint, save_checkpoint
    from tune_flow.training.restore import ema_weights

    state = load_checkpoint(chosen.candidate.path)
    keep = ("config", "epoch", "normalization_stats", "shape", "dim", "source_pool")
    model_file = {key: state[key] for key in keep if key in state}
    model_file["model"] = ema_weights(state)
    model_file["selected"] = {
        "trial_id": chosen.candidate.trial_id,
        "weights": chosen.candidate.weights,
        "from": str(chosen.candidate.path),
    }
    return save_checkpoint(model_file, path)


def write_best_eval(
    model_file: Path, row: dict[str, Any], path: Path, selection: Any = None
) -> dict[str, Any]:
    """Evaluate the chosen weights once on the **test** split (untouched until now): all test
    rows, at most :data:`FINAL_EVAL_MAX_POINTS`, generated with the run's solver (dopri5 by
    default); W2 and energy distance in original units, each with its n and floor (as many
    points of the data itself against the same test points). Written to ``best_eval.json``
    (the points to ``best_samples.npz``) and printed."""
    import numpy as np

    from tune_flow.data import floor_points
    from tune_flow.evaluation import digits_frechet
    from tune_flow.evaluation.floor import metric_floor, sample_metrics, scored
    from tune_flow.evaluation.judge import generate
    from tune_flow.training.restore import load_run

    run = load_run(model_file)
    n = min(len(run.data.x_1_test), FINAL_EVAL_MAX_POINTS)
    generated = generate(run, n)
    test = run.stats.denormalize(run.data.x_1_test)[:n]
    values = sample_metrics(generated, test)
    floors = metric_floor(floor_points(run.config, run.data, n), test)
    if digits_frechet.applies(run.config.dataset):
        # Its floor: the held-out halves, validation against test images, at the same n.
        values["frechet_digits"] = digits_frechet.frechet_digits(generated, test)
        validation = run.stats.denormalize(run.data.x_1_val)[:n]
        floors["frechet_digits"] = digits_frechet.frechet_digits(validation, test)
    evaluation = {
        "trial_id": row["trial_id"],
        "checkpoint": str(model_file),
        "weights": row.get("selected_weights") or BEST_MODEL_FILENAME,
        "epoch": run.epoch,
        "split": "test",
        "eval_samples": n,
        "solver": run.config.solver.to_dict(),
        **values,
        "floor": floors,
        "samples_file": BEST_SAMPLES_FILENAME,
    }
    if selection is not None:
        evaluation["selection"] = selection.to_dict()
    np.savez_compressed(
        path.with_name(BEST_SAMPLES_FILENAME), generated=generated.cpu().numpy(),
        test=test.cpu().numpy(), trial_id=np.array(row["trial_id"]),
    )  # fmt: skip
    path.write_text(json.dumps(evaluation, indent=2) + "\n")
    metrics = ", ".join(str(m) for m in scored(values, n, floors))
    print(f"chosen model on the test split ({run.config.solver.describe()}): {metrics} -> {path}")
    return evaluation
