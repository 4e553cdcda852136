"""Running the search CLI in its own process, as a user would (tests that kill it or need a fresh
environment for Ray's workers)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def search_command(space: str, storage: Path, name: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tune_flow.search", "--space", space, "--storage-path", str(storage),
            "--name", name, "--no-dashboard", *extra]  # fmt: skip
