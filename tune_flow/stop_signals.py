"""SIGTERM is a normal way to stop: ``docker stop``, Kubernetes/KubeRay and batch schedulers send it.

:func:`sigterm_raises_interrupt` turns SIGTERM into :class:`Terminated` (a ``KeyboardInterrupt``),
so the code that already stops cleanly on Ctrl-C (keep checkpoints, print the resume command,
shut Ray down) does the same on SIGTERM, and the caller exits with :func:`exit_code`.
"""

from __future__ import annotations

import signal
from types import FrameType

EXIT_SIGINT = 130  # 128 + SIGINT, what shells report for Ctrl-C
EXIT_SIGTERM = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""


_received_sigterm = False


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    global _received_sigterm
    # Remembered apart from the exception: Ray re-raises interrupts inside its blocking calls as
    # plain KeyboardInterrupts, which would lose the type.
    _received_sigterm = True
    # A second SIGTERM while we clean up kills the process the default way.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Terminated()


def sigterm_raises_interrupt() -> None:
    """Install the handler. Call it again after ``ray.init``: Ray installs its own C++ handler on
    SIGTERM in the driver, which prints a fatal-signal dump and exits without cleaning up."""
    signal.signal(signal.SIGTERM, _raise_terminated)


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """143 for SIGTERM, 130 for Ctrl-C."""
    return EXIT_SIGTERM if _received_sigterm or isinstance(interrupt, Terminated) else EXIT_SIGINT
