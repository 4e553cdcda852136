"""Which estimator should the final selection rank candidates by? Regret against the truth.

    python benchmarks/selection_estimators.py EXPERIMENT_DIR DATASET [--size 1250]
        [--repeats 3] [--margin 2.0]

EXPERIMENT_DIR is a kept search (``benchmarks/selection_regret.py --keep DIR``) whose truth is
cached beside it (``benchmarks/in_trial_estimators.py DIR DATASET --qmc``). The shipped final
selection ranks candidates by exact W2 between as many generated points as validation points and
the validation split, mean of 3 paired Sobol source draws; against an i.i.d. reference that
ranking disagrees with the truth's systematically (RESULTS.md section 19), so this compares it
with estimators whose bias should not depend on the model that way, all on the same generated
points and the same split-like reference (``reference_size.reference``: ``--size`` rows of a
fresh file ten times larger), 3 repeats with other references and source draws:

    w2              the shipped rule (exact W2, POT)
    w2_iid_x3/x10   W2 of i.i.d. source draws (the reference's kind), mean of 3 / 10 draws
    sinkhorn_F      debiased Sinkhorn divergence (geomloss), blur = F x the reference's scale
    mmd_F           unbiased Gaussian-kernel MMD^2, bandwidth = F x the reference's scale
    energy          unbiased energy distance

The scale is the reference's mean coordinate standard deviation. Each rule picks the candidate
with the lowest mean; regret = truth(pick) / truth(best) - 1, as in ``reference_size.py``.
Values kept in EXPERIMENT_DIR/selection_estimators.json.
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

FRACTIONS = (0.02, 0.05, 0.1, 0.2)  # blur / bandwidth over the reference's scale
IID_DRAWS = 10
IID_SEED = 5_151_515  # never the selection's, the reference's or the truth's


def _mmd2_unbiased(x, y, bandwidth: float) -> float:  # type: ignore[no-untyped-def]
    """Unbiased (U-statistic) MMD^2 with k(a, b) = exp(-|a - b|^2 / (2 h^2))."""
    import torch

    def mean_kernel(a, b, same: bool) -> float:  # type: ignore[no-untyped-def]
        k = torch.exp(-torch.cdist(a, b).square() / (2 * bandwidth**2))
        if same:
            n = len(a)
            return float((k.sum() - k.diagonal().sum()) / (n * (n - 1)))
        return float(k.mean())

    return mean_kernel(x, x, True) + mean_kernel(y, y, True) - 2 * mean_kernel(x, y, False)


def score(path: str, dataset: str, size: int, repeat: int) -> dict[str, list[float]]:
    """Every estimator's values (one per source draw) for the weights in ``path``."""
    import torch
    from geomloss import SamplesLoss
    from in_trial_estimators import energy_unbiased
    from reference_size import DRAWS, reference, selection_samples

    from tune_flow.evaluation.floor import sample_metrics
    from tune_flow.evaluation.sampling import Solver, sample_with
    from tune_flow.training.restore import load_run

    torch.set_num_threads(1)
    run = load_run(Path(path), "cpu")
    solver = Solver(run.config.eval_method, run.config.eval_steps[0])
    target = reference(dataset, size, repeat)
    scale = float(target.std(0).mean())
    out: dict[str, list[float]] = {}
    for k in range(DRAWS):
        generated = selection_samples(run, size, repeat, k, solver)
        out.setdefault("w2", []).append(sample_metrics(generated, target, ("w2",))["w2"])
        out.setdefault("energy", []).append(energy_unbiased(generated, target))
        for f in FRACTIONS:
            loss = SamplesLoss("sinkhorn", p=2, blur=f * scale, debias=True, scaling=0.9)
            out.setdefault(f"sinkhorn_{f}", []).append(float(loss(generated, target)))
            out.setdefault(f"mmd_{f}", []).append(_mmd2_unbiased(generated, target, f * scale))
    generator = torch.Generator().manual_seed(IID_SEED + repeat)
    for _ in range(IID_DRAWS):
        x_0 = torch.randn((size, *run.shape), generator=generator)
        generated = sample_with(run.model, x_0, solver, run.stats).double()
        out.setdefault("w2_iid", []).append(sample_metrics(generated, target, ("w2",))["w2"])
    return out


def main() -> None:
    from reference_size import DRAWS, regrets
    from selection_regret import truth_cache

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", type=Path)
    parser.add_argument("dataset")
    parser.add_argument("--size", type=int, default=1250)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--margin", type=float, default=2.0)
    parser.add_argument("--points", type=int, default=10_000, help="the truth's size")
    args = parser.parse_args()

    known = json.loads(truth_cache(args.experiment, args.points).read_text())
    truth = {p: statistics.fmean(draws.values()) for p, draws in known.items()}
    best = min(truth.values())
    contenders = sorted(
        p for p, t in truth.items() if t <= args.margin * best and Path(p).is_file()
    )
    cache = args.experiment / "selection_estimators.json"
    values: dict[str, dict[str, dict[str, list[float]]]] = (
        json.loads(cache.read_text()) if cache.is_file() else {}
    )
    name = str(args.size)
    jobs = [
        (p, r)
        for p in contenders
        for r in range(args.repeats)
        if name not in values.get(p, {}).get(str(r), {})
    ]
    with ProcessPoolExecutor(2) as pool:
        arguments = [(p, args.dataset, args.size, r) for p, r in jobs]
        results = pool.map(score, *zip(*arguments, strict=True)) if jobs else []
        for (path, r), result in zip(jobs, results, strict=True):
            values.setdefault(path, {}).setdefault(str(r), {})[name] = result
            cache.write_text(json.dumps(values, indent=1))

    estimators = {
        "w2": ("w2", DRAWS),
        "w2_iid_x3": ("w2_iid", 3),
        "w2_iid_x10": ("w2_iid", IID_DRAWS),
        "energy": ("energy", DRAWS),
        **{f"sinkhorn_{f}": (f"sinkhorn_{f}", DRAWS) for f in FRACTIONS},
        **{f"mmd_{f}": (f"mmd_{f}", DRAWS) for f in FRACTIONS},
    }
    pools = {"all": contenders, "latest": [p for p in contenders if p.endswith("checkpoint.pt")]}
    print(
        f"{args.experiment.name}: {len(contenders)} candidates within {args.margin}x of the best "
        f"(truth {best:.4f}); reference {args.size} split-like rows; {args.repeats} repeats"
    )
    print("estimator | all candidates (median / worst) | latest only")
    for label, (stored, draws) in estimators.items():
        row = [f"{label:>14}"]
        for paths in pools.values():
            picks = [
                min(paths, key=lambda p: statistics.fmean(values[p][str(r)][name][stored][:draws]))
                for r in range(args.repeats)
            ]
            row.append(regrets(picks, {p: truth[p] for p in contenders}))
        print(" | ".join(row))


if __name__ == "__main__":
    main()
