"""Per-epoch overhead inside a trial: what Tune, reporting and checkpointing add to each epoch.

    python benchmarks/epoch_overhead.py [--epochs 200] [--concurrency 1 2] [--repeats 3] [--smoke-test]

The default workload (`search_spaces/arch.yaml`'s base, the default MLP 3 x 64, 1 CPU per trial),
the same fixed trials three ways, alternating, in the same sitting:

- *bare*: ``FlowTrainer.train()`` in a fresh process per trial, nothing reported (the compute);
- *trial, no Ray*: ``run_trial`` with its epoch reporter writing checkpoints exactly when a Tune
  trial does, handed to a reporter that drops them (our own per-epoch work);
- *Tune*: the trials as a search runs them (``build_tuner``, FIFO, ``--top-k``-style checkpoint
  keeping, Tune's loggers), one local Ray instance with 2 CPUs.

``concurrency`` trials run at once on each side (the default search runs 2 on this machine's 2
CPUs). Per-epoch wall is measured the same way everywhere, over the middle half of a trial's
epochs (from the end of epoch n/4 to the end of epoch 3n/4, divided by the epochs in between; Tune:
``time_total_s``, the time between a trial's reports, measured in the trial process), so that
neither the trials' start-up (another trial's imports, Tune launching it) nor their ends fall in
the window: those are the first-result benchmark's business (ray_overhead.py). Overhead =
per-epoch wall / bare - 1, per repeat (the three sides of one repeat run back to back, so a
slower or faster spell of this shared machine moves all three), then the median over repeats.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _script_run import run_script  # benchmarks/ is sys.path[0] when run as a script

ROOT = Path(__file__).resolve().parents[1]
BASE = dict(arch="mlp", flow="icfm", dataset="moons", aug="none", group="bench", n_samples=5000,
            lr=2.0e-3, warmup_steps=75, width=64, depth=3, device="cpu", num_threads=1)  # fmt: skip

TUNE_SCRIPT = r"""
import json, sys
import ray
from tune_flow.space import parse_space
from tune_flow.search.tuner import build_tuner
cfg = json.loads(sys.argv[1])
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
space, problems = parse_space(cfg["space"])
assert not problems, problems
tuner = build_tuner(space, name="bench", storage_path=cfg["storage"], seed=0,
                    max_concurrent=cfg["concurrency"], max_failures=0, time_budget_s=None)
results = tuner.fit()
assert not results.errors, results.errors
per_epoch = []
for result in results:
    seconds = list(result.metrics_dataframe.time_total_s)
    lo, hi = len(seconds) // 4, 3 * len(seconds) // 4
    per_epoch.append(float((seconds[hi] - seconds[lo]) / (hi - lo)))
ray.shutdown()
print(json.dumps(per_epoch))
"""


def _trial_config(seed: int, epochs: int) -> dict[str, Any]:
    return {**BASE, "seed": seed, "max_epochs": epochs}


def _bare(args: tuple[int, int, bool]) -> float:
    """Per-epoch wall of one trial in this (fresh) process; ``with_reporter``: run_trial's
    checkpointing reporter, checkpoints dropped."""
    seed, epochs, with_reporter = args
    import torch

    torch.set_num_threads(1)
    from tune_flow.search.trainable import run_trial
    from tune_flow.training.config import TrainingConfig
    from tune_flow.training.trainer import FlowTrainer

    stamps: list[float] = []
    if with_reporter:
        run_trial({}, _trial_config(seed, epochs), lambda m, d: stamps.append(time.perf_counter()))
    else:
        config = TrainingConfig.from_dict(_trial_config(seed, epochs))
        FlowTrainer(config, lambda m, t: stamps.append(time.perf_counter())).train()
    lo, hi = len(stamps) // 4, 3 * len(stamps) // 4  # the middle half, as in TUNE_SCRIPT
    return (stamps[hi] - stamps[lo]) / (hi - lo)


def run_local(concurrency: int, epochs: int, with_reporter: bool) -> list[float]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(concurrency) as pool:
        return pool.map(_bare, [(seed, epochs, with_reporter) for seed in range(concurrency)])


def run_tune(concurrency: int, epochs: int) -> list[float]:
    storage = tempfile.mkdtemp(prefix="tune_flow_bench_")
    base = {k: v for k, v in _trial_config(0, epochs).items() if k != "seed"}
    space = {
        "name": "bench", "method": "grid", "run_cap": concurrency, "metric": {"name": "val_loss"},
        "base": base, "parameters": {"seed": {"values": list(range(concurrency))}},
    }  # fmt: skip
    try:
        return run_script(
            TUNE_SCRIPT, {"space": space, "storage": storage, "concurrency": concurrency}
        )
    finally:
        shutil.rmtree(storage, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke-test", action="store_true", help="8 epochs, concurrency 1, once")
    args = parser.parse_args()
    if args.smoke_test:
        args.epochs, args.concurrency, args.repeats = 8, [1], 1
    sys.path.insert(0, str(ROOT))
    print(f"default MLP 3x64 on moons (5k), {args.epochs} epochs (middle half timed), 1 CPU per "
          f"trial; per repeat the median over trials, then the median over {args.repeats} repeats")  # fmt: skip
    print(f"{'concurrency':>11} {'bare ms/epoch':>14} {'trial, no Ray':>14} {'Tune':>8} "
          f"{'trial/bare':>11} {'Tune/bare':>10}  Tune/bare per repeat")  # fmt: skip
    for concurrency in args.concurrency:
        rows = []  # per repeat: median ms/epoch of each side
        for _ in range(args.repeats):
            sides = {
                "bare": run_local(concurrency, args.epochs, with_reporter=False),
                "trial": run_local(concurrency, args.epochs, with_reporter=True),
                "tune": run_tune(concurrency, args.epochs),
            }
            rows.append({side: 1000 * statistics.median(v) for side, v in sides.items()})
        ms = {side: statistics.median(row[side] for row in rows) for side in rows[0]}
        trial_over = statistics.median(row["trial"] / row["bare"] - 1 for row in rows)
        tune_each = [row["tune"] / row["bare"] - 1 for row in rows]
        print(
            f"{concurrency:>11} {ms['bare']:>14.1f} {ms['trial']:>14.1f} {ms['tune']:>8.1f} "
            f"{trial_over:>+10.1%} {statistics.median(tune_each):>+9.1%}  "
            + " ".join(f"{x:+.1%}" for x in tune_each),
            flush=True,
        )


if __name__ == "__main__":
    main()
