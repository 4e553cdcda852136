"""ASHA by promotion (the ASHA paper's rule): a trial waits at a rung until it is among the best.

Ray's ``ASHAScheduler`` judges a trial once, when it reaches a rung, against the trials recorded
there so far, and stops it or lets it through for good. The first trials at every rung have
nobody to lose against and pass, so on ``arch.yaml`` (16 trials) 5-6 trials ran all 60 epochs and
ASHA + TPE used 40-47% of FIFO + random's epochs. The ASHA paper (Li et al., 2020, Algorithm 2)
*promotes* instead: a trial at rung ``m`` goes on only while it is in the top ``1/eta`` of the
trials recorded at ``m``; otherwise it pauses there (Tune keeps its rung checkpoint and frees its
resources) and is resumed from that checkpoint as soon as enough worse trials have arrived to put
it in the top ``1/eta``. Higher rungs are promoted from first.

At the end, when the searcher has nothing left and no trial runs or waits to start, the best
paused trial of the highest rung is promoted if that rung has promoted nobody yet (so the
search's best trial always trains on, even when a small search has fewer than ``eta`` trials
there), and every other paused trial is stopped; Optuna records it as PRUNED, like an ASHA stop.

Written by hand: Ray has no promotion-based ASHA (its ``HyperBandScheduler`` pauses too, but
synchronously, bracket by bracket, with rungs it derives from ``max_t`` alone). The rungs are kept
in a JSON file beside the experiment, as :mod:`tune_flow.search.schedulers.asha_state` does for Ray's ASHA,
so that ``--resume`` continues them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from tune_flow.search.schedulers.rungs import milestones
from tune_flow.search.state.json_files import write_json_atomically

# Not ".json": Tune would revert a .json file here during a resumed search (see asha_state.py).
STATE_FILENAME = "asha_promotion_state.jsonl"


class PromotingASHAScheduler(FIFOScheduler):
    """One-bracket ASHA that pauses trials at rungs and promotes the top ``1/reduction_factor``.

    Args:
        time_attr: the result field time counts in (``epoch``, ``step``, ``samples_seen``).
        max_t: every trial stops there. grace_period, reduction_factor: rungs at
            ``grace_period * reduction_factor**k`` below ``max_t`` (Ray's formula).
        state_path: where the rungs are kept between runs (None: not kept).
    """

    def __init__(
        self,
        time_attr: str,
        max_t: float,
        grace_period: float,
        reduction_factor: float,
        state_path: str | Path | None = None,
    ) -> None:
        super().__init__()
        self._metric: str | None = None
        self._mode = "min"
        self._time_attr = time_attr
        self._max_t = max_t
        self._eta = reduction_factor
        self.rungs = [m for m in milestones(grace_period, reduction_factor, max_t) if m < max_t]
        # rung -> {trial id: value, lower is better}; rung -> trial ids let through or resumed
        self.recorded: dict[float, dict[str, float]] = {m: {} for m in self.rungs}
        self.promoted: dict[float, set[str]] = {m: set() for m in self.rungs}
        self.state_path = None if state_path is None else str(state_path)
        self._load()

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        # Tune passes the search's metric and mode (TuneConfig) here, as to Ray's ASHA.
        if metric:
            self._metric = metric
        if mode:
            self._mode = mode
        return True

    # -- decisions -------------------------------------------------------------------------

    def _top(self, rung: float) -> list[str]:
        """The trials at ``rung`` that may go on: its best ``floor(n / eta)``."""
        recorded = self.recorded[rung]
        ranked = sorted(recorded, key=recorded.__getitem__)
        return ranked[: int(len(recorded) // self._eta)]

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        if self._time_attr not in result or self._metric not in result:
            return TrialScheduler.CONTINUE
        now = result[self._time_attr]
        if now >= self._max_t:
            return TrialScheduler.STOP
        passed = [m for m in self.rungs if m <= now]
        if not passed:
            return TrialScheduler.CONTINUE
        rung, trial_id = passed[-1], trial.trial_id
        if trial_id in self.promoted[rung]:
            return TrialScheduler.CONTINUE
        if trial_id not in self.recorded[rung]:
            sign = 1.0 if self._mode == "min" else -1.0
            value = sign * float(result[self._metric])
            # A diverged trial reports inf (NaN made inf by the trainable) in either mode: last.
            self.recorded[rung][trial_id] = value if math.isfinite(value) else math.inf
        # Also reached by a trial that Tune restarted (a retry; --resume re-queues every unfinished
        # trial, those waiting at a rung too) while it waited here: it trained one epoch past the
        # rung and waits again. (Put straight back to PAUSED instead, a trial that then never ran
        # again ended with an empty last result in Tune's ResultGrid: no epochs, no losses.)
        if trial_id in self._top(rung):
            self.promoted[rung].add(trial_id)
            decision = TrialScheduler.CONTINUE
        else:
            decision = TrialScheduler.PAUSE
        self._save()
        return decision

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        trials = tune_controller.get_trials()
        by_id = {trial.trial_id: trial for trial in trials}
        for rung in reversed(self.rungs):  # promotions first, from the highest rung
            for trial_id in self._top(rung):
                trial = by_id.get(trial_id)
                # Not promoted from here yet: waiting at this rung, not at a higher one.
                if (
                    trial is not None
                    and trial.status == Trial.PAUSED
                    and trial_id not in self.promoted[rung]
                ):
                    self.promoted[rung].add(trial_id)
                    self._save()
                    return trial
        for trial in trials:
            if trial.status == Trial.PENDING:
                return trial
        if any(t.status == Trial.RUNNING for t in trials):
            return None
        if not tune_controller.search_alg.is_finished():
            return None
        return self._end(tune_controller, [t for t in trials if t.status == Trial.PAUSED])

    def _end(self, tune_controller: Any, paused: list[Trial]) -> Trial | None:
        """Nothing runs and nothing new comes: promote the highest rung's best waiting trial if
        that rung has promoted none, else stop every paused trial."""
        if not paused:
            return None
        waiting = {t.trial_id for t in paused}
        for rung in reversed(self.rungs):
            here = [t for t in self.recorded[rung] if t in waiting]
            if not here:
                continue
            if not self.promoted[rung]:
                best = min(here, key=self.recorded[rung].__getitem__)
                self.promoted[rung].add(best)
                self._save()
                return next(t for t in paused if t.trial_id == best)
            break
        for trial in paused:
            tune_controller.stop_trial(trial)
        return None

    def debug_string(self) -> str:
        return "PromotingASHA: " + ", ".join(
            f"rung {m:g}: {len(self.recorded[m])} recorded, {len(self.promoted[m])} promoted"
            for m in self.rungs
        )

    # -- kept between runs -----------------------------------------------------------------

    def _save(self) -> None:
        if self.state_path is None:
            return
        state = {"rungs": [[m, self.recorded[m], sorted(self.promoted[m])] for m in self.rungs]}
        write_json_atomically(self.state_path, state)

    def _load(self) -> None:
        if self.state_path is None or not Path(self.state_path).is_file():
            return
        saved = json.loads(Path(self.state_path).read_text())
        for m, recorded, promoted in saved["rungs"]:
            if m in self.recorded:
                self.recorded[m] = {k: float(v) for k, v in recorded.items()}
                self.promoted[m] = set(promoted)

    def __setstate__(self, state: dict) -> None:
        # Tune unpickles the scheduler from tuner.pkl on --resume: the rungs come from the file.
        self.__dict__.update(state)
        self._load()
