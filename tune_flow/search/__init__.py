"""Everything that talks to Ray: the search CLI, the Tuner, the trainable, results and resume.

Lives here: ``python -m tune_flow.search`` (:mod:`.cli`), building searchers and schedulers
(:mod:`.tuner`), the function trainable (:mod:`.trainable`), the local or remote cluster, ASHA
state and checkpoint repair for ``--resume``, the W&B callback, the live progress table, the
results files and the HTML report. This is the only package that imports Ray, and it does so
lazily, so that ``--help``, ``--dry-run`` and bad input never start it.
"""
