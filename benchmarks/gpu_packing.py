"""GPU packing: 1, 2, 4, 8 trials per GPU via fractional `gpu`, aggregate samples/s; and the
train step with torch.compile (CUDA graphs) against eager. Skips cleanly without a GPU.

    python benchmarks/gpu_packing.py [--epochs 8] [--smoke-test]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time

import torch

TRIAL = dict(arch="resmlp", flow="icfm", dataset="moons", aug="none", group="pack", n_samples=50_000,
             batch_size=1024, warmup_steps=50, width=256, depth=4, device="cuda")  # fmt: skip


def packing(per_gpu: int, epochs: int, cpus: int) -> float:
    """Sum over concurrent trials of their median samples/s, with ``per_gpu`` trials sharing one GPU."""
    from tune_flow.search.tuner import build_tuner
    from tune_flow.space import parse_space

    space, problems = parse_space({
        "name": f"pack{per_gpu}", "method": "random", "run_cap": per_gpu, "metric": {"name": "val_loss"},
        "base": {**TRIAL, "max_epochs": epochs}, "parameters": {"seed": {"values": list(range(per_gpu))}},
        "resources_per_trial": {"cpu": cpus, "gpu": 1.0 / per_gpu},
    })  # fmt: skip
    assert not problems, problems
    with tempfile.TemporaryDirectory() as storage:
        results = build_tuner(
            space,
            name="pack",
            storage_path=storage,
            seed=0,
            max_concurrent=per_gpu,
            max_failures=0,
            time_budget_s=None,
        ).fit()
        assert not results.errors, results.errors
        # skip each trial's first epoch (allocation, cuBLAS set-up) and take the median of the rest
        return sum(
            statistics.median(r.metrics_dataframe["samples_per_second"][1:]) for r in results
        )


def compiled_vs_eager(steps: int) -> tuple[float, float]:
    """Seconds per train step of resmlp 4x256 at batch 1024: eager, then torch.compile."""
    return _step_seconds(False, steps), _step_seconds(True, steps)


def _step_seconds(compiled: bool, steps: int) -> float:
    from tune_flow import TrainingConfig

    config = TrainingConfig.from_dict({**TRIAL, "max_epochs": 1})
    torch.manual_seed(0)
    model = config.build_network(2).cuda()
    opt = torch.optim.AdamW(model.parameters(), 1e-3, fused=True)
    # reduce-overhead: CUDA graphs replay the whole forward, removing per-kernel launch cost.
    forward = torch.compile(model, mode="reduce-overhead") if compiled else model
    x, t = torch.randn(1024, 2, device="cuda"), torch.rand(1024, device="cuda")
    target = torch.randn(1024, 2, device="cuda")

    def step() -> None:
        loss = (forward(x, t) - target).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(20):  # compile and warm up
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--cpus-per-trial", type=int, default=1)
    parser.add_argument("--smoke-test", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: GPU packing benchmark skipped")
        return
    import ray

    epochs = 2 if args.smoke_test else args.epochs
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, ray {ray.__version__}")
    eager, compiled = compiled_vs_eager(50 if args.smoke_test else 300)
    print(
        f"train step resmlp 4x256 batch 1024: eager {eager * 1e3:.2f} ms, torch.compile(reduce-overhead) "
        f"{compiled * 1e3:.2f} ms, speed-up {eager / compiled:.2f}x"
    )
    ray.init(include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    print(f"ray resources: {ray.cluster_resources()}")
    base = None
    print(f"{'trials/GPU':>10} {'gpu each':>9} {'aggregate samples/s':>20} {'vs 1 trial':>11}")
    for per_gpu in (1, 2, 4, 8):
        total = packing(per_gpu, epochs, args.cpus_per_trial)
        base = base or total
        print(
            f"{per_gpu:>10} {1 / per_gpu:>9.3g} {total:>20,.0f} {total / base:>10.2f}x", flush=True
        )
    ray.shutdown()


if __name__ == "__main__":
    sys.exit(main())
