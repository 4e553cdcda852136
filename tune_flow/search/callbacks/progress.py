"""A concise live view of a running search, instead of Ray's full verbose log."""

from __future__ import annotations

import math
import sys
import time
from typing import Any

from ray.tune import Callback

from tune_flow.report.numbers import format_value
from tune_flow.search.state.chosen_model import selection_metric
from tune_flow.search.state.results import scheduler_label


class LiveTable(Callback):
    """Prints to the current ``sys.stdout`` (not a stored stream: Tune pickles its callbacks) a short table of trials every ``interval_s`` seconds and one line per finished trial.

    Args:
        metric: the searched metric. param_names: the searched parameters, shown per trial.
    """

    def __init__(
        self,
        metric: str,
        param_names: list[str],
        scheduler: str = "fifo",
        num_trials: int | None = None,
        interval_s: float = 15.0,
        mode: str = "min",
        sample_points: int | None = None,
    ) -> None:
        self.metric = metric
        # A sample metric is printed with its n and floor (what the data itself scores there).
        self.sample_points = sample_points
        self._floor = math.nan
        self.mode = mode
        # Sample metrics (w2, ...) arrive on evaluation epochs only: remember the latest (with its
        # epoch, since it can be several epochs old) and the best.
        self._latest: dict[str, tuple[int, float]] = {}
        self._best: dict[str, float] = {}
        self.num_trials = num_trials
        self.scheduler = scheduler
        self.param_names = param_names
        self.interval_s = interval_s
        self._last_print = 0.0
        self._finished = 0

    def _params(self, trial: Any) -> str:
        config = trial.config.get("grid_point", trial.config)
        return " ".join(f"{k}={format_value(config[k])}" for k in self.param_names if k in config)

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        if self.metric not in result:
            return
        value = float(result[self.metric])
        floor = result.get(f"{selection_metric(self.metric)[0]}_floor")
        if floor is not None and self.sample_points:
            self._floor = float(floor)
        self._latest[trial.trial_id] = (int(result.get("epoch", 0)), value)
        best = self._best.get(trial.trial_id)
        if math.isfinite(value) and (
            best is None or (value < best if self.mode == "min" else value > best)
        ):
            self._best[trial.trial_id] = value

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finished += 1
        result = trial.last_result or {}
        reason = result.get("stop_reason") or f"stopped by {scheduler_label(self.scheduler)}"
        best = self._best.get(trial.trial_id, math.nan)
        print(
            f"[{self._finished}/{self.num_trials or len(trials)}] {trial.trial_id} done: epoch {result.get('epoch', 0)}, "
            f"best {self.metric} {format_value(best)}{self._context()}, {reason}  "
            f"{self._params(trial)}",
            file=sys.stdout,
            flush=True,
        )

    def _context(self) -> str:
        """`` (n=500; floor 0.171)`` after a sample metric; "" after others."""
        if not self.sample_points or math.isnan(self._floor):
            return ""
        return f" (n={self.sample_points}; floor {format_value(self._floor)})"

    def _latest_value(self, trial_id: str) -> str:
        """The trial's latest value of the metric and its epoch, or that it has none yet (a sample
        metric is measured on evaluation epochs only)."""
        if trial_id not in self._latest:
            return f"{'-':>8} (not measured yet)"
        epoch, value = self._latest[trial_id]
        return f"{format_value(value):>8} (epoch {epoch})"

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finished += 1
        print(
            f"[{self._finished}/{self.num_trials or len(trials)}] {trial.trial_id} ERROR (see {trial.local_path})",
            file=sys.stdout,
            flush=True,
        )

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        now = time.monotonic()
        if now - self._last_print < self.interval_s:
            return
        self._last_print = now
        running = [t for t in trials if t.status == "RUNNING"]
        context = self._context()  # the sample metric's n and floor, once known
        counts: dict[str, int] = {}
        for t in trials:
            counts[t.status] = counts.get(t.status, 0) + 1
        print(
            "--- "
            + time.strftime("%H:%M:%S")
            + "  "
            + ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
            + (f"; {self.metric}{context}" if running and context else ""),
            file=sys.stdout,
        )
        for t in running:
            r = t.last_result or {}
            print(
                f"  {t.trial_id}  epoch {r.get('epoch', 0):>4}  {self.metric} "
                f"{self._latest_value(t.trial_id)}  {self._params(t)}",
                file=sys.stdout,
            )
        sys.stdout.flush()
