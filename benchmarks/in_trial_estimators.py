"""Which estimate picks the best model among close ones? Regret at the top end.

    python benchmarks/in_trial_estimators.py EXPERIMENT_DIR DATASET [--points 10000] [--repeats 5]

EXPERIMENT_DIR is a finished search that kept every trial's checkpoints (``--top-k 100000``, as
``benchmarks/selection_regret.py --keep DIR`` leaves them), DATASET the built-in dataset its data
file was drawn from. Every candidate weight of every trial is scored by the truth
(``selection_regret.truths``: exact W2 (POT) of ``--points`` dopri5 samples from a quasi-random
source draw against as many fresh points of the true distribution, mean of 3 paired draws for
the contenders). Then each estimator below picks its best candidate, ``--repeats`` times with
other source draws, and its regret is W2(picked) / W2(best candidate) - 1. What an estimator
sees is what a trial sees: the validation split (in original units) and Euler with 100 steps.
``--qmc`` runs the ``q_`` estimators (quasi-random source draws, as the search now draws; the
training-split ones included), ``--qmc-all`` three more; each run's values are kept in
EXPERIMENT_DIR/estimates_<group>.json.

    w2_500           W2, 500 generated vs the first 500 validation points (the shipped default)
    w2_val           W2, as many generated points as the validation split has, against all of it
    w2_500_x3        the mean of w2_500 over 3 paired source draws
    w2_val_x3        the mean of w2_val over 3 paired source draws (the final selection's rule)
    w2_train_2500    W2, 2500 generated vs 2500 training points (a larger reference than the
                     validation split; the model trained on those points)
    energy_train_5k  unbiased energy distance, 5000 generated vs 5000 training points
    sinkhorn_val     debiased Sinkhorn divergence (geomloss, p=2, blur 0.01), n as w2_val
    energy_u_val     unbiased energy distance (U-statistic within each set), n as w2_val

and the selection rules of section 16 (dopri5, as the search's selection sampled then):

    sel_w2_val       W2 of 2x the validation split's size against it
    sel_energy_val   unbiased energy distance, same points
    sel_w2_train     W2 of as many points as the training split has (at most 10k) against it
    sel_energy_train unbiased energy distance, same points

Prints per estimator the median and worst regret over the repeats, and seconds per evaluation.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def energy_unbiased(x, y) -> float:  # type: ignore[no-untyped-def]
    """2E|X-Y| - E|X-X'| - E|Y-Y'| with the within-set means over distinct pairs only; in chunks
    of 2500 rows (an 11k x 11k distance matrix would take 1 GB)."""
    import torch

    def total(a, b) -> float:  # type: ignore[no-untyped-def]
        return float(sum(torch.cdist(part, b).sum() for part in a.split(2500)))

    n, m = len(x), len(y)
    return 2 * total(x, y) / (n * m) - total(x, x) / (n * (n - 1)) - total(y, y) / (m * (m - 1))


def _sinkhorn(x, y) -> float:  # type: ignore[no-untyped-def]
    from geomloss import SamplesLoss

    return float(SamplesLoss("sinkhorn", p=2, blur=0.01, debias=True)(x, y))


def _quasi_random_estimates(run, reference, repeat, timed, out, timings, every: bool):  # type: ignore[no-untyped-def]
    """The selection's candidates with scrambled Sobol source draws (what the search now uses),
    Euler 100 as in a trial unless named ``_dopri5``; ``every``: also the three measured no
    better on scurve-0 (RESULTS.md 18)."""
    import torch

    from tune_flow.evaluation.metrics import wasserstein2
    from tune_flow.evaluation.quasi_random import evaluation_source_draw
    from tune_flow.evaluation.sampling import Solver, sample_with

    euler = Solver("euler", 100)
    train = run.stats.denormalize(run.data.x_1_train[:10_000]).double()

    def draw(n: int, k: int, solver=euler) -> torch.Tensor:  # type: ignore[no-untyped-def]
        x_0 = evaluation_source_draw(n, run.shape, 10_000 * repeat + k, "cpu", run.data.x_0_val)
        return sample_with(run.model, x_0, solver, run.stats).double()

    n_val = len(reference)
    timed("q_w2_500", lambda: wasserstein2(draw(500, 0), reference[:500]))
    timed("q_w2_val", lambda: wasserstein2(draw(n_val, 0), reference))
    timed(
        "q_w2_val_x3",
        lambda: statistics.fmean(wasserstein2(draw(n_val, k), reference) for k in range(3)),
    )
    if every:
        timed("q_w2_val_4x", lambda: wasserstein2(draw(4 * n_val, 0), reference))
        timed("q_w2_val_dopri5", lambda: wasserstein2(draw(n_val, 0, run.config.solver), reference))
        timed("q_energy_val_4x", lambda: energy_unbiased(draw(4 * n_val, 0), reference))
    timed("q_w2_train_5k", lambda: wasserstein2(draw(5000, 0), train[:5000]))
    timed("q_energy_train_5k", lambda: energy_unbiased(draw(5000, 0), train[:5000]))
    timed("q_energy_train_2k", lambda: energy_unbiased(draw(2000, 0), train[:2000]))
    everything = torch.cat([train, reference])
    timed("q_energy_trainval", lambda: energy_unbiased(draw(5000, 0), everything))
    return {**out, **{f"{k}_seconds": v for k, v in timings.items()}}


def estimates(path: str, repeat: int, group: str = "full") -> dict[str, float]:
    """Every estimator of ``group`` (``full``, ``quick``: the W2 ones, ``qmc``, ``qmc_all``)
    for the weights in ``path``, on source draws of ``repeat``."""
    import torch

    from tune_flow.evaluation.metrics import wasserstein2
    from tune_flow.evaluation.sampling import Solver, sample_with
    from tune_flow.training.restore import load_run

    torch.set_num_threads(1)
    run = load_run(Path(path), "cpu")
    reference = run.stats.denormalize(run.data.x_1_val).double()
    euler = Solver("euler", 100)

    def draw(n: int, k: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(10_000 * repeat + k)
        x_0 = run.draw_source(n, generator, run.data.x_0_val)
        return sample_with(run.model, x_0, euler, run.stats).double()

    out: dict[str, float] = {}
    timings: dict[str, float] = {}

    def timed(name: str, fn) -> None:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        out[name] = fn()
        timings[name] = time.perf_counter() - started

    n_val = len(reference)
    if group.startswith("qmc"):
        every = group == "qmc_all"
        return _quasi_random_estimates(run, reference, repeat, timed, out, timings, every)
    timed("w2_500", lambda: wasserstein2(draw(500, 0), reference[:500]))
    timed("w2_val", lambda: wasserstein2(draw(n_val, 0), reference))
    timed(
        "w2_500_x3",
        lambda: statistics.fmean(wasserstein2(draw(500, k), reference[:500]) for k in range(3)),
    )
    timed(
        "w2_val_x3",  # the final selection's rule
        lambda: statistics.fmean(wasserstein2(draw(n_val, k), reference) for k in range(3)),
    )
    train_ref = run.stats.denormalize(run.data.x_1_train).double()
    timed("w2_train_2500", lambda: wasserstein2(draw(2500, 0), train_ref[:2500]))
    timed("energy_train_5k", lambda: energy_unbiased(draw(5000, 0), train_ref[:5000]))
    if group == "quick":
        return {**out, **{f"{k}_seconds": v for k, v in timings.items()}}
    timed("sinkhorn_val", lambda: _sinkhorn(draw(n_val, 0).float(), reference.float()))
    timed("energy_u_val", lambda: energy_unbiased(draw(n_val, 0), reference))

    # Selection rules: dopri5 (the run's solver), as the search's final selection samples.
    def draw_final(n: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(20_000 + repeat)
        x_0 = run.draw_source(n, generator, run.data.x_0_val)
        return sample_with(run.model, x_0, run.config.solver, run.stats).double()

    train = run.stats.denormalize(run.data.x_1_train[:10_000]).double()
    started = time.perf_counter()
    val_points, train_points = draw_final(2 * n_val), draw_final(len(train))
    sampling = time.perf_counter() - started
    timed("sel_w2_val", lambda: wasserstein2(val_points, reference))
    timed("sel_energy_val", lambda: energy_unbiased(val_points, reference))
    timed("sel_w2_train", lambda: wasserstein2(train_points, train))
    timed("sel_energy_train", lambda: energy_unbiased(train_points[:5000], train[:5000]))
    for name in ("sel_w2_val", "sel_energy_val", "sel_w2_train", "sel_energy_train"):
        timings[name] += sampling / 2  # each pair of rules shares one sampling
    return {**out, **{f"{k}_seconds": v for k, v in timings.items()}}


def main() -> None:
    from selection_regret import latest_checkpoint, truth_cache, truths

    from tune_flow.selection import trial_candidates

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", type=Path)
    parser.add_argument("dataset")
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="the W2 estimators only (no Sinkhorn, energy, dopri5)"
    )
    parser.add_argument(
        "--qmc", action="store_true", help="the estimators with quasi-random source draws"
    )
    parser.add_argument(
        "--qmc-all", action="store_true", help="--qmc and the three measured no better there"
    )
    args = parser.parse_args()
    candidates = []
    for trial_dir in sorted(p for p in args.experiment.iterdir() if p.is_dir()):
        checkpoint = latest_checkpoint(trial_dir)
        if checkpoint is not None:
            candidates += trial_candidates(trial_dir.name, checkpoint)
    paths = [str(c.path) for c in candidates]
    # The truth is the expensive part (about a minute per candidate): kept beside the experiment.
    truth = truths(paths, args.dataset, args.points, truth_cache(args.experiment, args.points))
    group = "qmc_all" if args.qmc_all else "qmc" if args.qmc else "quick" if args.quick else "full"
    with ProcessPoolExecutor(2) as pool:
        per_repeat = [
            list(pool.map(estimates, paths, [r] * len(paths), [group] * len(paths)))
            for r in range(args.repeats)
        ]
    dump = args.experiment / f"estimates_{group}.json"
    dump.write_text(json.dumps({"paths": paths, "truth": truth, "repeats": per_repeat}, indent=1))
    best = min(truth)
    names = [k for k in per_repeat[0][0] if not k.endswith("_seconds")]
    print(f"{len(candidates)} candidates of {args.experiment.name}; best W2 {best:.4f} "
          f"({args.points} dopri5 samples vs {args.points} fresh points)")  # fmt: skip
    print(f"{'estimator':<14} median regret  worst regret  s/eval")
    for name in names:
        regrets, latest_only = [], []
        for values in per_repeat:
            picked = min(range(len(values)), key=lambda i: values[i][name])
            regrets.append(truth[picked] / best - 1)
            latest = [i for i, c in enumerate(candidates) if c.weights == "latest"]
            picked = min(latest, key=lambda i: values[i][name])
            latest_only.append(truth[picked] / best - 1)
        seconds = statistics.fmean(v[f"{name}_seconds"] for r in per_repeat for v in r)
        print(
            f"{name:<14} {statistics.median(regrets):>+13.1%}  {max(regrets):>+12.1%}  "
            f"{seconds:>6.2f}   latest only: {statistics.median(latest_only):+.1%} / "
            f"{max(latest_only):+.1%}"
        )


if __name__ == "__main__":
    main()
