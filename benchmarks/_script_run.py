"""Running a benchmark's measured side in a fresh Python process (its own Ray, its own imports)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run_script(script: str, payload: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    """Run ``python -c script JSON(payload)`` from the repository root and return the JSON its
    last stdout line holds; exit with the tail of its stderr when it fails."""
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(payload)],
        capture_output=True, text=True, cwd=ROOT, timeout=1800,
        env={**(os.environ if env is None else env), "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])
