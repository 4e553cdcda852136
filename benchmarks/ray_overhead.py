"""Ray Tune's overhead on a search of small trials, against the in-process ideal.

    python benchmarks/ray_overhead.py [--trials 16] [--epochs 10] [--smoke-test]

ideal = (sum of the same trials' compute, run one after another in this process) / concurrency.
Each variant starts its own local Ray instance (2 CPUs) and is timed from before `ray.init` to the
end of `Tuner.fit`; "first result" is the time from launch to the first reported epoch.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import torch
from _script_run import run_script  # benchmarks/ is sys.path[0] when run as a script

TRIAL = dict(arch="mlp", flow="icfm", dataset="moons", aug="none", group="bench", n_samples=5000,
             batch_size=256, warmup_steps=50, width=64, depth=3, device="cpu")  # fmt: skip
WIDTHS = [32, 48, 64, 96]

VARIANT_SCRIPT = r"""
import json, os, sys, time
launch = time.monotonic()
import ray
from ray.tune import Callback
from tune_flow.space import parse_space
from tune_flow.search.tuner import build_tuner
cfg = json.loads(sys.argv[1])
first = []
class First(Callback):
    def on_trial_result(self, iteration, trials, trial, result, **info):
        if not first:
            first.append(time.monotonic() - launch)
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
space, problems = parse_space(cfg["space"])
assert not problems, problems
tuner = build_tuner(space, name="bench", storage_path=cfg["storage"], seed=0, max_concurrent=2,
                    max_failures=0, time_budget_s=None, callbacks=[First()], reuse_actors=cfg["reuse"])
results = tuner.fit()
wall = time.monotonic() - launch
assert not results.errors
ray.shutdown()
print(json.dumps({"wall": wall, "first": first[0]}))
"""


def ideal_seconds(trials: int, epochs: int) -> float:
    from tune_flow import FlowTrainer, TrainingConfig

    total = 0.0
    for i in range(trials):
        config = TrainingConfig.from_dict(
            {**TRIAL, "max_epochs": epochs, "width": WIDTHS[i % len(WIDTHS)], "num_threads": 1}
        )
        trainer = FlowTrainer(config)  # set-up (data, model) is part of a trial's compute too
        start = time.perf_counter()
        trainer.train()
        total += time.perf_counter() - start
    return total / 2  # two trials at a time on two CPUs


def run_variant(trials: int, epochs: int, reuse: bool, disable_loggers: bool) -> dict:
    storage = tempfile.mkdtemp(prefix="tune_flow_bench_")
    space = {
        "name": "bench", "method": "random", "run_cap": trials, "metric": {"name": "val_loss"},
        "base": {**TRIAL, "max_epochs": epochs}, "parameters": {"width": {"values": WIDTHS}},
    }  # fmt: skip
    env = dict(os.environ, TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S="0")
    if disable_loggers:
        env["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    try:
        return run_script(VARIANT_SCRIPT, {"space": space, "storage": storage, "reuse": reuse}, env)
    finally:
        shutil.rmtree(storage, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--smoke-test", action="store_true")
    args = parser.parse_args()
    trials, epochs = (2, 2) if args.smoke_test else (args.trials, args.epochs)
    torch.set_num_threads(1)
    ideal = ideal_seconds(trials, epochs)
    print(
        f"torch {torch.__version__}; {trials} trials x {epochs} epochs, 1 CPU each, 2 CPUs; ideal {ideal:.1f} s"
    )
    print(
        f"{'variant':<36} {'wall s':>7} {'wall/ideal':>11} {'first result s':>15} {'(wall-first)/ideal':>19}"
    )
    variants = [
        ("reuse_actors=True (tune_flow default)", True, False),
        ("reuse_actors=False", False, False),
        ("reuse_actors=True, no auto loggers", True, True),
    ]
    for label, reuse, no_loggers in variants:
        r = run_variant(trials, epochs, reuse, no_loggers)
        steady = (r["wall"] - r["first"]) / ideal
        print(
            f"{label:<36} {r['wall']:>7.1f} {r['wall'] / ideal:>10.2f}x {r['first']:>15.1f} {steady:>18.2f}x"
        )


if __name__ == "__main__":
    main()
