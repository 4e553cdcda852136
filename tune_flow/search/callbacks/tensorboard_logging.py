"""TensorBoard files for every trial, as Ray Tune writes them, without tensorboardX's writer thread.

Ray's ``TBXLoggerCallback`` logs every numeric result field (~17 per epoch here) through
tensorboardX, whose event writer hands each event to a thread through a ``multiprocessing.Queue``
of 10: pickled, sent through a pipe and unpickled again inside the same process, the driver
blocking whenever the queue is full; and every flush (Tune flushes after every result) fsyncs the
file. In a profile of the default search that was about a third of the driver's CPU during
``Tuner.fit``, and the driver shares the machine's cores with the trials. Here each event is
written in the caller's thread and the file is fsynced once, at close
(``benchmarks/tensorboard_writer.py`` measures both). Same files, same tags, same hparams: only who
writes them changes. tensorboardX has no option for this, hence the small subclasses below,
written against tensorboardX 2.6 (pinned in pyproject.toml).
"""

from __future__ import annotations

import atexit
import os
from typing import Any

from ray.tune.logger import TBXLoggerCallback
from tensorboardX import SummaryWriter
from tensorboardX.event_file_writer import EventFileWriter, EventsWriter
from tensorboardX.record_writer import directory_check
from tensorboardX.writer import FileWriter


class _DirectEventFileWriter(EventFileWriter):
    """An ``EventFileWriter`` that writes in the caller's thread: no queue, no thread."""

    def __init__(
        self, logdir: str, max_queue_size: int = 10, flush_secs: int = 120,
        filename_suffix: str = "",
    ) -> None:  # fmt: skip
        # Deliberately not calling super().__init__: it starts the queue and its thread.
        self._logdir = logdir
        directory_check(self._logdir)
        self._ev_writer = EventsWriter(os.path.join(self._logdir, "events"), filename_suffix)
        self._closed = False

    def reopen(self) -> None:
        # Unused: SummaryWriter builds a new FileWriter after close. A new events file opened
        # within the same second would take the old one's name and truncate it.
        raise NotImplementedError("make a new DirectSummaryWriter instead")

    def add_event(self, event: Any) -> None:
        if not self._closed:
            self._ev_writer.write_event(event)

    def flush(self) -> None:
        # tensorboardX fsyncs the file on every flush, and Tune flushes after every result; handing
        # the bytes to the OS is what TensorBoard needs to see them and what survives a killed
        # driver. The fsync comes once, at close.
        if not self._closed:
            self._ev_writer._py_recordio_writer._writer.flush()

    def close(self) -> None:
        if not self._closed:
            self._ev_writer.flush()  # with fsync
            self._ev_writer.close()
            self._closed = True


class _DirectFileWriter(FileWriter):
    def __init__(
        self, logdir: str, max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = ""
    ) -> None:
        # FileWriter.__init__ (tensorboardX 2.6.5) with the direct writer; not called, since it
        # would start the threaded writer and its events file first.
        self.event_writer = _DirectEventFileWriter(
            str(logdir), max_queue, flush_secs, filename_suffix
        )
        atexit.register(self.event_writer.close)
        self._default_metadata: dict[str, Any] = {}


class DirectSummaryWriter(SummaryWriter):
    """tensorboardX's ``SummaryWriter``, writing events in the caller's thread.

    Only what Tune uses is kept: no ``purge_step``, no ``write_to_disk=False``."""

    def _get_file_writer(self) -> FileWriter:
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = _DirectFileWriter(
                self.logdir, self._max_queue, self._flush_secs, self._filename_suffix
            )
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
        return self.file_writer


class DirectTBXLoggerCallback(TBXLoggerCallback):
    """Ray Tune's TensorBoard logger (same files and tags) with :class:`DirectSummaryWriter`.

    Passed in the run's callbacks, it replaces the one Tune would add by default."""

    def __init__(self) -> None:
        super().__init__()
        self._summary_writer_cls = DirectSummaryWriter
