"""Everything that talks to Ray: the search CLI, the Tuner, the trainable, results and resume.

Lives here: ``python -m tune_flow.search`` (:mod:`.cli`), building searchers and schedulers
(:mod:`.tuner`), the function trainable (:mod:`.trainable`), the local or remote cluster, ASHA
state and checkpoint repair for ``--resume``, the W&B callback, the live progress table, the
results files and the HTML report. This is the only package that imports Ray, and it does so
lazily, so that ``--help``, ``--dry-run`` and bad input never start it.
"""

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    """``tune_flow.search(space, **options)`` is the Python API (:func:`tune_flow.api.search`)
    while ``tune_flow.search`` stays this package: Python binds a subpackage to its parent's
    attribute on import, so a function of the same name would be replaced by it."""

    def __call__(self, space: Any, **options: Any) -> Any:
        from tune_flow.api import search

        return search(space, **options)


sys.modules[__name__].__class__ = _CallableModule
