"""``python -m tune_flow.study --spec studies/flows_2d.yaml`` (``__main__``): see
:mod:`tune_flow.search.study.cli`.

``tune_flow.study(spec, **options)`` is the Python API (:func:`tune_flow.search.api.study`).
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    """This module, callable as :func:`tune_flow.search.api.study` (see ``tune_flow/search/__init__``
    for why a module and not a function)."""

    def __call__(self, spec: Any, **options: Any) -> Any:
        from tune_flow.search.api import study

        return study(spec, **options)


sys.modules[__name__].__class__ = _CallableModule
