"""How numbers look in tables a person reads: 4 significant digits (``0.002036``, ``1.427``)."""

from __future__ import annotations

import math
from typing import Any

SIGNIFICANT_DIGITS = 4


def format_value(value: Any) -> str:
    """A float (or a CSV cell holding one) at 4 significant digits; ints and text unchanged.

    ``trials.csv`` keeps full precision; only what is printed or shown in the report is rounded.
    """
    if isinstance(value, str):
        if not value or value.lstrip("-").isdigit():
            return value
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.{SIGNIFICANT_DIGITS}g}"
    return str(value)


def format_sample_metric(value: Any) -> str:
    """Like :func:`format_value`, but "-" for NaN: a trial cut before its first evaluation has
    no sample metric, which is not a failed measurement."""
    text = format_value(value)
    return "-" if text == "nan" else text
