"""The final selection against a reference of the user's own, replayed on kept searches.

    python benchmarks/selection_reference.py EXPERIMENT [EXPERIMENT ...]
        [--reference stratified|iid|validation] [--points 5000] [--seed 626262] [--solver own|rk4]

Each EXPERIMENT is a search kept by ``benchmarks/selection_regret.py --keep DIR`` (its
selection.json names the candidate weights, its truth_w2_10000_stratified.json holds their
truth). The same candidates are selected again, as ``--selection-reference`` would, against
``--points`` fresh points of the dataset the directory is named after (``moons-2`` -> moons):
``stratified`` spreads the generator's own random parameter evenly (as a user would draw a
simulator's inputs from a stratified design; :func:`selection_regret.fresh_points`), ``iid`` is
a plain fresh draw, ``validation`` is the shipped default (the search's validation split, RK4).
The seed must differ from the truth's (``TRUTH_SEED`` + 1000 r) so the reference is not the
truth. ``--solver rk4`` forces the selection's RK4 with 10 steps where the reference otherwise
samples with each run's own solver (dopri5). Prints, per search and over all of them, the regret
(chosen truth / best truth of the search - 1) and every trial that hands on weights more than 3%
worse (by the truth) than its own latest or best-by-val_loss weights, and the selection's time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
PER_TRIAL_MARGIN = 0.03  # issue 21's per-trial target


def reference_points(dataset: str, kind: str, points: int, seed: int) -> torch.Tensor | None:
    from selection_regret import TRUTH_SEED, fresh_points

    from tune_flow.data.toy import generate

    if kind == "validation":
        return None
    if (seed - TRUTH_SEED) % 1000 in (0, 1) and seed >= TRUTH_SEED:
        raise SystemExit(f"--seed {seed} is one of the truth's draws; pick another")
    array = (
        fresh_points(dataset, points, seed)
        if kind == "stratified"
        else generate(dataset, points, seed)
    )
    return torch.from_numpy(np.asarray(array)).double()


def replay(experiment: Path, args: argparse.Namespace) -> tuple[float, list[tuple], float]:
    """(regret, the trials over the per-trial margin, seconds) of one kept search."""
    from tune_flow.selection import final_selection
    from tune_flow.selection.final_selection import Candidate, select_final_model

    recorded = json.loads((experiment / "selection.json").read_text())["candidates"]
    candidates = [
        Candidate(c["trial_id"], c["weights"], Path(c["path"]), c["epoch"]) for c in recorded
    ]
    truth = {
        path: statistics.fmean(draws.values())
        for path, draws in json.loads(
            (experiment / "truth_w2_10000_stratified.json").read_text()
        ).items()
    }
    dataset = experiment.name.split("-")[0]
    reference = reference_points(dataset, args.reference, args.points, args.seed)
    solver = final_selection.selection_solver
    if args.solver == "rk4":  # the RK4 of the validation split, against the reference too
        final_selection.selection_solver = lambda *_: final_selection.SELECTION_SOLVER
    try:
        selection = select_final_model(
            candidates, "w2", reference=reference, reference_name=args.reference
        )
    finally:
        final_selection.selection_solver = solver
    best = min(truth[str(c.path)] for c in candidates)
    regret = truth[str(selection.chosen.candidate.path)] / best - 1
    handed: dict[str, Candidate] = {}
    for score in selection.scores:  # best first
        handed.setdefault(score.candidate.trial_id, score.candidate)
    over = []
    for trial, chosen in handed.items():
        own = [
            truth[str(c.path)]
            for c in candidates
            if c.trial_id == trial and c.weights in ("latest", "best_val_loss")
        ]
        excess = truth[str(chosen.path)] / min(own) - 1
        if excess > PER_TRIAL_MARGIN:
            over.append((experiment.name, trial, chosen.weights, excess))
    print(
        f"{experiment.name:13s} regret {regret:+.1%} ({selection.chosen.candidate.trial_id} "
        f"{selection.chosen.candidate.weights}); trials over 3%: {len(over)} of {len(handed)}; "
        f"{selection.solver}, {selection.seconds:.0f} s",
        flush=True,
    )
    return regret, over, selection.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("experiments", nargs="+", type=Path)
    parser.add_argument(
        "--reference", choices=("stratified", "iid", "validation"), default="stratified"
    )
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=626_262)
    parser.add_argument("--solver", choices=("own", "rk4"), default="own")
    args = parser.parse_args()
    torch.set_num_threads(2)
    regrets, over, seconds = [], [], []
    for experiment in args.experiments:
        regret, trials, took = replay(experiment, args)
        regrets.append(regret)
        over += trials
        seconds.append(took)
    print(
        f"{args.reference} reference ({args.points} points, seed {args.seed}), solver "
        f"{args.solver}: regret median {statistics.median(regrets):+.1%}, worst "
        f"{max(regrets):+.1%}; trials over 3%: {len(over)}"
        + "".join(f" [{e} {t} {w} {x:+.1%}]" for e, t, w, x in over)
        + f"; selection {min(seconds):.0f}-{max(seconds):.0f} s"
    )


if __name__ == "__main__":
    main()
