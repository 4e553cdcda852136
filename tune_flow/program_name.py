"""How a command is called, for its usage line and the commands it prints to paste."""

from __future__ import annotations

import sys
from pathlib import Path


def program_name(command: str) -> str:
    """``tune-flow search`` when the ``tune-flow`` script runs, else ``python -m tune_flow.search``
    (``command`` is the sub-command; its module is ``tune_flow.<command>``)."""
    if Path(sys.argv[0]).name == "tune-flow":
        return f"tune-flow {command}"
    return f"python -m tune_flow.{command}"
