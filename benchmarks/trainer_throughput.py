"""Trainer throughput: FlowTrainer epochs against a bare floor loop and a conventional loop.

    python benchmarks/trainer_throughput.py [--device cpu|cuda] [--epochs N] [--smoke-test]

All three train the same model on the same resident moons data for the same number of steps:
  floor        bare ICFM loop: forward, backward, fused AdamW step; batches by index permutation
  FlowTrainer  the real epoch: + EMA, clipping, cosine schedule, deterministic validation
  conventional DataLoader over a TensorDataset, per-parameter Python EMA loop,
               clip_grad_norm_, LambdaLR, `.item()` every step
Prints samples/s and the ratios time(trainer)/time(floor) and time(conventional)/time(trainer).
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from collections.abc import Callable

import torch
from torch.utils.data import DataLoader, TensorDataset

from tune_flow import FlowTrainer, TrainingConfig

MODELS = {
    "mlp 3x64": dict(arch="mlp", width=64, depth=3),
    "resmlp 4x256": dict(arch="resmlp", width=256, depth=4, activation="silu"),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed(epoch: Callable[[], None], epochs: int, device: torch.device) -> float:
    """Seconds for ``epochs`` calls of ``epoch`` after one warm-up call (allocator, kernels)."""
    epoch()
    _sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        epoch()
    _sync(device)
    return time.perf_counter() - start


def _config(model: dict, device: str, epochs: int, n: int, batch: int) -> TrainingConfig:
    return TrainingConfig.from_dict(dict(
        flow="icfm", dataset="moons", aug="none", group="bench", n_samples=n, batch_size=batch,
        max_epochs=epochs, warmup_steps=100, device=device, **model,
    ))  # fmt: skip


def time_trainer(config: TrainingConfig, epochs: int) -> tuple[float, int]:
    trainer = FlowTrainer(config)
    trainer.train_epoch()  # warm-up (allocator, kernels)
    trainer.validate()
    _sync(trainer.device)
    start = time.perf_counter()
    for _ in range(epochs):
        trainer.train_epoch()
        trainer.validate()
    _sync(trainer.device)
    return time.perf_counter() - start, epochs * trainer.steps_per_epoch * trainer.batch_size


def time_floor(config: TrainingConfig, epochs: int) -> float:
    trainer = FlowTrainer(config)  # same model init, data and device; its loop is not used
    model, x_1, device = trainer.model, trainer.x_1_train, trainer.device
    # The same (fused) AdamW as the trainer: the floor is the fastest plain loop, so the ratio
    # measures only what EMA, clipping, the schedule and validation add.
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, fused=True)
    batch, steps = trainer.batch_size, trainer.steps_per_epoch

    def epoch() -> None:
        perm = torch.randperm(len(x_1), device=device)
        for i in range(steps):
            x1 = x_1[perm[i * batch : (i + 1) * batch]]
            x0 = torch.randn_like(x1)
            t = torch.rand(batch, device=device)
            x_t = (1 - t[:, None]) * x0 + t[:, None] * x1
            loss = (model(x_t, t) - (x1 - x0)).square().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    return _timed(epoch, epochs, device)


def time_conventional(config: TrainingConfig, epochs: int) -> float:
    trainer = FlowTrainer(config)
    model, device = trainer.model, trainer.device
    loader = DataLoader(
        TensorDataset(trainer.data.x_1_train),
        batch_size=trainer.batch_size,
        shuffle=True,
        drop_last=True,
    )
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr)
    total = epochs * len(loader)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, s / 100) * 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
    )
    ema = [p.detach().clone() for p in model.parameters()]
    val_x1 = trainer.data.x_1_val.to(device)

    def epoch() -> None:
        model.train()
        for (x1,) in loader:
            x1 = x1.to(device)
            x0 = torch.randn_like(x1)
            t = torch.rand(len(x1), device=device)
            x_t = (1 - t[:, None]) * x0 + t[:, None] * x1
            loss = (model(x_t, t) - (x1 - x0)).square().mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            with torch.no_grad():
                for e, p in zip(ema, model.parameters(), strict=True):
                    e.mul_(0.999).add_(p, alpha=0.001)
            _ = loss.item()
        model.eval()
        with torch.no_grad():  # validation with fresh noise, in training-sized batches
            for i in range(0, len(val_x1), trainer.batch_size):
                x1 = val_x1[i : i + trainer.batch_size]
                x0 = torch.randn_like(x1)
                t = torch.rand(len(x1), device=device)
                _ = (
                    (model((1 - t[:, None]) * x0 + t[:, None] * x1, t) - (x1 - x0))
                    .square()
                    .mean()
                    .item()
                )

    return _timed(epoch, epochs, device)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--n-samples", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--repeats", type=int, default=3, help="interleaved rounds; the fastest of each is kept"
    )
    parser.add_argument(
        "--compile-step", action="store_true",
        help="also time the trainer with compile_step (torch.compile; CUDA graphs on CUDA)",
    )  # fmt: skip
    parser.add_argument("--smoke-test", action="store_true")
    args = parser.parse_args()
    epochs = 1 if args.smoke_test else args.epochs
    repeats = 1 if args.smoke_test else args.repeats
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.machine()
    print(
        f"torch {torch.__version__}, device {args.device} ({name}), {torch.get_num_threads()} threads, "
        f"{args.n_samples} samples, batch {args.batch_size}, {epochs} epochs, best of {repeats}"
    )
    print(
        f"{'model':<14} {'floor s/s':>11} {'trainer s/s':>12} {'convent. s/s':>13} {'trainer/floor':>14} {'convent./trainer':>17}"
        + (f" {'compiled s/s':>13} {'compiled/floor':>15}" if args.compile_step else "")
    )
    for label, model in MODELS.items():
        config = _config(model, args.device, epochs + 1, args.n_samples, args.batch_size)
        # Interleaved rounds, best of each: this machine is shared and noisy.
        trainer_s = floor_s = conventional_s = compiled_s = math.inf
        for _ in range(repeats):
            seconds, samples = time_trainer(config, epochs)
            trainer_s = min(trainer_s, seconds)
            floor_s = min(floor_s, time_floor(config, epochs))
            conventional_s = min(conventional_s, time_conventional(config, epochs))
            if args.compile_step:  # its warm-up epoch compiles (untimed)
                compiled = config.replace(compile_step=True)
                compiled_s = min(compiled_s, time_trainer(compiled, epochs)[0])
        print(
            f"{label:<14} {samples / floor_s:>11,.0f} {samples / trainer_s:>12,.0f} {samples / conventional_s:>13,.0f} "
            f"{trainer_s / floor_s:>13.2f}x {conventional_s / trainer_s:>16.2f}x"
            + (
                f" {samples / compiled_s:>13,.0f} {compiled_s / floor_s:>14.2f}x"
                if args.compile_step
                else ""
            )
        )


if __name__ == "__main__":
    main()
