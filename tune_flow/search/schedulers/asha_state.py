"""ASHA whose rung records survive ``Tuner.restore``.

Ray pickles the scheduler into ``tuner.pkl`` once, when the search starts, and never saves its
state again, so a resumed search starts with empty rungs: the trials reaching a rung after the
restore are compared only with each other, and far fewer are stopped (measured in
benchmarks/RESULTS.md). This subclass writes its rungs to a small JSON file in the experiment
directory whenever a rung records a result, and reads it back when Tune unpickles it on restore.

The file is named ``.jsonl`` (one JSON object on one line), not ``.json``: on ``--resume`` Tune
copies every ``*.json`` and ``*.pkl`` of the experiment directory into its driver staging
directory and from then on copies that directory back over the experiment directory at every
experiment checkpoint (``_ExperimentCheckpointManager.sync_down_experiment_state`` and
``sync_up_experiment_state``, Ray 2.60), so a ``.json`` rungs file reverted to its restore-time
contents during a resumed search, and a second resume lost the rungs the first one recorded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ray.tune.schedulers import ASHAScheduler

from tune_flow.search.state.json_files import write_json_atomically

STATE_FILENAME = "asha_state.jsonl"
LEGACY_STATE_FILENAME = "asha_state.json"  # searches started before the rename


class PersistentASHAScheduler(ASHAScheduler):
    """``ASHAScheduler`` plus ``state_path``: where its rungs are kept between runs."""

    def __init__(self, state_path: str | Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state_path = str(state_path)
        self._milestones = {m for bracket in self._brackets for m, _ in bracket._rungs}
        self._last_time: dict[str, float] = {}  # trial id -> its latest time_attr value

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        action = super().on_trial_result(tune_controller, trial, result)
        self._save_if_milestone(trial, result)
        return action

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict) -> None:
        super().on_trial_complete(tune_controller, trial, result)
        self._save_if_milestone(trial, result)

    def _save_if_milestone(self, trial: Any, result: dict) -> None:
        # Rungs change only when a trial's time reaches a milestone (in steps or samples seen it
        # passes it rather than hitting it exactly).
        now = result.get(self._time_attr)
        if now is None:
            return
        before = self._last_time.get(trial.trial_id, float("-inf"))
        self._last_time[trial.trial_id] = max(before, now)
        if not any(before < m <= now for m in self._milestones) and now not in self._milestones:
            return
        state = {
            "num_stopped": self._num_stopped,
            "brackets": [[[m, recorded] for m, recorded in b._rungs] for b in self._brackets],
        }
        write_json_atomically(self.state_path, state)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_last_time", {})
        path = Path(self.state_path)
        if path.name == LEGACY_STATE_FILENAME:  # started before the rename: move to the new name
            self.state_path = str(path.with_name(STATE_FILENAME))
            if Path(self.state_path).is_file():
                path = Path(self.state_path)
        if not path.is_file():
            return
        saved = json.loads(path.read_text())
        self._num_stopped = saved["num_stopped"]
        for bracket, rungs in zip(self._brackets, saved["brackets"], strict=True):
            bracket._rungs = [(milestone, dict(recorded)) for milestone, recorded in rungs]
