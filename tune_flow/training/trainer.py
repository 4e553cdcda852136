"""FlowTrainer: the flow-matching training loop, free of Ray.

Reporting goes through an ``on_epoch_end(metrics, trainer)`` callback, so the same loop runs in
the single-run CLI, in a Ray Tune trial and in tests.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from tune_flow.data import FlowData, build_data, floor_points
from tune_flow.data.augment import augmentation
from tune_flow.evaluation.in_trial import (
    SampleEvaluator,
    draw_source,
    fixed_source_draw,
    is_sample_metric,
)
from tune_flow.training.config import TrainingConfig
from tune_flow.training.device import available_cpus, describe_device, resolve_device
from tune_flow.training.early_stopping import EarlyStopping
from tune_flow.training.ema import EMAModel
from tune_flow.training.flows import PathSample, needs_noise
from tune_flow.training.rng import get_rng_state, seed_everything, set_rng_state
from tune_flow.training.schedule import get_cosine_schedule_with_warmup
from tune_flow.training.train_step import build_train_step

logger = logging.getLogger(__name__)

EpochCallback = Callable[[dict[str, Any], "FlowTrainer"], None]
# Units a search can count a trial's progress in (ASHA's ``time_attr``), reported every epoch.
TIME_ATTRIBUTES = ("epoch", "step", "samples_seen")

# The validation draws (x_0, t, eps) come from this fixed seed, not the trial's, so every trial
# and every epoch is judged on the same points: val-loss differences come from the models.
VALIDATION_SEED = 1234
VALIDATION_CHUNK = 8192  # rows per forward pass in validation: few large batches
# A checkpoint carries at most this many source rows for sampling (see FlowTrainer.sampling_state).
SOURCE_POOL_MAX_ROWS = 10_000


class FlowTrainer:
    """Train a velocity network with conditional flow matching.

    Args:
        config: the run; validated on construction.
        on_epoch_end: called after every epoch with the epoch's metrics (``epoch``,
            ``train_loss``, ``val_loss`` (EMA weights), ``raw_val_loss``, ``best_val_loss``,
            ``lr``, ``samples_per_second``, ``improved``, ``stop_reason``, ``step``,
            ``samples_seen``, ``num_parameters``; on evaluation epochs also the sample metrics
            of :mod:`tune_flow.evaluation.in_trial`, such as ``w2``, and
            ``evaluation_seconds``, their cost) and the trainer.
    """

    def __init__(self, config: TrainingConfig, on_epoch_end: EpochCallback | None = None) -> None:
        self.config = config.validate()
        self.on_epoch_end = on_epoch_end
        self._setup()

    # ------------------------------------------------------------------ set-up
    def _setup(self) -> None:
        config = self.config
        torch.set_num_threads(config.num_threads or available_cpus())
        self.device = resolve_device(config.device)
        # Always say where the run is, with the GPU's name: the first thing to check when a
        # trial is slower than expected or two trials land on one card.
        print(describe_device(self.device), flush=True)
        seed_everything(config.seed)

        self.data: FlowData = build_data(config)
        self.x_1_train = self.data.x_1_train.to(self.device)
        self.x_0_train = (
            None if self.data.x_0_train is None else self.data.x_0_train.to(self.device)
        )
        self.num_train = len(self.x_1_train)
        self.batch_size = min(config.batch_size, self.num_train)
        # Whole batches only: every step sees the same shape (no tiny last batch, no recompiles).
        self.steps_per_epoch = self.num_train // self.batch_size
        self.augment = augmentation(config.aug)

        self.flow = config.build_flow()
        self.flow_needs_noise = needs_noise(self.flow)  # fixed for the run: not asked per step
        self.model: nn.Module = config.build_network(self.data.shape).to(self.device)
        # Fused AdamW: one kernel for all parameters; on the CPU it measured ~7x faster than the
        # default foreach implementation for a 1.3M-parameter model (benchmarks/RESULTS.md).
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay,
            fused=self.device.type in ("cpu", "cuda"),
        )  # fmt: skip
        self.scheduler = get_cosine_schedule_with_warmup(
            self.optimizer,
            num_warmup_steps=config.warmup_steps,
            num_training_steps=config.max_epochs * self.steps_per_epoch,
            min_lr_ratio=config.min_lr_ratio,
        )
        self.ema = EMAModel(self.model, config.ema_decay)
        self.train_step = build_train_step(
            self.model, self.optimizer, self.ema, config.grad_clip, self.device, config.compile_step
        )
        self.early_stopping = EarlyStopping(patience=config.patience, min_delta=config.min_delta)
        self.generator = torch.Generator(self.device).manual_seed(config.seed)
        self.val_path = self._fixed_validation_path()
        self.num_parameters = sum(p.numel() for p in self.model.parameters())
        self.evaluator = self._sample_evaluator() if config.eval_samples > 0 else None
        # Extra evaluation points as (time attribute, value): a search puts its ASHA rungs here
        # so that every rung decision on a sample metric sees a value computed at that rung.
        self.eval_milestones: list[tuple[str, float]] = []

        self.epoch = 0
        self.global_step = 0
        self.history: list[dict[str, Any]] = []
        self.stop_reason: str | None = None
        self.train_seconds = 0.0
        self._sampling_state: dict[str, Any] | None = None

    def draw_source(
        self, n: int, generator: torch.Generator, pool: torch.Tensor | None
    ) -> torch.Tensor:
        """``n`` source points x_0 (n, *shape): standard normal, or rows drawn from ``pool``."""
        return draw_source(n, self.data.shape, self.device, generator, pool)

    def _sample_evaluator(self) -> SampleEvaluator:
        """Judge on the validation split (original units) from one fixed source draw."""
        config = self.config
        pool = None if self.data.x_0_val is None else self.data.x_0_val
        x_0 = fixed_source_draw(config.eval_samples, self.data.shape, self.device, pool)
        reference = self.data.stats.denormalize(self.data.x_1_val[: config.eval_samples])
        independent = floor_points(config, self.data, len(x_0))
        return SampleEvaluator(
            x_0, reference, config.eval_steps, config.eval_method, self.data.stats, independent
        )

    def time_at(self, attribute: str, epoch: int) -> float:
        """A time attribute (:data:`TIME_ATTRIBUTES`) after ``epoch`` whole epochs."""
        steps = epoch * self.steps_per_epoch
        return {"epoch": epoch, "step": steps, "samples_seen": steps * self.batch_size}[attribute]

    def evaluation_due(self, epoch: int) -> bool:
        """Every ``eval_every`` epochs, at the last epoch, and at the first epoch at or past each
        milestone (where ASHA's rung records its value)."""
        if self.stop_reason is not None:
            return True
        if self.config.eval_every and epoch % self.config.eval_every == 0:
            return True
        return any(
            self.time_at(attribute, epoch - 1) < value <= self.time_at(attribute, epoch)
            for attribute, value in self.eval_milestones
        )

    def evaluate_samples(self) -> dict[str, float]:
        """Sample metrics of the EMA weights now (see :mod:`tune_flow.evaluation.in_trial`)."""
        assert self.evaluator is not None
        with self.ema.average_parameters(self.model):
            return self.evaluator(self.model)

    def _fixed_validation_path(self) -> PathSample:
        """Validation points on the path, drawn once from :data:`VALIDATION_SEED`."""
        gen = torch.Generator(self.device).manual_seed(VALIDATION_SEED)
        x_1 = self.data.x_1_val.to(self.device)
        pool = None if self.data.x_0_val is None else self.data.x_0_val.to(self.device)
        x_0 = self.draw_source(len(x_1), gen, pool)
        t = torch.rand(len(x_1), generator=gen, device=self.device)
        eps = torch.randn(x_1.shape, generator=gen, device=self.device)
        # Pair in training-sized chunks so OT-CFM's coupling matches what training sees.
        parts = [
            self.flow.sample_path(
                x_0[i : i + self.batch_size],
                x_1[i : i + self.batch_size],
                t[i : i + self.batch_size],
                eps[i : i + self.batch_size],
            )
            for i in range(0, len(x_1), self.batch_size)
        ]
        return PathSample(
            *(torch.cat([getattr(p, f) for p in parts]) for f in ("x_0", "x_1", "t", "x_t", "dx_t"))
        )

    # ------------------------------------------------------------------ loop
    def train_epoch(self) -> float:
        """One pass over the training split; returns the mean training loss (one host sync)."""
        self.model.train()
        gen, batch = self.generator, self.batch_size
        perm = torch.randperm(self.num_train, generator=gen, device=self.device)
        loss_sum = torch.zeros((), device=self.device)
        for step in range(self.steps_per_epoch):
            x_1 = self.augment(
                self.x_1_train[perm[step * batch : (step + 1) * batch]], self.config.aug_std, gen
            )
            x_0 = self.draw_source(batch, gen, self.x_0_train)
            t = torch.rand(batch, generator=gen, device=self.device)
            eps = (
                torch.randn(x_1.shape, generator=gen, device=self.device)
                if self.flow_needs_noise
                else None
            )
            path = self.flow.sample_path(x_0, x_1, t, eps)
            # Forward, MSE, backward, clipping, AdamW, EMA (train_step.py: eager or compiled).
            loss_sum += self.train_step(path.x_t, path.t, path.dx_t)  # no .item() per step
            self.scheduler.step()  # under compile_step, fills the tensor learning rate in place
        self.global_step += self.steps_per_epoch
        return (loss_sum / self.steps_per_epoch).item()

    @torch.no_grad()
    def _loss_on(self, path: PathSample) -> float:
        total = torch.zeros((), device=self.device)
        for i in range(0, len(path.t), VALIDATION_CHUNK):
            v = self.model(path.x_t[i : i + VALIDATION_CHUNK], path.t[i : i + VALIDATION_CHUNK])
            total += (v - path.dx_t[i : i + VALIDATION_CHUNK]).square().sum()
        return (total / path.dx_t.numel()).item()

    def validate(self) -> dict[str, float]:
        """``val_loss`` with the EMA weights and ``raw_val_loss`` with the raw ones (MSE)."""
        self.model.eval()
        raw_val_loss = self._loss_on(self.val_path)
        with self.ema.average_parameters(self.model):
            val_loss = self._loss_on(self.val_path)
        return {"val_loss": val_loss, "raw_val_loss": raw_val_loss}

    def train(self) -> dict[str, Any]:
        """Run epochs until ``max_epochs``, patience or divergence; return :meth:`summary`.

        Continues from ``self.epoch`` after :meth:`load_state_dict`.
        """
        while self.stop_reason is None and self.epoch < self.config.max_epochs:
            started = time.perf_counter()
            lr = float(self.optimizer.param_groups[0]["lr"])  # a tensor under compile_step
            train_loss = self.train_epoch()
            train_seconds = time.perf_counter() - started
            self.train_seconds += train_seconds
            self.epoch += 1

            metrics = {"val_loss": math.nan, "raw_val_loss": math.nan}
            if math.isfinite(train_loss):
                metrics = self.validate()
            improved = self.early_stopping(metrics["val_loss"])
            if not (math.isfinite(train_loss) and math.isfinite(metrics["val_loss"])):
                self.stop_reason = "diverged"
            elif self.early_stopping.should_stop:
                self.stop_reason = "patience"
            elif self.epoch >= self.config.max_epochs:
                self.stop_reason = "max_epochs"
            metrics.update(
                epoch=self.epoch,
                train_loss=train_loss,
                best_val_loss=self.early_stopping.best,
                lr=lr,
                samples_per_second=self.steps_per_epoch * self.batch_size / train_seconds,
                improved=improved,
                stop_reason=self.stop_reason or "",
                step=self.global_step,
                samples_seen=self.global_step * self.batch_size,
                num_parameters=self.num_parameters,
            )
            # A diverged model has nothing to sample; the search reports it as inf.
            if (
                self.evaluator is not None
                and self.stop_reason != "diverged"
                and self.evaluation_due(self.epoch)
            ):
                started = time.perf_counter()
                metrics.update(self.evaluate_samples())
                # What the sample metrics cost (sampling and scoring, seconds): a search's
                # overhead for ranking by them (benchmarks/selection_regret.py sums it).
                metrics["evaluation_seconds"] = time.perf_counter() - started
            self.history.append(metrics)
            if self.on_epoch_end is not None:
                self.on_epoch_end(metrics, self)
        return self.summary()

    def summary(self) -> dict[str, Any]:
        """best_val_loss, best_epoch, epochs_run, stop_reason, seconds, samples_per_second, ..."""
        last = self.history[-1] if self.history else {}
        return {
            "run_name": self.config.run_name,
            "best_val_loss": self.early_stopping.best,
            "best_epoch": self.early_stopping.best_epoch,
            "final_val_loss": last.get("val_loss", math.nan),
            "final_raw_val_loss": last.get("raw_val_loss", math.nan),
            "final_train_loss": last.get("train_loss", math.nan),
            "epochs_run": self.epoch,
            "stop_reason": self.stop_reason,
            "seconds": self.train_seconds,
            "samples_per_second": self.epoch
            * self.steps_per_epoch
            * self.batch_size
            / max(self.train_seconds, 1e-9),
            "num_parameters": self.num_parameters,
            "device": str(self.device),
            # The last in-trial evaluation (validation split), e.g. ``w2``; {} when off.
            "sample_metrics": next(
                (
                    {k: v for k, v in h.items() if is_sample_metric(k)}
                    for h in reversed(self.history)
                    if "w2" in h
                ),
                {},
            ),
        }

    # ------------------------------------------------------------------ state
    def ema_model_state(self) -> dict[str, torch.Tensor]:
        """The model's ``state_dict`` with the EMA weights (what sampling uses)."""
        with self.ema.average_parameters(self.model):
            return {k: v.detach().clone().cpu() for k, v in self.model.state_dict().items()}

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: the resolved config included."""
        return {
            "config": self.config.to_dict(),
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "early_stopping": self.early_stopping.state_dict(),
            "epoch": self.epoch,
            "global_step": self.global_step,
            "history": self.history,
            "stop_reason": self.stop_reason,
            "train_seconds": self.train_seconds,
            "generator": self.generator.get_state(),
            "rng": get_rng_state(),
            **self.sampling_state(),
        }

    def sampling_state(self) -> dict[str, Any]:
        """What sampling needs besides the config and the weights, so that a checkpoint is enough
        to sample from once the data file is moved or deleted: the normalisation statistics, the
        point shape, and the source pool (the normalised test split of a source dataset, at most
        :data:`SOURCE_POOL_MAX_ROWS` rows; None for a standard-normal source). Fixed for the run,
        so built once: a search copies it into every best-model snapshot."""
        if self._sampling_state is None:
            pool = self.data.x_0_test
            self._sampling_state = {
                "normalization_stats": self.data.stats.to_dict(),
                "shape": list(self.data.shape),
                "dim": self.data.dim,  # numbers per point, as files before "shape" had it
                "source_pool": None if pool is None else pool[:SOURCE_POOL_MAX_ROWS].clone(),
            }
        return self._sampling_state

    def model_file(self, metric: str, value: float) -> dict[str, Any]:
        """A self-contained model file of the EMA weights now (``best_model.pt``): config,
        weights, epoch, why they were kept (``metric`` at ``value``) and :meth:`sampling_state`."""
        return {
            "config": self.config.to_dict(),
            "model": self.ema_model_state(),
            "epoch": self.epoch,
            "metric": metric,
            "value": float(value),
            **self.sampling_state(),
        }

    @property
    def stats(self) -> Any:
        """The ``NormalizationStats`` mapping generated points back to original units."""
        return self.data.stats

    @property
    def shape(self) -> tuple[int, ...]:
        """One data point's shape."""
        return self.data.shape

    @property
    def source_pool(self) -> torch.Tensor | None:
        """Source points sampling draws x_0 from (the test split's); None: standard normal."""
        return self.data.x_0_test

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        # A copy: Optimizer.load_state_dict keeps the given tensors (``.to()`` on the same device
        # and dtype copies nothing), so training would change the caller's state in place, and a
        # second trainer loaded from the same dict would start from moved moments.
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))
        # Learning rates as this trainer's step takes them (a checkpoint of a compile_step run
        # holds tensors, one of an eager run floats).
        self.train_step.prepare_optimizer()
        self.scheduler.load_state_dict(state["scheduler"])
        self.early_stopping.load_state_dict(state["early_stopping"])
        self.epoch = int(state["epoch"])
        self.global_step = int(state["global_step"])
        self.history = list(state["history"])
        self.stop_reason = state["stop_reason"]
        self.train_seconds = float(state["train_seconds"])
        self.generator.set_state(state["generator"])
        set_rng_state(state["rng"])

    @classmethod
    def from_checkpoint(
        cls, state: dict[str, Any], on_epoch_end: EpochCallback | None = None, **overrides: Any
    ) -> FlowTrainer:
        """Rebuild a trainer from a checkpoint's state (its stored config, plus ``overrides`` such
        as ``device`` or ``num_threads`` that do not change the run's maths)."""
        config = TrainingConfig.from_dict({**state["config"], **overrides})
        trainer = cls(config, on_epoch_end)
        trainer.load_state_dict(state)
        return trainer
