"""Everything that talks to Ray: the search CLI, the Tuner, the trainable, results and resume.

Lives here (root): ``python -m tune_flow.search`` (:mod:`.cli`), Ray and ``Tuner.fit``
(:mod:`.run`), building searchers and schedulers (:mod:`.tuner`), the function trainable
(:mod:`.trainable`, :mod:`.background_report`), ``--debug`` (:mod:`.debug_trial`), the local or
joined cluster (:mod:`.cluster`), the Python API (:mod:`.api`). Sub-folders: ``schedulers/``
(ASHA by promotion, rungs, the Optuna searcher), ``callbacks/`` (progress, TensorBoard, W&B,
trial logs), ``state/`` (paths, record, resume, how a search ends, results files), ``study/``.

This is the only package that imports Ray, and it does so lazily, so that ``--help``,
``--dry-run`` and bad input never start it. May import every other folder; only the entry
points (``tune_flow.study``, the package's ``__init__``) import it.
"""

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    """``tune_flow.search(space, **options)`` is the Python API (:func:`tune_flow.search.api.search`)
    while ``tune_flow.search`` stays this package: Python binds a subpackage to its parent's
    attribute on import, so a function of the same name would be replaced by it."""

    def __call__(self, space: Any, **options: Any) -> Any:
        from tune_flow.search.api import search

        return search(space, **options)


sys.modules[__name__].__class__ = _CallableModule
