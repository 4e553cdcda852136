"""What a finished search or study leaves for people to read; no Ray.

Lives here: ``report.html`` and its figures (:mod:`.page`, ``python -m tune_flow.report DIR``), the
chosen model's samples beside the test data (:mod:`.sample_figures`),
Optuna's interactive plotly plots over an in-memory study rebuilt from trials.csv
(:mod:`.interactive`), parameter importances (:mod:`.importance`), how numbers look in tables
(:mod:`.numbers`), and a study's tables and page (:mod:`.study_page`).

May import: ``training``, ``evaluation``, ``space``, ``data``, ``models`` and the top-level helpers
(``errors``, ``program_name``); never ``search`` (which calls into this package) or Ray. It reads
the files a search wrote (trials.csv, best_samples.npz, the chosen model file).
"""
