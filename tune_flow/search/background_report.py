"""Reporting an epoch to Tune while the next one trains.

``tune.report`` in a function trainable blocks until the driver has processed the result and
asked the trial for the next one: a round trip through the driver (its loggers, scheduler,
searcher and progress table) that took ~4.5 ms per epoch against ~25 ms of compute on the default
workload (18%; benchmarks/epoch_overhead.py). :class:`BackgroundReports` makes that wait overlap
the next epoch's compute instead, within limits that keep every guarantee of the synchronous call:

- at most one report in flight, in order: the next epoch's report first waits for it, and an
  error or Tune's stop request (``SystemExit`` from ``tune.report``) raised there is raised again in
  the training thread at that point, so a stopped trial ends within one epoch;
- reports with a checkpoint are synchronous, so a checkpoint is persisted and registered before
  training goes on (a crash right after it, the crash test, a resume, all see it), and ASHA's rungs,
  which always come with a checkpoint (see ``_EpochReporter``), cut a trial with no extra epoch;
- only short epochs go to the background (the longest of the last few under
  :data:`MAX_BACKGROUND_EPOCH_S`, and the trial's epoch reporter waits before an evaluation
  epoch): on long ones the round trip is noise, and a trial told to stop must end within Tune's
  2 s wait (``TUNE_FUNCTION_THREAD_TIMEOUT_S``), or Tune fails the next trial on its actor.

Written by hand: Tune has no asynchronous report for function trainables (``report`` releases
the trial only when the driver fetches the result).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Epochs shorter than this report in the background (a margin under the 2 s Tune waits for a
# stopped trial's thread); judged on the longest of the last RECENT_EPOCHS.
MAX_BACKGROUND_EPOCH_S = 0.5
RECENT_EPOCHS = 3

Send = Callable[[dict[str, Any], Path | None], None]


class BackgroundReports:
    """A reporter (``(metrics, checkpoint_dir) -> None``) that hands ``send`` calls without a
    checkpoint to a helper thread, one at a time. Call :meth:`wait` before the trial returns."""

    def __init__(self, send: Send, max_background_epoch_s: float = MAX_BACKGROUND_EPOCH_S) -> None:
        self.send = send
        self.max_background_epoch_s = max_background_epoch_s
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._last_call = time.monotonic()
        self._recent: deque[float] = deque(maxlen=RECENT_EPOCHS)
        self.background_reports = 0

    def __call__(self, metrics: dict[str, Any], directory: Path | None) -> None:
        now = time.monotonic()
        self._recent.append(now - self._last_call)
        self._last_call = now
        self.wait()
        if directory is not None or max(self._recent) >= self.max_background_epoch_s:
            self.send(metrics, directory)
            return
        self._thread = threading.Thread(
            target=self._send, args=(metrics,), name="tune_flow-report", daemon=True
        )
        self._thread.start()
        self.background_reports += 1

    def _send(self, metrics: dict[str, Any]) -> None:
        try:
            self.send(metrics, None)
        except BaseException as error:  # noqa: BLE001 - SystemExit is Tune's stop request
            self._error = error

    def wait(self) -> None:
        """Block until the report in flight has returned; raise what it raised."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error
