"""``--time-budget``: trials the budget cuts end like trials a scheduler stops.

When Tune's time budget runs out it marks every unfinished trial (running, paused at an ASHA rung,
pending) TERMINATED directly, not through ``stop_trial`` (Ray 2.60,
``TuneController._stop_experiment_if_needed``): neither the searcher nor the callbacks hear that
those trials ended. Seen in a 16-trial ``arch.yaml`` search with ``--time-budget 18``: all 16
Optuna trials stayed RUNNING in the stored study (optuna-dashboard shows them running for ever; a
later search in the same study counts them as running, and TPE's constant liar keeps lying about
them), the checkpoint pruner kept every trial's checkpoints, and trials.csv said ``asha`` for
trials the budget had cut. :class:`TimeBudgetEnd` finishes them the way ``stop_trial`` would have:
the searcher records a trial that reported as PRUNED (intermediate values are in the study) and
one that never reported as FAIL (TPE ignores it rather than taking an untried point for the
worst), the other callbacks get ``on_trial_complete``, and the stop reason reads ``time_budget``.
"""

from __future__ import annotations

from typing import Any

from ray.tune import Callback
from ray.tune.experiment import Trial
from ray.tune.stopper import TimeoutStopper

# The stop reason of a trial that the time budget ended (trials.csv, report, progress lines).
TIME_BUDGET_REASON = "time_budget"


class SearchTimeBudget(TimeoutStopper):
    """Tune's own time budget (the stopper ``time_budget_s`` creates), remembering that it ran
    out: :class:`TimeBudgetEnd` must tell the budget's end from any other end of the search."""

    ran_out = False

    def stop_all(self) -> bool:
        if super().stop_all():
            self.ran_out = True
        return self.ran_out


class TimeBudgetEnd(Callback):
    """Ends the trials that the time budget cut as Tune's ``stop_trial`` ends trials.

    Args:
        budget: the search's stopper. searcher: its Searcher (None for a grid search).
        callbacks: the search's other callbacks, which get ``on_trial_complete`` for each cut
            trial; this callback must come before them, so that they hear it before their own
            ``on_experiment_end`` (W&B closes its runs there).
    """

    def __init__(self, budget: SearchTimeBudget, searcher: Any, callbacks: list[Callback]) -> None:
        self.budget = budget
        self.searcher = searcher
        self.callbacks = callbacks
        self._ended: set[str] = set()
        self._iteration = 0

    # Kept in Tune's callback state, so that a resumed search does not end again (and relabel)
    # the trials its first run already ended.
    def get_state(self) -> dict[str, Any]:
        return {"ended": sorted(self._ended)}

    def set_state(self, state: dict[str, Any]) -> None:
        self._ended = set(state["ended"])

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        self._iteration = iteration

    def on_trial_complete(self, iteration: int, trials: list, trial: Trial, **info: Any) -> None:
        self._ended.add(trial.trial_id)

    def on_trial_error(self, iteration: int, trials: list, trial: Trial, **info: Any) -> None:
        self._ended.add(trial.trial_id)

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        if not self.budget.ran_out:
            return
        for trial in trials:
            if trial.status != Trial.TERMINATED or trial.trial_id in self._ended:
                continue
            result = trial.last_result  # Tune's own dict: the ResultGrid is built from it
            reported = "stop_reason" in result  # at least one epoch reached Tune
            if self.searcher is not None:
                # An empty stop_reason: cut, PRUNED; its own reason (it ended by itself just as
                # the budget ran out): COMPLETE; nothing reported: FAIL.
                self.searcher.on_trial_complete(
                    trial.trial_id, result=dict(result) if reported else None, error=not reported
                )
            if not result.get("stop_reason"):  # what trials.csv, the report and the table say
                result["stop_reason"] = TIME_BUDGET_REASON
            for callback in self.callbacks:
                callback.on_trial_complete(iteration=self._iteration, trials=trials, trial=trial)
            self._ended.add(trial.trial_id)
