"""One network on digits as 1x8x8 images: train, sample the test split's size with dopri5, and
print its Frechet distance against the test images beside the floor (validation against test).

    python benchmarks/digits_networks.py resmlp 256 3 300     # arch width depth epochs
    python benchmarks/digits_networks.py unet 32 2 60

Prints one JSON line (RESULTS.md section 17). One torch thread, as a trial on one CPU."""

from __future__ import annotations

import argparse
import json
import time

from tune_flow import FlowTrainer, TrainingConfig
from tune_flow.evaluation import digits_frechet
from tune_flow.evaluation.judge import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("arch")
    parser.add_argument("width", type=int)
    parser.add_argument("depth", type=int)
    parser.add_argument("epochs", type=int)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    config = TrainingConfig.from_dict(dict(
        arch=args.arch, flow="icfm", dataset="digits", aug="none", group="bench",
        width=args.width, depth=args.depth, max_epochs=args.epochs, lr=args.lr,
        batch_size=args.batch_size, warmup_steps=100, eval_samples=180, eval_every=50,
        num_threads=1, device="cpu", patience=10**6,
    ))  # fmt: skip
    started = time.perf_counter()
    trainer = FlowTrainer(config)
    summary = trainer.train()
    seconds = time.perf_counter() - started
    test = trainer.data.stats.denormalize(trainer.data.x_1_test)
    validation = trainer.data.stats.denormalize(trainer.data.x_1_val)
    generated = generate(trainer, len(test))
    frechet = digits_frechet.frechet_digits(generated, test)
    floor = digits_frechet.frechet_digits(validation[: len(test)], test)
    print(json.dumps({
        "arch": args.arch, "width": args.width, "depth": args.depth, "epochs": args.epochs,
        "parameters": summary["num_parameters"], "train_seconds": round(seconds),
        "best_val_loss": summary["best_val_loss"], "n": len(test),
        "frechet_digits": frechet, "floor": floor, "over_floor": frechet / floor,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
