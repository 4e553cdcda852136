"""Tune's result.json and progress.csv loggers, which never copy an older file over a newer one.

Tune writes a trial's result.json and progress.csv in the driver's staging directory and copies
that directory to the storage path now and then. When a trial starts again on a new actor (a
promotion out of an ASHA rung, a retry), Ray 2.60's loggers first copy the file *from* the
storage path back over the staging file (``LoggerCallback._restore_from_remote``), meant for a
search resumed by a new driver. Within one driver that copy is never newer than the staging file
and is often older: a trial promoted out of rung 2 ended with epochs [3, 4] in its result.json,
epochs 1 and 2 overwritten by a storage copy from before they were written (seen by hand with
``asha_promote``; progress.csv can lose lines the same way). Tune's warning "Remote file not
found" came from the same copy, on a trial that restarted before the first one.

These loggers copy from the storage path only when the staging file does not exist yet, as on
``--resume`` (a new driver, an empty staging directory). Passed in the run's callbacks, they
replace the two Tune adds by default (as :mod:`tune_flow.search.callbacks.tensorboard_logging` does for
TensorBoard's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback


class _NewerStagingFileWins:
    """Overrides ``LoggerCallback._restore_from_remote`` (private in Ray 2.60)."""

    def _restore_from_remote(self, file_name: str, trial: Any) -> None:
        if Path(trial.local_path, file_name).exists():
            return  # this driver wrote it: as new as, or newer than, the storage path's copy
        super()._restore_from_remote(file_name, trial)  # type: ignore[misc]


class JsonLogger(_NewerStagingFileWins, JsonLoggerCallback):
    """Tune's result.json logger."""


class CsvLogger(_NewerStagingFileWins, CSVLoggerCallback):
    """Tune's progress.csv logger."""
