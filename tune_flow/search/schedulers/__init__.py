"""How trials are proposed and cut, with the state they save for ``--resume``.

Lives here: ASHA by promotion (:mod:`.asha_promotion`, scheduler ``asha_promote``) and its rung
records (:mod:`.asha_state`), where ASHA's rungs fall and moving the first past the warm-up
(:mod:`.rungs`), the Optuna searcher that keeps Optuna's own distributions
(:mod:`.optuna_searcher`). Ray's own ASHA, median rule and FIFO are built in
:mod:`tune_flow.search.tuner`.

May import: Ray, ``space``, ``training``, ``data`` and :mod:`tune_flow.search.state`.
"""
