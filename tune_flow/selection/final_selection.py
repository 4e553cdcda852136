"""Final selection: score each candidate's weights on many samples, hand on the best.

Why: the in-trial score (500 generated points against the validation split, one source draw)
has a bias and noise larger than the differences between good trials and between late epochs of
one trial. Ranked by it, a moons search chose a trial whose W2 on 10k samples was 0.120 while
others scored 0.106, and kept epoch 75 of a trial whose final weights were 0.120 against 0.165
(issue 21). Here every candidate -- a trial's best weights by the search metric, its latest
weights, its best by val_loss -- is scored on the whole validation split with four generated
points per validation point (at most 5000) from a quasi-random source draw
(:mod:`tune_flow.evaluation.quasi_random`), integrated with :data:`SELECTION_SOLVER` (RK4, 10
steps); the candidates within ``CLOSE_CALL`` (5%) of the best get ``draws - 1`` more. The draws
are the same for every candidate (paired), so differences between candidates come from the
weights, not from the draw; the mean over draws is the score, and its spread says how sure the
choice is.
How well this picks is measured, not assumed: see :func:`select_final_model` and
benchmarks/RESULTS.md sections 16, 18 and 22.

Why not the training split, 8 times larger: measured on a kept scurve search (section 18), each
of three trials' latest weights scored 13-16% lower W2 against training rows than its own
best-by-val_loss weights of ~80 epochs earlier, where fresh data put them between 7% better and
12% worse: longer-trained weights sit closer to the points they trained on, so a training-split
score rewards memorising. The validation split stays the reference.

What it does not fix (benchmarks/RESULTS.md section 19): against an i.i.d. reference such as a
random validation split, W2 ranks close candidates differently from W2 against points spread
evenly along the data's curve, the same way in every repeat; four times as many i.i.d. reference
points moved the pick further from the best on two of three searches, where 5000 evenly spread
points found it (scurve). Nor can an evenly spread split of the training file see past the
file: its rows share the file's count fluctuations with the training rows, so weights fitted
closer to those score better on it than on fresh data (section 23; scurve seed 1's pick, +9.6%).

For that the user can hand a reference of their own (``reference``; the search's
``--selection-reference``): points drawn independently of the training file and spread evenly,
such as simulator output from stratified inputs. Replayed on the nine kept searches of section
25 with 5000 such points, sampled with dopri5: regret +1.0% at worst, and no trial handed on
weights more than 3% worse than its own latest or best-by-val_loss ones (section 28). 1250 such
points were too few (moons seed 2: +17.1%), and 5000 i.i.d. fresh points picked +21.3% from the
best on scurve seed 2.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tune_flow.data import FlowData, floor_points
from tune_flow.evaluation.floor import ScoredMetric, sample_metrics
from tune_flow.evaluation.quasi_random import evaluation_source_draw
from tune_flow.evaluation.sampling import Solver, sample_with
from tune_flow.training.checkpoint import (
    BEST_MODEL_FILENAME,
    BEST_VAL_LOSS_MODEL_FILENAME,
    CHECKPOINT_FILENAME,
    load_checkpoint,
)
from tune_flow.training.restore import RestoredRun, load_run

# Source draw k of the selection comes from SELECTION_SEED + k: never a trial's seed, nor the
# in-trial evaluation's (4321), so the selection is not judged on the draw the search ranked by.
SELECTION_SEED = 98_765
DEFAULT_DRAWS = 3
# Generated points per draw: four per validation point, at most MAX_SAMPLES. Against an evenly
# spread split (`split: hilbert`) the generated side's own noise decides close calls: one draw of
# as many points as the split scattered a candidate's W2 by 6-8% from draw to draw (median over
# the candidates of two searches), four times as many by 3-4%, and the pick moved from +19.8% and
# +9.4% of the best to the best on both (benchmarks/RESULTS.md section 22). Against a random split
# the reference's own noise dominates and more generated points changed little (section 18).
MAX_SAMPLES = 5_000
SAMPLES_PER_REFERENCE_POINT = 4
# Only the candidates within this much (relative) of the best first draw get the other draws: the
# solver's time grows with the points, and the rest are out of the running (replayed on two kept
# searches, section 22: the same regret as every candidate on every draw, at half the cost).
CLOSE_CALL = 0.05
# The solver the selection samples with (a search ranked by a few-step metric such as
# ``w2_4steps`` is judged at its own steps instead). RK4 with 10 steps is 40 network evaluations
# against the in-trial default's 100 (Euler), and nearer the dopri5 a user samples with: replayed
# on four kept searches it picked the same weights as Euler with 100 steps at 35-44% of the time
# (benchmarks/RESULTS.md section 24), which was most of the selection's cost.
SELECTION_SOLVER = Solver("rk4", 10)
VALIDATION_SPLIT = "the validation split"  # the reference unless the user gives one
LATEST = "latest"
BEST_VAL_LOSS = "best_val_loss"
# The data fields that decide the validation split in original units (normalize too: the source
# pool a trial draws from is in its own normalised units).
_DATA_FIELDS = (
    "dataset", "source", "n_samples", "val_size", "test_size", "train_size", "data_seed",
    "split", "normalize", "stats_path",
)  # fmt: skip


@dataclass(frozen=True)
class Candidate:
    """One set of weights of a trial: ``weights`` says which (``best_<metric>``, ``latest``,
    ``best_val_loss``), ``path`` is the file holding them, ``epoch`` when they were taken."""

    trial_id: str
    weights: str
    path: Path
    epoch: int


@dataclass
class CandidateScore:
    """A candidate's ``metric`` on each source draw (``values``), ``n`` generated points each."""

    candidate: Candidate
    metric: str
    values: list[float]
    n: int
    floor: float

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values) if self.values else math.inf

    @property
    def std(self) -> float:
        """Spread over the draws; NaN when some draw gave no finite score (a diverged model)."""
        if not all(math.isfinite(v) for v in self.values):
            return math.nan
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

    def scored(self) -> ScoredMetric:
        return ScoredMetric(self.metric, self.mean, self.n, self.floor)


@dataclass
class Selection:
    """Every candidate's score, best first; ``chosen`` is the first."""

    metric: str
    draws: int
    reference_points: int
    solver: str
    seconds: float
    scores: list[CandidateScore] = field(default_factory=list)
    close_call: float = CLOSE_CALL
    reference: str = VALIDATION_SPLIT  # what the candidates were scored against

    @property
    def chosen(self) -> CandidateScore:
        return self.scores[0]

    def describe(self) -> str:
        """One line: what was scored, how, and what the data itself scores (the floor)."""
        first = self.chosen
        draws = f"{first.n} generated x {self.draws} paired source draws against"
        if self.draws > 1:
            close = sum(len(s.values) > 1 for s in self.scores)
            draws = (
                f"{first.n} generated x {self.draws} paired source draws for the {close} within "
                f"{self.close_call:.0%} of the best after the first draw, 1 for the rest; against"
            )
        return (
            f"final selection: {len(self.scores)} candidate weights of "
            f"{len({s.candidate.trial_id for s in self.scores})} trial(s) by {self.metric} against "
            f"{self.reference} ({draws} {self.reference_points} points; the data itself scores "
            f"{first.floor:.4g}), {self.solver}, {self.seconds:.1f} s"
        )

    def table(self) -> str:
        """The candidates, best first: trial, which weights, epoch, mean +- std over the draws."""
        lines = [["trial", "weights", "epoch", f"{self.metric} (mean +- std)", "x floor"]]
        for score in self.scores:
            lines.append(
                [
                    score.candidate.trial_id,
                    score.candidate.weights,
                    str(score.candidate.epoch),
                    f"{score.mean:.4g} +- {score.std:.2g}"
                    if len(score.values) > 1
                    else f"{score.mean:.4g} (1 draw)",
                    f"{score.scored().over_floor:.2f}",
                ]
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
        return "\n".join(
            "  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
            for line in lines
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "split": "validation" if self.reference == VALIDATION_SPLIT else "reference file",
            "reference": self.reference,
            "draws": self.draws,
            "close_call": self.close_call,
            "reference_points": self.reference_points,
            "solver": self.solver,
            "seconds": round(self.seconds, 2),
            "candidates": [
                {
                    "trial_id": s.candidate.trial_id,
                    "weights": s.candidate.weights,
                    "epoch": s.candidate.epoch,
                    "path": str(s.candidate.path),
                    "mean": s.mean,
                    "std": s.std,
                    "values": s.values,
                    "n": s.n,
                    "floor": s.floor,
                }
                for s in self.scores
            ],
        }


def trial_candidates(trial_id: str, checkpoint_dir: Path) -> list[Candidate]:
    """The candidate weights in a trial's latest checkpoint directory: ``best_model.pt`` (best
    by the search metric), ``checkpoint.pt`` (the latest EMA weights), ``best_val_loss_model.pt``
    (when the search ranks by another metric). Weights of one epoch are one candidate."""
    found: dict[int, Candidate] = {}
    for filename in (CHECKPOINT_FILENAME, BEST_MODEL_FILENAME, BEST_VAL_LOSS_MODEL_FILENAME):
        path = Path(checkpoint_dir) / filename
        if not path.is_file():
            continue
        state = load_checkpoint(path)
        epoch = int(state["epoch"])
        if filename == CHECKPOINT_FILENAME:
            weights = LATEST
        elif filename == BEST_VAL_LOSS_MODEL_FILENAME:
            weights = BEST_VAL_LOSS
        else:
            weights = f"best_{state.get('metric', 'val_loss')}"
        found.setdefault(epoch, Candidate(trial_id, weights, path, epoch))
    return sorted(found.values(), key=lambda c: -c.epoch)


def select_final_model(
    candidates: list[Candidate],
    metric: str = "w2",
    draws: int = DEFAULT_DRAWS,
    max_samples: int = MAX_SAMPLES,
    device: str = "cpu",
    close_call: float = CLOSE_CALL,
    steps: int | None = None,
    reference: torch.Tensor | None = None,
    reference_name: str = "the reference file",
) -> Selection:
    """Score every candidate (see the module docstring) and sort them best first (lowest mean
    ``metric``, ``w2`` or ``energy_distance``). Every candidate gets the first source draw; those
    whose score is within ``close_call`` (relative) of the best first score get the other
    ``draws - 1`` too and are ranked first, by their mean; the rest follow by their one score.
    Samples with :data:`SELECTION_SOLVER`, or with ``steps`` steps of each run's ``eval_method``
    when given (a search ranked by quality at few steps). Not dopri5: on a moons search
    (benchmarks/RESULTS.md section 16) every rule that sampled with it picked further from the
    best than the same rule with a fixed-step solver, and its cost depends on the model.

    ``reference``: (m, D) float64 points in original units to score against instead of each
    run's validation split (``reference_name`` says what they are in the printed line): a
    user's independent draw of the data (module docstring). Against it the candidates are
    sampled with each run's own sampling solver (dopri5 by default, what the user samples
    with), unless ``steps`` is given: against such a reference RK4's discretisation error was
    what was left to mislead -- it put one trial's epoch-75 weights 7% ahead of its latest,
    which dopri5 and the truth put 2% and 5% behind; with dopri5 no trial of the nine searches
    handed on weights more than 3% worse than its latest or best-by-val_loss ones
    (benchmarks/RESULTS.md section 28). Against the validation split dopri5 did not help (its
    regret +9.9% at worst, one trial +7.1%) at twice the time, so RK4 stays there."""
    if not candidates:
        raise ValueError("final selection needs at least one candidate")
    started = time.monotonic()
    data_cache: dict[tuple, Any] = {}
    scores, solver, reference_points = [], "", 0
    for candidate in candidates:
        score, solver, reference_points = _scored(
            candidate, metric, range(1), max_samples, device, data_cache, steps, reference
        )
        scores.append(score)
    finite = [s.values[0] for s in scores if math.isfinite(s.values[0])]
    lead = min(finite) if finite else math.inf

    def is_close(score: CandidateScore) -> bool:
        return score.values[0] <= lead * (1 + close_call)

    if draws > 1:
        for score in filter(is_close, scores):
            more, _, _ = _scored(
                score.candidate,
                metric,
                range(1, draws),
                max_samples,
                device,
                data_cache,
                steps,
                reference,
            )
            score.values += more.values
    # The close calls first, by their mean; then the rest. Ties keep the candidates' order.
    scores.sort(key=lambda s: (not is_close(s), s.mean if math.isfinite(s.mean) else math.inf))
    return Selection(
        metric, draws, reference_points, solver, time.monotonic() - started, scores, close_call,
        VALIDATION_SPLIT if reference is None else reference_name,
    )  # fmt: skip


def _scored(
    candidate: Candidate,
    metric: str,
    draws: range,
    max_samples: int,
    device: str,
    data_cache: dict[tuple, Any],
    steps: int | None = None,
    given: torch.Tensor | None = None,
) -> tuple[CandidateScore, str, int]:
    """``candidate``'s ``metric`` on the selection's source draws ``draws`` (paired: draw k is
    the same for every candidate) against ``given`` or its validation split, the solver's
    description and the reference's size."""
    run = load_run(candidate.path, device)
    data, reference, samples, floor = _validation(run, metric, max_samples, data_cache, given)
    ranking_solver = selection_solver(run, steps, given is not None)
    pool = None if data.x_0_val is None else data.x_0_val.to(run.device)
    x_0 = torch.cat(
        [
            evaluation_source_draw(samples, run.shape, SELECTION_SEED + k, run.device, pool)
            for k in draws
        ]
    )
    # One solve for all draws: a small network's cost is per call more than per point.
    generated = sample_with(run.model, x_0, ranking_solver, run.stats).double()
    values = [
        sample_metrics(part, reference, (metric,))[metric] for part in generated.split(samples)
    ]
    score = CandidateScore(candidate, metric, values, samples, floor)
    return score, ranking_solver.describe(), len(reference)


def selection_solver(run: RestoredRun, steps: int | None, given_reference: bool) -> Solver:
    """What the selection samples ``run`` with: ``steps`` steps of its ``eval_method`` (a search
    ranked at few steps), else its own sampling solver against a reference the user gave, else
    :data:`SELECTION_SOLVER` (see :func:`select_final_model` for why)."""
    if steps is not None:
        return Solver(run.config.eval_method, steps)
    return run.config.solver if given_reference else SELECTION_SOLVER


def _validation(
    run: RestoredRun,
    metric: str,
    max_samples: int,
    cache: dict[tuple, Any],
    given: torch.Tensor | None = None,
) -> tuple[FlowData, torch.Tensor, int, float]:
    """The run's data, the reference in original units (``given``, else its validation split),
    the points to generate per draw and the metric's floor there (as many points of the data
    itself against it, :func:`~tune_flow.data.floor_points`), built once per data
    configuration."""
    key = tuple(str(getattr(run.config, name)) for name in _DATA_FIELDS)
    if key not in cache:
        data = run.data
        reference = data.stats.denormalize(data.x_1_val).double() if given is None else given
        reference = reference.reshape(len(reference), *run.shape)
        samples = min(max_samples, SAMPLES_PER_REFERENCE_POINT * len(reference))
        # The data's own score with as many points (fewer only when the training split is
        # smaller: the floor is then a little high).
        floor = sample_metrics(
            floor_points(run.config, data, samples).double(), reference, (metric,)
        )[metric]
        cache[key] = (data, reference, samples, floor)
    return cache[key]
