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
from tune_flow.evaluation.in_trial import scored_in_trial
from tune_flow.import_path import absolute_import_paths
from tune_flow.program_name import program_name
from tune_flow.stop_signals import exit_code, sigterm_raises_interrupt
from tune_flow.training.checkpoint import (
    BEST_MODEL_FILENAME,
    CHECKPOINT_FILENAME,
    load_checkpoint,
    save_checkpoint,
)
from tune_flow.training.config import TrainingConfig
from tune_flow.training.probe import probe_config
from tune_flow.training.trainer import FlowTrainer
from tune_flow.yaml_io import load_yaml_mapping, parse_overrides

CONFIG_FILENAME = "config.yaml"
SUMMARY_FILENAME = "summary.json"

logger = logging.getLogger("tune_flow.train")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=program_name("train"), description=__doc__)
    parser.add_argument("--config", help="YAML file of TrainingConfig fields")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a field")
    parser.add_argument("--out", help="run directory (default: runs/<run_name>)")
    parser.add_argument("--resume", action="store_true", help="continue from --out's checkpoint")
    parser.add_argument(
        "--eval-samples",
        type=int,
        default=0,
        metavar="N",
        help="after training, score N generated samples against as many test rows (W2, energy "
        "distance, each with its floor) into summary.json",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    return parser


def resolve_config(config_path: str | None, overrides: list[str] | None) -> TrainingConfig:
    """The config file's values with ``--set`` over them; a ``file.py:Name`` of the file is
    relative to the file, one of ``--set`` to the current directory, as data paths are."""
    values: dict[str, Any] = load_yaml_mapping(config_path, "config") if config_path else {}
    if config_path:
        values = absolute_import_paths(values, Path(config_path).resolve().parent)
    values.update(absolute_import_paths(parse_overrides(overrides), Path.cwd()))
    return TrainingConfig.from_dict(absolute_paths(values, Path.cwd()))


def print_epoch(metrics: dict[str, Any], trainer: FlowTrainer) -> None:
    mark = "*" if metrics["improved"] else " "
    print(
        f"epoch {metrics['epoch']:4d}/{trainer.config.max_epochs}  "
        f"train {metrics['train_loss']:.4f}  val {metrics['val_loss']:.4f}{mark} "
        f"raw {metrics['raw_val_loss']:.4f}  lr {metrics['lr']:.2e}  "
        f"{metrics['samples_per_second']:,.0f} samples/s"
        + (
            f"  val {scored_in_trial(metrics, 'w2', trainer.config.eval_samples)}"
            if "w2" in metrics
            else ""
        ),
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
                    **trainer.model_file("val_loss", metrics["val_loss"]),
                    "val_loss": metrics["val_loss"],  # as files of earlier versions have it
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


def evaluate_on_test_split(trainer: FlowTrainer, requested: int) -> dict[str, Any]:
    """The final EMA weights on the **test** split: W2 and energy distance (original units) of n =
    min(``requested``, test rows) generated points against n test rows, with each metric's floor
    at that n (``floor``: n points of the data itself against the same rows); printed so."""
    from tune_flow.data import floor_points
    from tune_flow.evaluation.floor import metric_floor, scored
    from tune_flow.evaluation.judge import evaluate_samples

    n = min(requested, len(trainer.data.x_1_test))
    values = evaluate_samples(trainer, n)
    test = trainer.stats.denormalize(trainer.data.x_1_test)[:n]
    floors = metric_floor(floor_points(trainer.config, trainer.data, n), test)
    clipped = f"; --eval-samples {requested} > {n} test rows" if n < requested else ""
    print(
        f"test split ({trainer.config.solver.describe()}{clipped}): "
        + ", ".join(str(metric) for metric in scored(values, n, floors))
    )
    return {**values, "floor": floors}


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# Fields a resumed run may change: how long it trains (its cosine schedule is stretched to the new
# length), and where and with how many threads it runs, which do not change its maths.
EXTENDABLE_ON_RESUME = ("max_epochs",)
FREE_ON_RESUME = ("device", "num_threads")


def _resume_command(out: Path) -> str:
    import shlex

    return (
        f"{shlex.quote(sys.executable)} -m tune_flow.train --resume --out {shlex.quote(str(out))}"
    )


def _resume(args: argparse.Namespace) -> tuple[Path, FlowTrainer, RunWriter]:
    """The run to continue: ``--out``'s checkpoint, or that of ``runs/<run_name>`` of the given
    config. A config that differs from the run's is refused, except a new ``max_epochs``."""
    requested: dict[str, Any] = load_yaml_mapping(args.config, "config") if args.config else {}
    requested.update(parse_overrides(args.set))
    requested = absolute_paths(requested, Path.cwd())
    if args.out:
        out = Path(args.out)
    elif args.config:
        out = Path("runs") / TrainingConfig.from_dict(requested).run_name
    else:
        raise UserInputError("--resume needs --out DIR (or the --config the run was started with)")
    state = load_checkpoint(out / CHECKPOINT_FILENAME)
    stored = state["config"]
    wanted = TrainingConfig.from_dict({**stored, **requested}).to_dict()
    changed = {k: (stored[k], wanted[k]) for k in wanted if wanted[k] != stored.get(k)}
    for key, (before, after) in changed.items():
        if key not in EXTENDABLE_ON_RESUME + FREE_ON_RESUME:
            raise UserInputError(
                f"--resume: `{key}` is {after!r}, but the run in {str(out)!r} was trained with "
                f"{before!r}; a resumed run continues the run that was started (only "
                f"{', '.join(EXTENDABLE_ON_RESUME)} may change; use another --out for a new run)"
            )
    epoch = int(state["epoch"])
    if "max_epochs" in changed and wanted["max_epochs"] <= epoch:
        raise UserInputError(
            f"--resume: max_epochs {wanted['max_epochs']} is not past the run's epoch {epoch}"
        )
    writer = RunWriter(out, verbose=not args.quiet)
    overrides = {k: wanted[k] for k in changed}
    trainer = FlowTrainer.from_checkpoint(state, writer, **overrides)
    if "max_epochs" in changed:
        before, after = changed["max_epochs"]
        if trainer.stop_reason not in (None, "max_epochs"):
            raise UserInputError(
                f"--resume: the run in {str(out)!r} ended ({trainer.stop_reason}) at epoch "
                f"{epoch}; a longer max_epochs does not continue it"
            )
        trainer.stop_reason = None
        print(
            f"--resume: max_epochs {before} -> {after}: training goes on from epoch {epoch}, "
            "with the cosine schedule stretched to the new length"
        )
    elif trainer.stop_reason is not None:
        print(
            f"the run in {out} already ended ({trainer.stop_reason}) at epoch {epoch}; pass "
            "--set max_epochs=N to train longer"
        )
    print(f"resuming {out} after epoch {trainer.epoch}")
    return out, trainer, writer


@exits_cleanly_on_user_error
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    if args.eval_samples < 0:
        raise UserInputError(f"--eval-samples is {args.eval_samples}, but must be >= 0")

    if args.resume:
        out, trainer, writer = _resume(args)
    else:
        if not args.config and not args.set:
            raise UserInputError(
                "give --config FILE and/or --set key=value (arch, flow, dataset, aug, group are required)"
            )
        config = resolve_config(args.config, args.set)
        probe_config(config)  # the network, flow and data, on a tiny batch: one line if wrong
        out = Path(args.out) if args.out else Path("runs") / config.run_name
        if (out / CHECKPOINT_FILENAME).exists() or (out / SUMMARY_FILENAME).exists():
            raise UserInputError(
                f"run directory {str(out)!r} already holds a run; continue it with: "
                f"{_resume_command(out)} (add --set max_epochs=N to train longer), or choose "
                "another --out (nothing is overwritten)"
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
            f"continue with: {_resume_command(out)}",
            file=sys.stderr,
        )
        return exit_code(stop)
    if args.eval_samples:
        summary.update(evaluate_on_test_split(trainer, args.eval_samples))
    summary = {k: _json_safe(v) for k, v in summary.items()}
    (out / SUMMARY_FILENAME).write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"done: {summary['stop_reason']} after {summary['epochs_run']} epochs, best val_loss "
        f"{summary['best_val_loss']} at epoch {summary['best_epoch']}; results in {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
