"""Tune callbacks of the search's driver: what a running search shows and logs.

Lives here: the live progress table (:mod:`.progress`), TensorBoard (:mod:`.tensorboard_logging`)
and W&B (:mod:`.wandb_logging`) logging, and each trial's result.json / progress.csv
(:mod:`.trial_logs`).

May import: Ray, ``evaluation`` (metric names), :mod:`tune_flow.report` (number formats) and
:mod:`tune_flow.search.state`.
"""
