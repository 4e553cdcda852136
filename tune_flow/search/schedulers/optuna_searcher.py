"""Ray's ``OptunaSearch``, told the truth about early-stopped trials and sparse sample metrics.

Two changes to what Ray 2.60's searcher tells the Optuna study (checked against its source):

- A trial that ASHA or the median rule stopped, or the time budget cut (its last result has an
  empty ``stop_reason``: it did not end by itself) is recorded as PRUNED, the way Optuna's own
  pruners record it, not as COMPLETE with an early-epoch value; TPE would otherwise model a
  config cut at epoch 5 as if it had trained fully. Its intermediate values are in the study
  already. In a multi-objective study (which Optuna cannot prune) it is recorded as FAIL.
- Sample metrics (``w2``, ...) are reported on evaluation epochs only. Ray's ``on_trial_result``
  indexes the metric unconditionally (KeyError); here results without it are skipped, and the
  value is reported at the trial's epoch.

The study's objectives are named (``set_metric_names``) so that optuna-dashboard shows ``w2`` or
``val_loss``, not "Objective 0".
"""

from __future__ import annotations

import logging

from optuna.trial import TrialState
from ray.tune.search.optuna import OptunaSearch

logger = logging.getLogger(__name__)


class TruthfulOptunaSearch(OptunaSearch):
    """``OptunaSearch`` with PRUNED early-stopped trials, sparse metrics and named objectives."""

    # False restores Ray's behaviour (COMPLETE with the last value); benchmarks compare the two.
    record_stopped_as_pruned = True

    def _setup_study(self, mode: str | list[str]) -> None:
        super()._setup_study(mode)
        names = self.metric if isinstance(self.metric, list) else [self.metric]
        if self._ot_study is not None and all(names):
            try:
                self._ot_study.set_metric_names(list(names))
            except Exception as error:  # a stored study may already carry other names
                logger.warning("could not name the study's objectives: %s", error)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if isinstance(self.metric, list) or self.metric not in result:
            return
        if trial_id in self._completed_trials or trial_id not in self._ot_trials:
            return
        step = int(result.get("epoch", result.get("training_iteration", 0)))
        reported = self.__dict__.setdefault("_reported_steps", {}).setdefault(trial_id, set())
        if step not in reported:  # a restored trial repeats epochs; Optuna keeps the first value
            reported.add(step)
            self._ot_trials[trial_id].report(result[self.metric], step)

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        if trial_id in self._completed_trials or trial_id not in self._ot_trials:
            return  # told already (Ray's would warn), or not this searcher's (Ray's: KeyError)
        stopped_by_scheduler = (
            result is not None and not error and result.get("stop_reason", "done") == ""
        )
        if not stopped_by_scheduler or not self.record_stopped_as_pruned:
            super().on_trial_complete(trial_id, result, error)
            return
        if isinstance(self.metric, list):
            # Optuna prunes single-objective studies only, and a cut trial's last values (some
            # of them None: sample metrics are sparse) are no result: FAIL, which samplers skip.
            super().on_trial_complete(trial_id, None, error=True)
            return
        self._ot_study.tell(self._ot_trials[trial_id], state=TrialState.PRUNED)
        self._completed_trials.add(trial_id)
