"""Single-run CLI: ``python -m tune_flow.train --config run.yaml [--set k=v] [--out DIR] [--resume]``.

Writes into ``--out``: ``checkpoint.pt`` (last full trainer state), ``best_model.pt`` (best EMA
weights), ``config.yaml`` (resolved config), ``normalization_stats.pt`` and ``summary.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

import yaml

from tune_flow.data import STATS_FILENAME
from tune_flow.data.files import absolute_paths
from tune_flow.errors import UserInputError, exits_cleanly_on_user_error
from tune_flow.stop_signals import exit_code, sigterm_raises_interrupt
from tune_flow.training.checkpoint import (
    BEST_MODEL_FILENAME,
    CHECKPOINT_FILENAME,
    load_checkpoint,
    save_checkpoint,
)
from tune_flow.training.config import TrainingConfig
from tune_flow.training.trainer import FlowTrainer
from tune_flow.yaml_io import load_yaml_mapping, parse_overrides

CONFIG_FILENAME = "config.yaml"
SUMMARY_FILENAME = "summary.json"

logger = logging.getLogger("tune_flow.train")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tune_flow.train", description=__doc__)
    parser.add_argument("--config", help="YAML file of TrainingConfig fields")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a field")
    parser.add_argument("--out", help="run directory (default: runs/<run_name>)")
    parser.add_argument("--resume", action="store_true", help="continue from --out's checkpoint")
    parser.add_argument(
        "--eval-samples",
        type=int,
        default=0,
        metavar="N",
        help="after training, generate N samples and write W2/MMD against the test split",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    return parser


def resolve_config(config_path: str | None, overrides: list[str] | None) -> TrainingConfig:
    values: dict[str, Any] = load_yaml_mapping(config_path, "config") if config_path else {}
    values.update(parse_overrides(overrides))
    return TrainingConfig.from_dict(absolute_paths(values, Path.cwd()))


def print_epoch(metrics: dict[str, Any], trainer: FlowTrainer) -> None:
    mark = "*" if metrics["improved"] else " "
    print(
        f"epoch {metrics['epoch']:4d}/{trainer.config.max_epochs}  "
        f"train {metrics['train_loss']:.4f}  val {metrics['val_loss']:.4f}{mark} "
        f"raw {metrics['raw_val_loss']:.4f}  lr {metrics['lr']:.2e}  "
        f"{metrics['samples_per_second']:,.0f} samples/s"
        + (f"  w2 {metrics['w2']:.4g} (val)" if "w2" in metrics else ""),
        flush=True,
    )


class RunWriter:
    """The epoch callback of the CLI: checkpoints and best weights into ``out``."""

    def __init__(self, out: Path, verbose: bool) -> None:
        self.out = out
        self.verbose = verbose
        self.last_checkpoint_epoch = 0

    def __call__(self, metrics: dict[str, Any], trainer: FlowTrainer) -> None:
        if self.verbose:
            print_epoch(metrics, trainer)
        if metrics["improved"]:
            save_checkpoint(
                {
                    "config": trainer.config.to_dict(),
                    "model": trainer.ema_model_state(),
                    "epoch": metrics["epoch"],
                    "val_loss": metrics["val_loss"],
                    **trainer.sampling_state(),  # a model file is enough to sample from
                },
                self.out / BEST_MODEL_FILENAME,
            )
        if (
            metrics["epoch"] % trainer.config.checkpoint_every == 0
            or metrics["stop_reason"]
            or metrics["improved"]
        ):
            save_checkpoint(trainer.state_dict(), self.out / CHECKPOINT_FILENAME)
            self.last_checkpoint_epoch = metrics["epoch"]


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@exits_cleanly_on_user_error
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    if args.eval_samples < 0:
        raise UserInputError(f"--eval-samples is {args.eval_samples}, but must be >= 0")

    if args.resume:
        if not args.out:
            raise UserInputError("--resume needs --out DIR (the run directory to continue)")
        out = Path(args.out)
        state = load_checkpoint(out / CHECKPOINT_FILENAME)
        if args.config or args.set:
            logger.info(
                "--resume: using the config stored in the checkpoint; --config/--set ignored"
            )
        writer = RunWriter(out, verbose=not args.quiet)
        trainer = FlowTrainer.from_checkpoint(state, writer)
        print(f"resuming {out} after epoch {trainer.epoch}")
    else:
        if not args.config and not args.set:
            raise UserInputError(
                "give --config FILE and/or --set key=value (arch, flow, dataset, aug, group are required)"
            )
        config = resolve_config(args.config, args.set)
        out = Path(args.out) if args.out else Path("runs") / config.run_name
        if (out / CHECKPOINT_FILENAME).exists() or (out / SUMMARY_FILENAME).exists():
            raise UserInputError(
                f"run directory {str(out)!r} already holds a run; pass --resume to continue it "
                "or choose another --out (nothing is overwritten)"
            )
        out.mkdir(parents=True, exist_ok=True)
        writer = RunWriter(out, verbose=not args.quiet)
        trainer = FlowTrainer(config, writer)

    (out / CONFIG_FILENAME).write_text(yaml.safe_dump(trainer.config.to_dict(), sort_keys=False))
    trainer.data.stats.save(out / STATS_FILENAME)
    sigterm_raises_interrupt()
    try:
        summary = trainer.train()
    except KeyboardInterrupt as stop:
        print(
            f"\ninterrupted; the last checkpoint is from epoch {writer.last_checkpoint_epoch}: "
            f"continue with --resume --out {out}",
            file=sys.stderr,
        )
        return exit_code(stop)
    if args.eval_samples:
        from tune_flow.evaluation.judge import evaluate_samples

        summary.update(evaluate_samples(trainer, args.eval_samples))
    summary = {k: _json_safe(v) for k, v in summary.items()}
    (out / SUMMARY_FILENAME).write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"done: {summary['stop_reason']} after {summary['epochs_run']} epochs, best val_loss "
        f"{summary['best_val_loss']} at epoch {summary['best_epoch']}; results in {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
