"""How a search ended: every trial finished, or Tune stopped early; and the time budget's cuts.

Four things Ray 2.60 leaves out, all found by using the search the way a user would:

- **Was the search finished?** Tune's loop also ends on a signal it catches itself (SIGUSR1
  always, which batch schedulers such as Slurm send before a time limit; SIGINT unless
  ``TUNE_DISABLE_SIGINT_HANDLER``), and its clean-up then marks the running trials TERMINATED, so
  the results alone cannot tell an interrupted search from a finished one. :class:`SearchEnd`
  records every trial that Tune ended (``on_trial_complete`` / ``on_trial_error``), kept in Tune's
  callback state across ``--resume``; the search is finished when every trial is among them.
- **Trials the time budget cut.** When the budget runs out Tune marks every unfinished trial
  (running, waiting at an ASHA rung, pending) TERMINATED directly, not through ``stop_trial``
  (``TuneController._stop_experiment_if_needed``): neither the searcher nor the callbacks heard of
  them. Seen in a 16-trial ``arch.yaml`` search with ``--time-budget 18``: all 16 Optuna trials
  stayed RUNNING in the stored study (optuna-dashboard shows them running for ever; a later
  search in the same study counts them as running), the checkpoint pruner kept every trial's
  checkpoints, and trials.csv said ``asha``. :class:`SearchEnd` ends them the way ``stop_trial``
  would have, in the step the budget ran out (before Tune's last snapshot, which so holds it):
  the searcher records a trial that reported as PRUNED (its intermediate values are in the
  study), one that never reported as FAIL (TPE ignores it rather than taking an untried point for
  the worst); the stop reason reads ``time_budget``; and at the end of the experiment, once Tune
  has stopped their actors, the other callbacks get ``on_trial_complete`` for those that started.
- **Loggers of interrupted trials.** After a caught signal, Tune's clean-up stops the running
  trials without telling the callbacks; Ray's W&B callback then waits (``upload_timeout``, 30 min
  by default) for runs nobody ended. :class:`SearchEnd` has every logger close its trial.
- **Trials an earlier run ended.** A resumed search restores which trials ended from Tune's
  callback state; a trial restored as TERMINATED counts as ended too, since Tune never runs it
  again: the callback state can be older than the trials' (or set aside as unreadable,
  see ``resume.set_aside_unreadable_state``), and such a search would otherwise never finish.

The driver reads the outcome with :func:`take_outcome` once ``Tuner.fit`` has returned (the
callback of a resumed search is Tune's unpickled copy, not one the driver holds).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from ray.tune import Callback
from ray.tune.experiment import Trial
from ray.tune.logger import LoggerCallback
from ray.tune.stopper import TimeoutStopper

# The stop reason of a trial that the time budget ended (trials.csv, report, progress lines).
TIME_BUDGET_REASON = "time_budget"

# Keys of the time budgets that ran out in this process. Tune restores its own copy of the
# stopper from its snapshot on --resume, so the copy SearchEnd holds never sees stop_all called:
# the copies share a key.
_RAN_OUT: set[str] = set()


class SearchTimeBudget(TimeoutStopper):
    """Tune's own time budget (the stopper ``time_budget_s`` creates), remembering that it ran
    out, in every copy of it in this process."""

    def __init__(self, timeout: float) -> None:
        super().__init__(timeout)
        self.key = uuid.uuid4().hex

    @property
    def ran_out(self) -> bool:
        return self.key in _RAN_OUT

    def stop_all(self) -> bool:
        if super().stop_all():
            _RAN_OUT.add(self.key)
        return self.ran_out


@dataclass
class SearchOutcome:
    """``finished``: every trial ended by itself, by a scheduler, by an error or by the time
    budget (not by an interruption). ``stop_reasons``: trial id -> reason that Tune's snapshot
    may lack (the time budget's cuts of trials that had no actor, which Tune does not save)."""

    finished: bool
    stop_reasons: dict[str, str] = field(default_factory=dict)


_outcome: SearchOutcome | None = None


def take_outcome() -> SearchOutcome | None:
    """How the search that last ran in this process ended, once (then None, so that a later
    search without a SearchEnd, resumed from before it existed, never reads another's)."""
    global _outcome
    outcome, _outcome = _outcome, None
    return outcome


class SearchEnd(Callback):
    """Records which trials Tune ended, ends the ones the time budget cut, and publishes the
    :class:`SearchOutcome` at the end of the experiment.

    Args:
        budget: the search's time budget (None: none). searcher: its Searcher (None for a grid
            search). callbacks: the search's other callbacks, which get ``on_trial_complete`` for
            each cut trial that had started, and whose loggers close interrupted trials.
    """

    def __init__(
        self, budget: SearchTimeBudget | None, searcher: Any, callbacks: list[Callback]
    ) -> None:
        self.budget = budget
        self.searcher = searcher
        self.callbacks = callbacks
        self._ended: set[str] = set()
        self._cut: dict[str, str] = {}
        self._started: set[str] = set()  # in this run (the loggers opened something for them)
        self._to_announce: list[Trial] = []  # cut trials the other callbacks hear of at the end
        self._took_restored = False

    # Kept in Tune's callback state, so that a resumed search knows what its earlier runs ended.
    def get_state(self) -> dict[str, Any]:
        return {"ended": sorted(self._ended), "cut": dict(self._cut)}

    def set_state(self, state: dict[str, Any]) -> None:
        self._ended = set(state["ended"])
        self._cut = dict(state.get("cut", {}))

    def setup(self, **info: Any) -> None:
        global _outcome
        _outcome = None

    def on_trial_start(self, iteration: int, trials: list, trial: Trial, **info: Any) -> None:
        self._started.add(trial.trial_id)

    def on_trial_complete(self, iteration: int, trials: list, trial: Trial, **info: Any) -> None:
        self._ended.add(trial.trial_id)

    def on_trial_error(self, iteration: int, trials: list, trial: Trial, **info: Any) -> None:
        self._ended.add(trial.trial_id)

    def on_step_begin(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        # The first step: a trial already TERMINATED was restored so (errored ones are retried).
        # getattr: the copy of a search started before this attribute existed lacks it.
        if not getattr(self, "_took_restored", False):
            self._took_restored = True
            self._ended.update(t.trial_id for t in trials if t.status == Trial.TERMINATED)

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        if self.budget is None or not self.budget.ran_out:
            return
        for trial in trials:
            if trial.status == Trial.TERMINATED and trial.trial_id not in self._ended:
                self._end_cut_trial(trial)

    def _end_cut_trial(self, trial: Trial) -> None:
        # The dict Tune saves and builds the ResultGrid from. Not ``trial.last_result``: for a
        # trial that never reported it waits (ray.get) for its actor's first answer, and an actor
        # still waiting for resources never gives one: a search hung here for good (seen with
        # --wandb, whose logging actors slowed the trials' start).
        result = trial.run_metadata.last_result
        reported = "stop_reason" in result  # at least one epoch reached Tune
        if self.searcher is not None:
            # An empty stop_reason: cut, PRUNED; its own reason (it ended by itself just as the
            # budget ran out): COMPLETE; nothing reported: FAIL.
            self.searcher.on_trial_complete(
                trial.trial_id, result=dict(result) if reported else None, error=not reported
            )
        if not result.get("stop_reason"):  # what trials.csv, the report and the table say
            result["stop_reason"] = TIME_BUDGET_REASON
            trial.run_metadata.invalidate_cache()  # in Tune's snapshot too, where it is saved
            self._cut[trial.trial_id] = TIME_BUDGET_REASON
        # Ray's W&B callback fails on a trial it never saw start, and waits at the end of the
        # experiment (30 min by default) for the run of one it saw start but never saw end.
        if trial.trial_id in self._started:
            self._to_announce.append(trial)
        self._ended.add(trial.trial_id)

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        global _outcome
        # Only now: Tune has stopped the trials' actors, so no checkpoint of a cut trial can
        # still land after the checkpoint pruner has removed its others.
        for trial in self._to_announce:
            for callback in self.callbacks:
                callback.on_trial_complete(iteration=0, trials=trials, trial=trial)
        self._to_announce = []
        # Trials Tune's clean-up stopped (a caught signal): the loggers close what they opened
        # for them (W&B would otherwise wait 30 min for their runs), nobody else hears of them.
        for trial in trials:
            if trial.trial_id in self._started and trial.trial_id not in self._ended:
                for callback in self.callbacks:
                    if isinstance(callback, LoggerCallback):
                        callback.log_trial_end(trial, failed=False)
        finished = all(trial.trial_id in self._ended for trial in trials)
        _outcome = SearchOutcome(finished=finished, stop_reasons=dict(self._cut))
