"""The ``tune-flow`` console script: ``tune-flow search|train|sample|report|space|study ...``."""

from __future__ import annotations

import importlib
import sys

from tune_flow.errors import suggest
from tune_flow.fast_exit import exit_with

# command -> (module with main(argv), what it does)
COMMANDS = {
    "search": ("tune_flow.search.cli", "run a hyperparameter search on Ray Tune"),
    "study": (
        "tune_flow.search.study.cli",
        "one tuned search per cell of a grid, seeded table",
    ),
    "train": ("tune_flow.train", "train one configuration"),
    "sample": ("tune_flow.sample", "sample a trained model (and score it against data)"),
    "report": ("tune_flow.report.page", "write report.html of a finished search"),
    "space": ("tune_flow.space._parse", "check and print a search-space file"),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = ["usage: tune-flow COMMAND [args]", "", "commands:"]
    lines += [f"  {name:<{width}}  {about}" for name, (_, about) in COMMANDS.items()]
    lines += ["", "Each command takes --help, e.g. tune-flow search --help."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if not argv:
        print(usage(), file=sys.stderr)
        return 2
    if argv[0] not in COMMANDS:
        print(
            f"tune-flow: unknown command {argv[0]!r}.{suggest(argv[0], COMMANDS)} "
            f"Commands: {', '.join(COMMANDS)} (tune-flow --help)",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:])


def run() -> None:
    """The console script's entry point: :func:`main`, then leave without the slow teardown."""
    exit_with(main())


if __name__ == "__main__":
    run()
