"""Normalisation as a modelling choice: W2 of the same run under each `normalize` mode.

    python benchmarks/normalization.py [--epochs 100] [--datasets moons,8gaussians,...] [--smoke-test]

For every built-in 2-D dataset and every mode (standard, global, none), trains the default
configuration (3x64 SELU MLP, I-CFM, lr 1e-3, same seeds) and measures exact W2 and energy
distance of 2000 generated points (100 Euler steps) against 2000 test points, in the data's
original units. Prints one row per dataset with the W2 of each mode and its ratio to `standard`.
"""

from __future__ import annotations

import argparse
import time

from tune_flow import FlowTrainer, TrainingConfig
from tune_flow.data import NORMALIZATIONS
from tune_flow.evaluation.judge import evaluate_samples
from tune_flow.evaluation.sampling import Solver

DATASETS = ("moons", "circles", "8gaussians", "checkerboard", "pinwheel", "swissroll", "scurve")


def measure(dataset: str, mode: str, epochs: int, points: int) -> dict:
    config = TrainingConfig.from_dict(
        dict(
            arch="mlp", flow="icfm", dataset=dataset, aug="none", group="bench",
            normalize=mode, max_epochs=epochs, n_samples=10 * points, num_threads=1,
            device="cpu", eval_samples=0,
        )
    )  # fmt: skip
    trainer = FlowTrainer(config)
    trainer.train()
    return evaluate_samples(trainer, points, Solver("euler", 100))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--smoke-test", action="store_true", help="moons only, 3 epochs")
    args = parser.parse_args()
    datasets = ["moons"] if args.smoke_test else args.datasets.split(",")
    epochs = 3 if args.smoke_test else args.epochs
    started = time.perf_counter()
    print(
        f"{'dataset':<13}"
        + "".join(f"{'W2 ' + m:>14}" for m in NORMALIZATIONS)
        + "   ratio to standard"
    )
    for dataset in datasets:
        w2 = {mode: measure(dataset, mode, epochs, args.points)["w2"] for mode in NORMALIZATIONS}
        ratios = ", ".join(f"{m} {w2[m] / w2['standard']:.2f}" for m in NORMALIZATIONS[1:])
        print(
            f"{dataset:<13}" + "".join(f"{w2[m]:>14.4f}" for m in NORMALIZATIONS) + f"   {ratios}",
            flush=True,
        )
    print(f"({time.perf_counter() - started:.0f} s, {epochs} epochs per run)")


if __name__ == "__main__":
    main()
