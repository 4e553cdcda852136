"""Where a search lives on disk, what it writes, how it ends and how it resumes.

Lives here: experiment paths and names (:mod:`.experiment`), the record of how a search was
started (:mod:`.search_record`, for ``--resume``), repairing Tune's state on resume
(:mod:`.resume`), how a search ended (:mod:`.search_end`: finished, interrupted, out of time),
checkpoint pruning (:mod:`.checkpoint_pruning`), trials.csv / best_config.yaml / best_model.pt /
best_eval.json and the final selection's outcome (:mod:`.results`), small JSON helpers
(:mod:`.json_files`).

May import: Ray, ``selection``, ``training``, ``evaluation``, ``data``, :mod:`tune_flow.report`.
"""
