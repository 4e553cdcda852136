"""Disk grows with what is worth keeping, not with the number of trials.

Tune keeps ``num_to_keep`` checkpoints for every trial, finished or not, so a 200-trial search
keeps 400 checkpoints, most of them of trials ASHA cut at the first rung (Ray users run out of disk
exactly this way: ray-project/ray#9865, #23688, #30506). This callback deletes the checkpoints of
a trial once it has finished and is not among the ``top_k`` finished trials by the search metric,
and of any trial that later falls out of the top k. Running, paused and errored trials (``--resume``
restarts errored ones from their checkpoint) keep theirs, so retries and resume work unchanged.
"""

from __future__ import annotations

import math
from typing import Any

from ray.tune import Callback


class CheckpointPruner(Callback):
    """Deletes the checkpoints of finished trials outside the top ``top_k`` by ``metric``."""

    def __init__(self, metric: str, mode: str, top_k: int) -> None:
        self.metric = metric
        self.mode = mode
        self.top_k = max(1, top_k)
        self._best: dict[str, float] = {}  # trial id -> best value of the metric
        self._finished: dict[str, Any] = {}  # trial id -> trial (finished, checkpoints kept)
        self.pruned_checkpoints = 0
        self.pruned_bytes = 0

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        value = result.get(self.metric)
        if value is None or not math.isfinite(float(value)):
            return
        value = float(value)
        best = self._best.get(trial.trial_id)
        if best is None or (value < best if self.mode == "min" else value > best):
            self._best[trial.trial_id] = value

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finished[trial.trial_id] = trial
        sign = 1 if self.mode == "min" else -1
        # Best first; trials that never reached a finite value (diverged) last.
        ranked = sorted(
            self._finished,
            key=lambda t: (t not in self._best, sign * self._best.get(t, 0.0)),
        )
        for trial_id in ranked[self.top_k :]:
            self._prune(self._finished.pop(trial_id))

    def summary(self) -> str:
        return (
            f"pruned {self.pruned_checkpoints} checkpoint(s) ({self.pruned_bytes / 1e6:.1f} MB) of "
            f"finished trials outside the top {self.top_k}"
        )

    def _prune(self, trial: Any) -> None:
        """Delete the trial's checkpoint directories through its storage filesystem (a local
        directory, NFS, or a pyarrow URI alike)."""
        import pyarrow.fs

        fs, trial_path = trial.storage.storage_filesystem, trial.path
        entries = fs.get_file_info(pyarrow.fs.FileSelector(trial_path, allow_not_found=True))
        for entry in entries:
            if entry.type != pyarrow.fs.FileType.Directory or not entry.base_name.startswith(
                "checkpoint_"
            ):
                continue
            files = fs.get_file_info(pyarrow.fs.FileSelector(entry.path, recursive=True))
            self.pruned_bytes += sum(f.size or 0 for f in files)
            fs.delete_dir(entry.path)
            self.pruned_checkpoints += 1
