"""What TruthfulOptunaSearch tells a real Optuna study about each way a trial ends."""

import optuna
from optuna.trial import TrialState

from tune_flow.search.schedulers.optuna_searcher import TruthfulOptunaSearch


def _space(trial):
    trial.suggest_float("lr", 1e-4, 1e-2, log=True)


def _searcher(metric="val_loss", mode="min"):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return TruthfulOptunaSearch(
        space=_space, metric=metric, mode=mode, sampler=optuna.samplers.RandomSampler(seed=0)
    )


def _states(searcher):
    return [t.state for t in searcher._ot_study.trials]


def test_each_end_is_recorded_as_optuna_would_record_it():
    searcher = _searcher()
    for trial_id in "abcd":
        searcher.suggest(trial_id)
        searcher.on_trial_result(trial_id, {"val_loss": 1.5, "epoch": 1})
    searcher.on_trial_complete("a", {"val_loss": 1.4, "epoch": 8, "stop_reason": ""})  # cut
    searcher.on_trial_complete("b", {"val_loss": 1.2, "epoch": 60, "stop_reason": "max_epochs"})
    searcher.on_trial_complete("c", None, error=True)
    searcher.on_trial_complete("d", None)  # ended without a result
    searcher.on_trial_complete("a", {"val_loss": 1.0, "epoch": 9, "stop_reason": ""})  # again
    searcher.on_trial_complete("zz", {"val_loss": 1.0, "stop_reason": ""})  # not its trial
    assert _states(searcher) == [
        TrialState.PRUNED, TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED
    ]  # fmt: skip
    study = searcher._ot_study
    assert study.trials[1].value == 1.2
    assert study.trials[0].intermediate_values == {1: 1.5}  # kept for the pruned trial
    assert study.metric_names == ["val_loss"]


def test_a_cut_trial_of_a_multi_objective_study_fails_rather_than_completing():
    searcher = _searcher(metric=["w2", "num_parameters"], mode=["min", "min"])
    searcher.suggest("a")
    searcher.suggest("b")
    # w2 is reported on evaluation epochs only: a cut trial may have none.
    searcher.on_trial_complete("a", {"num_parameters": 300, "epoch": 3, "stop_reason": ""})
    searcher.on_trial_complete(
        "b", {"w2": 0.2, "num_parameters": 300, "epoch": 60, "stop_reason": "max_epochs"}
    )
    assert _states(searcher) == [TrialState.FAIL, TrialState.COMPLETE]
