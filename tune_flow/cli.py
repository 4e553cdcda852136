"""The ``tune-flow`` console script: ``tune-flow search|train|sample|report|space|study ...``."""

from __future__ import annotations

import importlib
import sys

from tune_flow.fast_exit import exit_with

COMMANDS = {
    "search": "tune_flow.search.cli",
    "train": "tune_flow.train",
    "sample": "tune_flow.sample",
    "space": "tune_flow.space._parse",
    "report": "tune_flow.report",
    "study": "tune_flow.search.study_cli",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print(
            "usage: tune-flow {" + ",".join(COMMANDS) + "} [args]  (each takes --help)",
            file=sys.stderr,
        )
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(COMMANDS[argv[0]])
    return module.main(argv[1:])


def run() -> None:
    """The console script's entry point: :func:`main`, then leave without the slow teardown."""
    exit_with(main())


if __name__ == "__main__":
    run()
