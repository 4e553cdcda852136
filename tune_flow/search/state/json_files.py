"""Small JSON state files the search keeps beside an experiment, written so a kill never leaves
half a file: the ASHA rungs (asha_state.py, asha_promotion.py) and the repaired Tune state
(resume.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json_atomically(path: str | Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename: a reader (or a
    resume after kill -9) sees the old file or the new one, never a truncated one."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
