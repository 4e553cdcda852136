"""Can a validation split of this size tell the best candidates apart at all?

    python benchmarks/split_resolution.py EXPERIMENT_DIR DATASET [--references 20]
        [--size 1250] [--contenders 5]

EXPERIMENT_DIR is a kept search with its truth cached beside it (RESULTS.md sections 18-20).
Takes the truth's best candidate and its ``--contenders`` next ones, generates the shipped
selection's points once per candidate (3 paired Sobol draws, the in-trial solver: fixed, so only
the reference varies), and scores them by the shipped rule (mean W2 over the draws) against
``--references`` independent references of ``--size`` points: split-like (a random tenth of a
fresh file, as a user's validation split) and, for contrast, stratified as the truth's own fresh
points. For each contender it prints its truth gap to the best, the mean gap the selection sees
over the references (+- the standard error of that mean), the gap's spread from one reference to
the next, and the share of references on which the selection orders the pair as the truth does;
then, per kind of reference, the regret of picking the lowest of these candidates on each.
A user has one reference: where the mean gap is small against the spread, no estimator on that
split orders the pair reliably, however it is computed. Values kept in
EXPERIMENT_DIR/split_resolution.json.
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

FIRST_REFERENCE = 10  # reference_size.reference's repeat numbers 0-2 are the other benchmarks'


# Split-like (a random tenth of a fresh file), the same file's every tenth row along a Hilbert
# curve (``split: hilbert``), stratified as the truth: ``reference_size.reference``.
KINDS = ("iid", "systematic", "stratified")


def score(
    path: str, dataset: str, size: int, references: int, kinds: tuple[str, ...] = KINDS
) -> dict[str, list[float]]:
    """The shipped rule's score (mean W2 over the paired draws) of the weights in ``path``
    against each reference of each kind (see :func:`_reference`)."""
    import torch
    from reference_size import DRAWS, reference, selection_samples

    from tune_flow.evaluation.floor import sample_metrics
    from tune_flow.evaluation.sampling import Solver
    from tune_flow.training.restore import load_run

    torch.set_num_threads(1)
    run = load_run(Path(path), "cpu")
    solver = Solver(run.config.eval_method, run.config.eval_steps[0])
    generated = [selection_samples(run, size, 0, k, solver) for k in range(DRAWS)]
    out: dict[str, list[float]] = {kind: [] for kind in kinds}
    for r in range(FIRST_REFERENCE, FIRST_REFERENCE + references):
        for kind in out:
            target = reference(
                dataset, size, r, kind == "stratified", systematic=kind == "systematic"
            )
            out[kind].append(
                statistics.fmean(sample_metrics(g, target, ("w2",))["w2"] for g in generated)
            )
    return out


def describe(gaps: list[float], truth_gap: float) -> str:
    """Mean +- its standard error, spread per reference, share ordered as the truth (all %)."""
    mean, spread = statistics.fmean(gaps), statistics.stdev(gaps)
    right = sum((g > 0) == (truth_gap > 0) for g in gaps) / len(gaps)
    return f"{mean:+6.1f} +- {spread / len(gaps) ** 0.5:4.1f} | {spread:5.1f} | {100 * right:4.0f}%"


def main() -> None:
    from selection_regret import truth_cache

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", type=Path)
    parser.add_argument("dataset")
    parser.add_argument("--references", type=int, default=20)
    parser.add_argument("--size", type=int, default=1250)
    parser.add_argument("--contenders", type=int, default=5)
    parser.add_argument("--points", type=int, default=10_000, help="the truth's size")
    args = parser.parse_args()

    known = json.loads(truth_cache(args.experiment, args.points).read_text())
    truth = {p: statistics.fmean(d.values()) for p, d in known.items() if Path(p).is_file()}
    ranked = sorted(truth, key=truth.__getitem__)[: args.contenders + 1]
    cache = args.experiment / "split_resolution.json"
    values: dict[str, dict[str, list[float]]] = (
        json.loads(cache.read_text()) if cache.is_file() else {}
    )
    name = f"{args.size}x{args.references}"
    jobs = [
        (p, tuple(k for k in KINDS if k not in values.get(p, {}).get(name, {}))) for p in ranked
    ]
    jobs = [(p, kinds) for p, kinds in jobs if kinds]
    with ProcessPoolExecutor(2) as pool:
        n = len(jobs)
        results = pool.map(
            score,
            [p for p, _ in jobs],
            [args.dataset] * n,
            [args.size] * n,
            [args.references] * n,
            [kinds for _, kinds in jobs],
        )
        for (path, _), result in zip(jobs, results, strict=True):
            values.setdefault(path, {}).setdefault(name, {}).update(result)
            cache.write_text(json.dumps(values, indent=1))

    best = ranked[0]
    print(
        f"{args.experiment.name}: the truth's best {truth[best]:.4f} ({_label(best)}) against "
        f"its {args.contenders} next candidates; {args.references} references of {args.size} "
        "points each; gaps in % of the best's score, + = the contender scores worse"
    )
    print(
        "contender | truth gap | split-like: mean gap +- s.e. | per-reference spread | ordered "
        "right | the same, systematic | the same, stratified"
    )
    for path in ranked[1:]:
        truth_gap = 100 * (truth[path] / truth[best] - 1)
        columns = [f"{_label(path)} | {truth_gap:+6.1f}"]
        for kind in KINDS:
            mine, theirs = values[best][name][kind], values[path][name][kind]
            gaps = [100 * (t / m - 1) for m, t in zip(mine, theirs, strict=True)]
            columns.append(describe(gaps, truth_gap))
        print(" | ".join(columns))
    for kind in KINDS:
        picks = [
            min(ranked, key=lambda p, r=r: values[p][name][kind][r]) for r in range(args.references)
        ]
        regrets = sorted(100 * (truth[p] / truth[best] - 1) for p in picks)
        print(
            f"{kind}: the lowest of these {len(ranked)} on each reference is "
            f"+{statistics.median(regrets):.1f}% (median) / +{statistics.fmean(regrets):.1f}% "
            f"(mean) / +{regrets[-1]:.1f}% (worst) from the best; regrets {' '.join(f'{x:.1f}' for x in regrets)}"
        )


def _label(path: str) -> str:
    """``trial weights``, e.g. ``e2866e1e best_val_loss``."""
    trial = Path(path).parent.parent.name.split("_")[2]
    weights = {"checkpoint.pt": "latest", "best_model.pt": "best_w2"}.get(
        Path(path).name, "best_val_loss"
    )
    return f"{trial} {weights}"


if __name__ == "__main__":
    main()
