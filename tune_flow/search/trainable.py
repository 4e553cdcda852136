"""The Ray Tune function trainable: the only module that knows both Ray and the trainer.

``train_flow(config, base=...)`` builds a :class:`TrainingConfig` from the sampled parameters over
the space's fixed ``base``, resumes from ``tune.get_checkpoint()`` when Tune restarts the trial,
and reports every epoch through ``ray.tune.report``. :func:`run_trial` is the same code with the
reporter passed in, which is how ``--debug`` runs a trial in-process without Ray.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tune_flow.evaluation.in_trial import is_sample_metric
from tune_flow.search.background_report import BackgroundReports
from tune_flow.training.checkpoint import (
    BEST_MODEL_FILENAME,
    BEST_VAL_LOSS_MODEL_FILENAME,
    CHECKPOINT_FILENAME,
    load_checkpoint,
    save_checkpoint,
)
from tune_flow.training.config import TrainingConfig
from tune_flow.training.trainer import FlowTrainer

# Metrics reported to Tune each epoch (plus `stop_reason`, a string, "" while running). The sample
# metrics (w2, energy_distance, ...) are reported on evaluation epochs only, so that no scheduler or
# searcher ever sees a stale value (see tune_flow.evaluation.in_trial).
REPORTED = (
    "epoch",
    "step",
    "samples_seen",
    "train_loss",
    "val_loss",
    "raw_val_loss",
    "best_val_loss",
    "lr",
    "samples_per_second",
    "num_parameters",
)
# Test-only switch: "EPOCH" makes the first attempt of each trial exit its worker process hard
# after that epoch (a real process death, for testing FailureConfig retries). Never set by users.
CRASH_ONCE_ENV = "TUNE_FLOW_TEST_CRASH_AT_EPOCH"
# A better model than the last checkpoint holds is written at most this long after it was found:
# trials can also be stopped between checkpoints (median stopping rule, --time-budget).
BEST_MODEL_MAX_AGE_S = 5.0

Reporter = Callable[[dict[str, Any], Path | None], None]


@dataclass(frozen=True)
class Objective:
    """What the search ranks trials by: ``metric`` (the first objective) and ``mode``, and the
    points (``time_attr`` values: ASHA's rungs) where trials must evaluate their sample metrics."""

    metric: str = "val_loss"
    mode: str = "min"
    milestones: tuple[tuple[str, float], ...] = ()

    def better(self, value: float, best: float | None, ties: bool = False) -> bool:
        """``value`` beats ``best`` (None: nothing yet); with ``ties``, equal counts too."""
        if not math.isfinite(value):
            return False
        if best is None or (ties and value == best):
            return True
        return value < best if self.mode == "min" else value > best


def trial_config(params: dict[str, Any], base: dict[str, Any]) -> TrainingConfig:
    """The run a trial trains: sampled ``params`` over ``base``; internal keys (``_...``, such as
    the quantiles behind normal/beta parameters) are dropped."""
    values = {**base, **{k: v for k, v in params.items() if not k.startswith("_")}}
    return TrainingConfig.from_dict(values)


def search_metrics(metrics: dict[str, Any], objective: Objective = Objective()) -> dict[str, Any]:
    """What the search sees each epoch. A diverged epoch's losses (and sample metrics) become
    +inf: Optuna records inf as a completed, worst-possible value (NaN would fail the trial and
    teach TPE nothing), ASHA ranks it last, and it can never be the best."""
    out = {key: float(metrics[key]) for key in REPORTED}
    for key in ("epoch", "step", "samples_seen", "num_parameters"):
        out[key] = int(metrics[key])
    out.update({k: float(v) for k, v in metrics.items() if is_sample_metric(k)})
    if "evaluation_seconds" in metrics:  # evaluation epochs: what the sample metrics cost
        out["evaluation_seconds"] = float(metrics["evaluation_seconds"])
    if metrics["stop_reason"] == "diverged" and is_sample_metric(objective.metric):
        out[objective.metric] = math.inf
    for key, value in out.items():
        if isinstance(value, float) and math.isnan(value):
            out[key] = math.inf
    out["stop_reason"] = metrics["stop_reason"]
    return out


class _EpochReporter:
    """Epoch callback: keeps the best model, decides when to checkpoint, then hands metrics (+
    checkpoint dir) on.

    The EMA weights at the best value of the search metric so far are kept in memory (a copy of
    the model's weights: no I/O) and written as ``best_model.pt`` next to ``checkpoint.pt`` in every
    checkpoint. Checkpoints are written every ``checkpoint_every`` epochs (so a crash loses at most
    that many), at the first epoch at or past each ASHA rung and max_t (where ASHA may stop the
    trial), at the last epoch, and when the model improved at least :data:`BEST_MODEL_MAX_AGE_S`
    after the last checkpoint (for stops between those points: the median rule, a time budget).
    So a trial's latest checkpoint holds its best model, except for improvements of its last few
    seconds when Tune stopped it between checkpoints; and a search writes about one checkpoint
    per ``checkpoint_every`` epochs instead of one per improvement, which was nearly every epoch
    early in training (measured: 10-15% of a 25 ms epoch on the default workload,
    benchmarks/epoch_overhead.py)."""

    def __init__(
        self,
        report: Reporter,
        objective: Objective,
        crash_at_epoch: int | None = None,
        keep_best: bool = True,
    ) -> None:
        self.report = report
        self.objective = objective
        self.crash_at_epoch = crash_at_epoch
        self.keep_best = keep_best  # False: checkpoints hold the latest weights only (studies)
        # {"config", "model" (EMA state_dict, CPU), "epoch", "metric", "value"}; None until the
        # search metric first has a finite value.
        self.best: dict[str, Any] | None = None
        # The EMA weights at the best val_loss, when the search ranks by another metric: a third
        # candidate for the final selection (tune_flow.selection), which judges weights by many
        # samples rather than by the noisy in-trial score that chose self.best.
        self.best_val_loss: dict[str, Any] | None = None
        self._best_written = True  # the latest checkpoint holds self.best
        self._last_checkpoint = time.monotonic()

    def _improved(self, reported: dict[str, Any], trainer: FlowTrainer) -> bool:
        metric = self.objective.metric
        if metric == "val_loss":
            return bool(trainer.history[-1]["improved"])
        if metric not in trainer.history[-1]:
            return False
        # Ties count: a metric constant within a trial (num_parameters as the first objective)
        # then keeps the latest weights rather than the first epoch's.
        return self.objective.better(
            reported[metric], None if self.best is None else float(self.best["value"]), ties=True
        )

    def _at_rung(self, trainer: FlowTrainer, epoch: int) -> bool:
        """The first epoch at or past an ASHA rung (where the rung records this trial)."""
        return any(
            trainer.time_at(attribute, epoch - 1) < value <= trainer.time_at(attribute, epoch)
            for attribute, value in self.objective.milestones
        )

    def __call__(self, metrics: dict[str, Any], trainer: FlowTrainer) -> None:
        reported = search_metrics(metrics, self.objective)
        epoch = metrics["epoch"]
        if self.keep_best and self._improved(reported, trainer):
            self.best = trainer.model_file(self.objective.metric, reported[self.objective.metric])
            self._best_written = False
        if self.keep_best and self.objective.metric != "val_loss" and metrics["improved"]:
            self.best_val_loss = trainer.model_file("val_loss", reported["val_loss"])
        wants_checkpoint = (
            epoch % trainer.config.checkpoint_every == 0
            or bool(metrics["stop_reason"])
            or self._at_rung(trainer, epoch)
            or (
                not self._best_written
                and time.monotonic() - self._last_checkpoint >= BEST_MODEL_MAX_AGE_S
            )
        )
        if not wants_checkpoint:
            self.report(reported, None)
            # A long next epoch (an evaluation) must not run while Tune may be stopping this
            # trial: Tune waits 2 s for a stopped trial's thread before reusing its actor.
            if trainer.evaluator is not None and trainer.evaluation_due(epoch + 1):
                self._wait_for_report()
        else:
            with tempfile.TemporaryDirectory(prefix="tune_flow_ckpt_") as directory:
                save_checkpoint(trainer.state_dict(), Path(directory) / CHECKPOINT_FILENAME)
                if self.best is not None:
                    save_checkpoint(self.best, Path(directory) / BEST_MODEL_FILENAME)
                if self.best_val_loss is not None:
                    save_checkpoint(
                        self.best_val_loss, Path(directory) / BEST_VAL_LOSS_MODEL_FILENAME
                    )
                self.report(reported, Path(directory))
            self._best_written, self._last_checkpoint = True, time.monotonic()
        if epoch == self.crash_at_epoch:
            self._wait_for_report()  # the epoch's report lands first, as a synchronous one would
            os._exit(1)

    def _wait_for_report(self) -> None:
        """Until the report in flight has reached Tune (a :class:`BackgroundReports`; other
        reporters are synchronous)."""
        if isinstance(self.report, BackgroundReports):
            self.report.wait()


def run_trial(
    params: dict[str, Any],
    base: dict[str, Any],
    report: Reporter,
    checkpoint_dir: Path | None = None,
    num_threads: int | None = None,
    crash_at_epoch: int | None = None,
    objective: Objective = Objective(),
) -> dict[str, Any]:
    """Train one trial, resuming from ``checkpoint_dir`` when given; return the summary."""
    overrides = {"num_threads": num_threads} if num_threads else {}
    callback = _EpochReporter(report, objective, crash_at_epoch)
    if checkpoint_dir is not None:
        state = load_checkpoint(checkpoint_dir / CHECKPOINT_FILENAME)
        trainer = FlowTrainer.from_checkpoint(state, callback, **overrides)
        if (checkpoint_dir / BEST_MODEL_FILENAME).exists():  # the best model so far goes on
            callback.best = load_checkpoint(checkpoint_dir / BEST_MODEL_FILENAME)
        if (checkpoint_dir / BEST_VAL_LOSS_MODEL_FILENAME).exists():
            callback.best_val_loss = load_checkpoint(checkpoint_dir / BEST_VAL_LOSS_MODEL_FILENAME)
    else:
        config = trial_config(params, base)
        if overrides:
            config = config.replace(**overrides)
        trainer = FlowTrainer(config, callback)
    if is_sample_metric(objective.metric):
        trainer.eval_milestones = list(objective.milestones)
    if trainer.stop_reason is not None and trainer.history:
        # Restored from the checkpoint of its last epoch (a driver killed after the trial wrote
        # it, before Tune recorded the end): nothing to train, but Tune must still see the final
        # result with its stop reason, or the trial ends without one. The checkpoint exists.
        report(search_metrics(trainer.history[-1], objective), None)
    return trainer.train()


def train_flow(
    config: dict[str, Any],
    base: dict[str, Any] | None = None,
    objective: Objective = Objective(),
) -> None:
    """Ray Tune function trainable. ``config``: the sampled parameters; ``base``: fixed values
    and ``objective``: the search metric (both bound with ``tune.with_parameters``)."""
    import ray
    from ray import tune

    node_id = ray.get_runtime_context().get_node_id()  # which node ran it, in multi-node searches

    def send(metrics: dict[str, Any], directory: Path | None) -> None:
        metrics = {**metrics, "node_id": node_id}
        if directory is None:
            tune.report(metrics)
        else:
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(directory)))

    # The driver round trip of each report overlaps the next epoch (see background_report.py).
    report = BackgroundReports(send)

    # Torch threads follow the CPUs Ray gave this trial (Ray sets OMP_NUM_THREADS, not torch).
    cpus = tune.get_context().get_trial_resources().required_resources.get("CPU", 1)
    num_threads = max(1, int(cpus))
    params = config.get("grid_point", config)
    checkpoint = tune.get_checkpoint()
    try:
        if checkpoint is None:
            crash = os.environ.get(CRASH_ONCE_ENV)  # first attempts only: retries have one
            run_trial(
                params,
                base or {},
                report,
                num_threads=num_threads,
                crash_at_epoch=int(crash) if crash else None,
                objective=objective,
            )
        else:
            with checkpoint.as_directory() as directory:
                run_trial(
                    params, base or {}, report, Path(directory), num_threads=num_threads,
                    objective=objective,
                )  # fmt: skip
    except BaseException:
        with contextlib.suppress(BaseException):  # the result in flight still reaches Tune
            report.wait()
        raise
    report.wait()  # the last result reaches Tune before the trial ends
