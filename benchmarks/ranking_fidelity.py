"""Ranking fidelity: does the in-trial w2 rank trials like exact W2 on 10k test points?

    python benchmarks/ranking_fidelity.py [--space search_spaces/arch.yaml] [--num-samples 16] [--smoke-test]

One search ranked by the in-trial `w2` (the shipped evaluation defaults: eval_samples points,
eval_steps Euler steps, against the validation split). Then, for every trial, its best checkpoint
(the one trials.csv names) generates 10,000 points with 100 Euler steps, and exact W2 (POT) is
computed against 10,000 **test** points (the data is made large enough: n_samples 15000 with
test_size 10000). Prints both values per trial and Spearman's rank correlation between them.
The exact W2 of a 10k x 10k pair takes ~1 minute on one core here; two run at a time.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXACT_POINTS = 10_000
EXACT_STEPS = 100


def exact_w2(checkpoint: str, points: int) -> float:
    import torch

    from tune_flow.evaluation.judge import evaluate_samples
    from tune_flow.evaluation.sampling import Solver
    from tune_flow.training.restore import load_run

    torch.set_num_threads(1)
    run = load_run(Path(checkpoint), device="cpu")
    n = min(points, len(run.data.x_1_test))
    return float(evaluate_samples(run, n, Solver("euler", EXACT_STEPS))["w2"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="search_spaces/arch.yaml")
    parser.add_argument("--num-samples", type=int, default=16)
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="passed to every search (e.g. eval_samples=256 to try another default)",
    )  # fmt: skip
    parser.add_argument("--smoke-test", action="store_true", help="4 trials, 6 epochs, 1000 points")
    args = parser.parse_args()
    points = 1000 if args.smoke_test else EXACT_POINTS
    extra = ["--num-samples", "4", "--max-epochs", "6"] if args.smoke_test else [
        "--num-samples", str(args.num_samples)]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable, "-m", "tune_flow.search", "--space", args.space, "--metric", "w2",
            "--storage-path", tmp, "--name", "fidelity", "--no-dashboard", "--no-report",
            "--top-k", "100000",  # keep every trial's checkpoint: each one is evaluated
            "--set", f"n_samples={points + 5000}", "--set", f"test_size={points}", *extra,
            *[arg for item in args.set for arg in ("--set", item)],
        ]  # fmt: skip
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-3000:])
        print(f"search: {time.perf_counter() - started:.0f} s")
        rows = [r for r in csv.DictReader((Path(tmp) / "fidelity" / "trials.csv").open())]
        rows = [r for r in rows if r["checkpoint"] and r["best_w2"] not in ("", "inf", "nan")]
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=2) as pool:
            exact = list(pool.map(exact_w2, [r["checkpoint"] for r in rows], [points] * len(rows)))
        print(f"exact W2 of {len(rows)} trials: {time.perf_counter() - started:.0f} s")
    from scipy.stats import spearmanr

    in_trial = [float(r["best_w2"]) for r in rows]
    print(f"{'trial':<10} {'stop':<11} {'epochs':>6} {'in-trial w2':>12} {'exact W2 (test)':>16}")
    for row, a, b in sorted(zip(rows, in_trial, exact, strict=True), key=lambda t: t[2]):
        print(
            f"{row['trial_id']:<10} {row['stop_reason']:<11} {row['epochs_run']:>6} {a:>12.4f} {b:>16.4f}"
        )
    rho = spearmanr(in_trial, exact).statistic
    print(f"Spearman rank correlation over {len(rows)} trials: {rho:.3f} (target >= 0.9)")
    by_val = [float(r["best_val_loss"]) for r in rows]
    rho_val = spearmanr(by_val, exact).statistic
    print(f"the same for best_val_loss (what val_loss ranking would use): {rho_val:.3f}")
    print(f"winner by best_val_loss: exact W2 {exact[by_val.index(min(by_val))]:.4f}")
    print(
        f"winner by in-trial w2: exact W2 {exact[in_trial.index(min(in_trial))]:.4f}; best exact W2: {min(exact):.4f}"
    )


if __name__ == "__main__":
    main()
