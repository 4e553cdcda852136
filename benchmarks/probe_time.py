"""What importing and probing a user's code adds before a search starts (issue 22's target:
<= 2 s): load_space (imports the user's modules) + probe_space (builds and runs every network,
flow, dataset and augmentation on a tiny batch), for the README's example project against the
built-in default space (arch.yaml) measured in the same process.

    python benchmarks/probe_time.py
"""

from __future__ import annotations

import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(space_file: Path) -> float:
    from tune_flow.space import load_space
    from tune_flow.space.probe import probe_space

    started = time.perf_counter()
    probe_space(load_space(space_file))
    return time.perf_counter() - started


def main() -> None:
    import torch  # noqa: F401 -- imported by any search before this point; not counted

    import tune_flow.space.probe  # noqa: F401

    baseline = timed(ROOT / "search_spaces" / "arch.yaml")
    user = timed(ROOT / "tests" / "user_project" / "space.yaml")
    print(f"built-in arch.yaml: load + probe {baseline * 1000:.1f} ms")
    print(
        f"user project (import + probe): {user * 1000:.1f} ms ({user / baseline:.1f}x the built-in)"
    )


if __name__ == "__main__":
    main()
