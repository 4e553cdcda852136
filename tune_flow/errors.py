"""One error type for everything a user can get wrong, and one way to report it.

Every check in tune_flow raises :class:`UserInputError` with a single line that names the culprit
and what would be valid. The command-line entry points turn it into that line on stderr and exit
code 2, without a traceback.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Iterable
from functools import wraps
from typing import TypeVar

EXIT_USAGE = 2

F = TypeVar("F", bound=Callable[..., int | None])


class UserInputError(ValueError):
    """A value, key, file or resource request given by the user is invalid."""


def suggest(name: str, valid: Iterable[str]) -> str:
    """Return " Did you mean `x`?" for the closest valid names, or "" when none is close."""
    close = difflib.get_close_matches(name, list(valid), n=3, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(f"`{c}`" for c in close) + "?"


def one_of(valid: Iterable[str]) -> str:
    """Format a sorted list of valid names: "one of a, b, c"."""
    return "one of " + ", ".join(sorted(valid))


def exits_cleanly_on_user_error(main: F) -> F:
    """Decorate a CLI ``main`` so a :class:`UserInputError` prints one line and exits with 2."""

    @wraps(main)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return main(*args, **kwargs)
        except UserInputError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USAGE

    return wrapper  # type: ignore[return-value]
