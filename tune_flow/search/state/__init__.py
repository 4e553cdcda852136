"""Where a search lives on disk, what it writes, how it ends and how it resumes.

Lives here: experiment paths and names (:mod:`.experiment`), the record of how a search was
started (:mod:`.search_record`, for ``--resume``), repairing Tune's state on resume
(:mod:`.resume`), how a search ended (:mod:`.search_end`: finished, interrupted, out of time),
checkpoint pruning (:mod:`.checkpoint_pruning`), trials.csv / best_config.yaml and the printed
summary (:mod:`.results`), the final selection, best_model.pt and best_eval.json
(:mod:`.chosen_model`), small JSON helpers (:mod:`.json_files`).

May import: Ray, ``selection``, ``training``, ``evaluation``, ``data``, :mod:`tune_flow.report`.
"""
