import pickle
from types import SimpleNamespace

from ray.tune.schedulers import TrialScheduler

from tune_flow.search.schedulers.asha_state import PersistentASHAScheduler


def _scheduler(tmp_path):
    return PersistentASHAScheduler(
        tmp_path / "asha.json",
        time_attr="epoch",
        metric="val_loss",
        mode="min",
        max_t=20,
        grace_period=2,
        reduction_factor=2,
    )


def test_rungs_survive_a_restore(tmp_path):
    """Drive Ray's real ASHA with stand-in trials, pickle it as Tuner.restore does, continue."""
    scheduler = _scheduler(tmp_path)
    pickled_at_start = pickle.dumps(scheduler)  # tuner.pkl holds the scheduler as it started
    trials = [SimpleNamespace(trial_id=f"t{i}") for i in range(4)]
    for trial in trials:
        scheduler.on_trial_add(None, trial)
    for trial, loss in zip(trials, [1.0, 2.0, 3.0, 4.0], strict=True):
        scheduler.on_trial_result(None, trial, {"epoch": 2, "val_loss": loss})

    restored = pickle.loads(pickled_at_start)  # what --resume gets
    late = SimpleNamespace(trial_id="late")
    restored.on_trial_add(None, late)
    # 3.5 is worse than the rung's cutoff from the four recorded trials: stopped, as it would
    # have been without the interruption.
    assert (
        restored.on_trial_result(None, late, {"epoch": 2, "val_loss": 3.5}) == TrialScheduler.STOP
    )

    (tmp_path / "other").mkdir()
    plain = pickle.loads(pickle.dumps(_scheduler(tmp_path / "other")))  # no state file: empty rungs
    plain.on_trial_add(None, late)
    assert (
        plain.on_trial_result(None, late, {"epoch": 2, "val_loss": 3.5}) == TrialScheduler.CONTINUE
    )


def test_a_search_started_with_the_old_json_name_moves_to_the_new_one(tmp_path):
    from tune_flow.search.schedulers.asha_state import LEGACY_STATE_FILENAME, STATE_FILENAME

    old = PersistentASHAScheduler(
        tmp_path / LEGACY_STATE_FILENAME, time_attr="epoch", metric="val_loss", mode="min",
        max_t=20, grace_period=2, reduction_factor=2,
    )  # fmt: skip
    pickled_at_start = pickle.dumps(old)
    trial = SimpleNamespace(trial_id="t0")
    old.on_trial_add(None, trial)
    old.on_trial_result(None, trial, {"epoch": 2, "val_loss": 1.0})
    assert (tmp_path / LEGACY_STATE_FILENAME).is_file()

    restored = pickle.loads(pickled_at_start)  # the rungs come from the old file ...
    assert any("t0" in recorded for _, recorded in restored._brackets[0]._rungs)
    late = SimpleNamespace(trial_id="late")
    restored.on_trial_add(None, late)
    restored.on_trial_result(None, late, {"epoch": 2, "val_loss": 2.0})
    assert (tmp_path / STATE_FILENAME).is_file()  # ... and are written under the new name
