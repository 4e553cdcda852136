"""``--debug``: one trial of a space in this process, without Ray, through the trainable's code."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tune_flow.space.search_space import SearchSpace
from tune_flow.yaml_io import parse_overrides

DEBUG_EPOCHS = 5


def run_debug(space: SearchSpace, args: argparse.Namespace) -> int:
    """One trial (the space's first point over base + --set) in this process, without Ray, through
    the trainable's own code: breakpoint() and full tracebacks work."""
    from tune_flow.evaluation.in_trial import scored_in_trial
    from tune_flow.search.trainable import run_trial, trial_config

    params = space.first_point()
    base = dict(space.base)
    if args.max_epochs is None and "max_epochs" not in parse_overrides(args.set):
        base["max_epochs"] = min(int(base.get("max_epochs", DEBUG_EPOCHS)), DEBUG_EPOCHS)
    config = trial_config(params, base)
    print(
        "debug trial (in-process, no Ray): "
        + ", ".join(f"{k}={v!r}" for k, v in config.to_dict().items())
    )

    def report(metrics: dict[str, Any], checkpoint: Path | None) -> None:
        print(
            f"epoch {metrics['epoch']:3d}  train {metrics['train_loss']:.4f}  val {metrics['val_loss']:.4f}  "
            f"raw {metrics['raw_val_loss']:.4f}  best {metrics['best_val_loss']:.4f}  lr {metrics['lr']:.2e}"
            + (
                f"  val {scored_in_trial(metrics, 'w2', config.eval_samples)}"
                if "w2" in metrics
                else ""
            )
            + ("  [checkpoint]" if checkpoint else "")
            + (f"  -> {metrics['stop_reason']}" if metrics["stop_reason"] else ""),
            flush=True,
        )

    summary = run_trial(params, base, report)
    print(
        f"debug trial done: {summary['stop_reason']} after {summary['epochs_run']} epochs, best val_loss {summary['best_val_loss']:.5g}"
    )
    return 0
