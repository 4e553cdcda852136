"""How large must the held-out reference be for the final selection to pick the best weights?

    python benchmarks/reference_size.py EXPERIMENT_DIR DATASET [--sizes 1250 2500 5000]
        [--repeats 3] [--margin 2.0] [--solver trial|final] [--stratified]

EXPERIMENT_DIR is a kept search (``benchmarks/selection_regret.py --keep DIR``) whose truth is
cached beside it (``benchmarks/in_trial_estimators.py DIR DATASET --qmc`` computes it). The final
selection scores each candidate by W2 against the validation split; with the OT-CFM tasks' 1250
validation points it picked 17% (median) and 59% (worst) from the best candidate (RESULTS.md
18b). This replays that rule -- as many generated points as reference points, 3 paired Sobol
source draws, the run's in-trial solver (Euler 100) -- against references of other sizes: a
random ``m``-point subset of ``10 * m`` fresh rows of the true distribution, as a 10% validation
split of a file of that size would be (for moons this matters: ``make_moons`` spaces its rows
evenly, a split does not). Each repeat draws another reference and other source draws.
``--solver final`` samples with the run's final solver (dopri5, as the truth and the user's
samples) instead of the in-trial one; ``--stratified`` takes the reference as the truth takes its
fresh points (``selection_regret.fresh_points``) instead of as a random split.

Only the candidates whose truth is within ``--margin`` of the best are scored (the others need
an error of more than ``margin - 1`` to be picked); the printed regrets are over them, for every
candidate of every trial ("all") and for the 5 trials the search's own selection considered
("top 5", from EXPERIMENT_DIR/selection.json). Values kept in
EXPERIMENT_DIR/reference_size.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

REFERENCE_SEED = 717_171  # never the data file's, the truth's or the selection's
DRAWS = 3  # the shipped selection's paired source draws
SPLIT_FRACTION = 10  # the reference is 1 in 10 rows of its file, as the OT-CFM tasks' split


def reference(  # type: ignore[no-untyped-def]
    dataset: str, size: int, repeat: int, stratified: bool = False, systematic: bool = False
):
    """A validation split of ``size`` rows of a fresh file of ``SPLIT_FRACTION * size`` rows:
    random rows, or with ``systematic`` every tenth row along a Hilbert curve (as ``split:
    hilbert`` takes it); or ``stratified``: ``size`` fresh points drawn as the truth draws them."""
    import numpy as np
    import torch
    from selection_regret import fresh_points

    from tune_flow.data.space_filling import hilbert_order
    from tune_flow.data.splits import systematic_sample
    from tune_flow.data.toy import generate

    seed = REFERENCE_SEED + 1000 * repeat + size
    if stratified:
        return torch.from_numpy(fresh_points(dataset, size, seed)).double()
    rows = generate(dataset, SPLIT_FRACTION * size, seed)
    rng = np.random.default_rng(seed)
    if systematic:
        chosen = systematic_sample(hilbert_order(rows), size, rng)
    else:
        chosen = rng.choice(len(rows), size, replace=False)
    return torch.from_numpy(rows[chosen]).double()


def key(size: int, solver: str, stratified: bool) -> str:
    """Where a setting's values are kept: ``1250``, ``1250/final``, ``1250/stratified``..."""
    return "/".join([str(size)] + ["final"] * (solver == "final") + ["stratified"] * stratified)


def selection_samples(run, size: int, repeat: int, k: int, integrate):  # type: ignore[no-untyped-def]
    """The shipped selection's generated points (size, *shape), float64: paired source draw
    ``k`` of ``repeat`` (scrambled Sobol, or the run's source pool) carried by ``integrate``."""
    from tune_flow.evaluation.quasi_random import evaluation_source_draw
    from tune_flow.evaluation.sampling import sample_with
    from tune_flow.selection.final_selection import SELECTION_SEED

    seed = SELECTION_SEED + DRAWS * repeat + k
    x_0 = evaluation_source_draw(size, run.shape, seed, "cpu", run.data.x_0_val)
    return sample_with(run.model, x_0, integrate, run.stats).double()


def score(
    path: str, dataset: str, sizes: list[int], repeat: int, solver: str, stratified: bool
) -> dict[str, list[float]]:
    """The selection's W2 of the weights in ``path`` against each size's reference of
    ``repeat``: one value per source draw."""
    import torch

    from tune_flow.evaluation.floor import sample_metrics
    from tune_flow.evaluation.sampling import Solver
    from tune_flow.training.restore import load_run

    torch.set_num_threads(1)
    run = load_run(Path(path), "cpu")
    integrate = (
        run.config.solver
        if solver == "final"
        else Solver(run.config.eval_method, run.config.eval_steps[0])
    )
    out: dict[str, list[float]] = {}
    for size in sizes:
        target = reference(dataset, size, repeat, stratified)
        out[key(size, solver, stratified)] = [
            sample_metrics(selection_samples(run, size, repeat, k, integrate), target, ("w2",))[
                "w2"
            ]
            for k in range(DRAWS)
        ]
    return out


def regrets(picks: list[str], truth: dict[str, float]) -> str:
    best = min(truth.values())
    values = sorted(100 * (truth[p] / best - 1) for p in picks)
    return f"+{statistics.median(values):.1f}% / +{values[-1]:.1f}%"


def main() -> None:
    from selection_regret import TRUTH_DRAWS, truth_cache

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", type=Path)
    parser.add_argument("dataset")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1250, 2500, 5000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--margin", type=float, default=2.0)
    parser.add_argument("--points", type=int, default=10_000, help="the truth's size")
    parser.add_argument("--solver", choices=("trial", "final"), default="trial")
    parser.add_argument("--stratified", action="store_true")
    args = parser.parse_args()

    known = json.loads(truth_cache(args.experiment, args.points).read_text())
    truth = {p: statistics.fmean(draws.values()) for p, draws in known.items()}
    best = min(truth.values())
    contenders = sorted(p for p, t in truth.items() if t <= args.margin * best)
    # The truth was cached under the path the search ran at; keep what is still there.
    contenders = [p for p in contenders if Path(p).is_file()]
    cache = args.experiment / "reference_size.json"
    values: dict[str, dict[str, dict[str, list[float]]]] = (
        json.loads(cache.read_text()) if cache.is_file() else {}
    )
    keys = {size: key(size, args.solver, args.stratified) for size in args.sizes}
    jobs = [
        (p, r)
        for p in contenders
        for r in range(args.repeats)
        if not all(k in values.get(p, {}).get(str(r), {}) for k in keys.values())
    ]
    settings = (args.dataset, args.sizes)
    with ProcessPoolExecutor(2) as pool:
        arguments = [(p, *settings, r, args.solver, args.stratified) for p, r in jobs]
        for (path, r), result in zip(
            jobs,
            pool.map(score, *zip(*arguments, strict=True)) if jobs else [],
            strict=True,
        ):
            values.setdefault(path, {}).setdefault(str(r), {}).update(result)
            cache.write_text(json.dumps(values, indent=1))

    selection = json.loads((args.experiment / "selection.json").read_text())
    top = {c["trial_id"] for c in selection["candidates"]}
    pools = (  # all candidates, the top-5 trials' (what the search's selection saw), latest only
        contenders,
        [p for p in contenders if any(f"_{t}_" in p for t in top)],
        [p for p in contenders if p.endswith("checkpoint.pt")],
    )
    print(
        f"{args.experiment.name}: {len(contenders)} candidates within {args.margin}x of the best "
        f"(truth {best:.4f}: exact W2, {args.points} dopri5 samples vs fresh points, "
        f"mean of {TRUTH_DRAWS} draws for contenders); {args.repeats} repeats; "
        f"{args.solver} solver, {'stratified' if args.stratified else 'split-like'} reference"
    )
    print("reference points | all candidates (median / worst) | top-5 trials | latest only")
    for size in args.sizes:
        row = [f"{size:>16}"]
        for pool_paths in pools:
            picks = [
                min(pool_paths, key=lambda p: statistics.fmean(values[p][str(r)][keys[size]]))
                for r in range(args.repeats)
            ]
            row.append(regrets(picks, {p: truth[p] for p in contenders}))
        print(" | ".join(row))


if __name__ == "__main__":
    main()
