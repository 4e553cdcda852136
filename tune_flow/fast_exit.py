"""Leaving a command-line run without a slow interpreter teardown."""

from __future__ import annotations

import gc
import sys
from typing import NoReturn


def exit_with(code: int) -> NoReturn:
    """``sys.exit(code)``, minus the ~1 s CPython spends at exit garbage-collecting the millions of
    objects torch, Ray and scikit-learn leave behind (measured on the 2-core VM: 1.17 s -> 0.21 s
    from the last line printed to the process gone, for a process that imported them).

    ``gc.freeze()`` moves every object to the permanent generation, so the collections run at
    exit skip them; modules are still torn down, ``atexit`` handlers and ``finally`` blocks
    still run and files are still flushed and closed (unlike ``os._exit``)."""
    gc.disable()
    gc.freeze()
    sys.exit(code)
