"""The live table of a running search (tune_flow/search/callbacks/progress.py)."""

from types import SimpleNamespace

from tune_flow.search.callbacks.progress import LiveTable


def _trial(trial_id: str, epoch: int) -> SimpleNamespace:
    """What the table reads of a Tune trial: its id, config, status and last result."""
    return SimpleNamespace(
        trial_id=trial_id, config={"width": 64}, status="RUNNING", last_result={"epoch": epoch}
    )


def _table(capsys, table: LiveTable, trials: list) -> list[str]:
    table.on_step_end(0, trials)
    return capsys.readouterr().out.splitlines()


def test_a_sample_metric_shows_its_epoch_and_is_not_shown_as_nan_before_it_is_measured(capsys):
    table = LiveTable("w2", ["width"], sample_points=500, interval_s=0)
    trial = _trial("a1", epoch=3)
    table.on_trial_result(0, [trial], trial, {"epoch": 3, "val_loss": 1.2})
    header, row = _table(capsys, table, [trial])
    assert "not measured yet" in row and "nan" not in row
    assert "floor" not in header  # no floor known before the first evaluation

    table.on_trial_result(0, [trial], trial, {"epoch": 10, "w2": 0.25, "w2_floor": 0.0357})
    trial.last_result = {"epoch": 12}  # two epochs on: the value shown is still epoch 10's
    table.on_trial_result(0, [trial], trial, {"epoch": 12, "val_loss": 1.0})
    header, row = _table(capsys, table, [trial])
    assert "epoch   12" in row and "0.25 (epoch 10)" in row
    assert header.endswith("1 running; w2 (n=500; floor 0.0357)")


def test_a_loss_metric_has_no_sample_size_or_floor(capsys):
    table = LiveTable("val_loss", ["width"], interval_s=0)
    trial = _trial("b2", epoch=4)
    table.on_trial_result(0, [trial], trial, {"epoch": 4, "val_loss": 0.875})
    header, row = _table(capsys, table, [trial])
    assert header.endswith("1 running") and "0.875 (epoch 4)" in row
