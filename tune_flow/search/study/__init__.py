"""Studies on Ray: one search per cell of a grid, the winner retrained with several seeds.

Lives here: ``python -m tune_flow.study`` (:mod:`.cli`) and the runner (:mod:`.runner`). The
spec grammar is :mod:`tune_flow.space.study_spec`; the tables and page are
:mod:`tune_flow.report.study_page`.

May import: Ray, everything under :mod:`tune_flow.search`, ``space``, ``report``, ``training``.
"""
