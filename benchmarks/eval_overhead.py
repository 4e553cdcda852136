"""In-trial evaluation overhead: the default `make search` job with sample metrics on and off.

    python benchmarks/eval_overhead.py [--space search_spaces/arch.yaml] [--repeats 2] [--smoke-test]

Runs the search CLI as `make search` does (subprocess, launch to exit, --no-dashboard so that the
dashboard's start-up noise stays out of every side), alternating, in the same sitting: evaluation
off and ranked by val_loss (the baseline), evaluation on and ranked by val_loss (same trials and
epochs as the baseline), and the shipped space as it is. Prints wall time and the summed trial time
(Tune's time_total_s) per epoch, and the ratios against the baseline.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(space: str, extra: list[str], storage: Path, name: str) -> dict:
    cmd = [
        sys.executable, "-m", "tune_flow.search", "--space", space, "--storage-path", str(storage),
        "--name", name, "--no-dashboard", "--no-report", "--seed", "0", *extra,
    ]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    rows = list(csv.DictReader((storage / name / "trials.csv").open()))
    epochs = sum(int(r["epochs_run"]) for r in rows)
    trial_seconds = 0.0
    for row in rows:
        last = (Path(row["trial_dir"]) / "result.json").read_text().splitlines()[-1]
        trial_seconds += json.loads(last)["time_total_s"]
    return {"wall": wall, "epochs": epochs, "trial_seconds": trial_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="search_spaces/arch.yaml")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="passed to every search (e.g. eval_samples=256 to try another default)",
    )  # fmt: skip
    parser.add_argument("--smoke-test", action="store_true", help="4 trials, 6 epochs, 1 repeat")
    args = parser.parse_args()
    extra = ["--num-samples", "4", "--max-epochs", "6"] if args.smoke_test else []
    extra += [arg for item in args.set for arg in ("--set", item)]
    repeats = 1 if args.smoke_test else args.repeats
    # off: no sample metrics, ranked by val_loss (the baseline); val: evaluation on, still ranked by
    # val_loss (the same trials and epochs as off: the pure cost of evaluating); shipped: exactly
    # as `make search` runs (arch.yaml ranks by w2, which adds an evaluation at every rung).
    sides = {
        "off": ["--metric", "val_loss", "--set", "eval_samples=0"],
        "val": ["--metric", "val_loss"],
        "shipped": [],
    }
    measured: dict[str, list[dict]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            for side, flags in sides.items():
                result = run(args.space, extra + flags, Path(tmp), f"{side}{i}")
                measured[side].append(result)
                print(
                    f"{side:>7} #{i}: wall {result['wall']:.1f} s, {result['epochs']} epochs, "
                    f"trial time {result['trial_seconds']:.1f} s "
                    f"({1000 * result['trial_seconds'] / result['epochs']:.1f} ms/epoch)",
                    flush=True,
                )

    def median(side: str, key: str) -> float:
        return statistics.median(r[key] for r in measured[side])

    def per_epoch(side: str) -> float:
        return statistics.median(r["trial_seconds"] / r["epochs"] for r in measured[side])

    print(
        f"baseline (evaluation off): wall {median('off', 'wall'):.1f} s, {per_epoch('off') * 1000:.1f} ms/epoch"
    )
    for side in ("val", "shipped"):
        print(
            f"{side}/off: wall time ratio {median(side, 'wall') / median('off', 'wall'):.3f}, "
            f"trial time per epoch ratio {per_epoch(side) / per_epoch('off'):.3f}"
        )


if __name__ == "__main__":
    main()
