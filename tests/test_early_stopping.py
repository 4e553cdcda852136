import math

import pytest

from tune_flow import EarlyStopping


def test_stops_after_patience_epochs_without_improvement():
    stopper = EarlyStopping(patience=3)
    improved = [stopper(v) for v in [5.0, 4.0, 4.5, 4.0, 4.2]]
    assert improved == [True, True, False, False, False]
    assert stopper.should_stop and stopper.best == 4.0 and stopper.best_epoch == 2
    assert stopper.num_bad_epochs == 3


def test_improvement_resets_the_count():
    stopper = EarlyStopping(patience=2)
    for v in [3.0, 3.5, 2.0, 2.5]:
        stopper(v)
    assert not stopper.should_stop and stopper.num_bad_epochs == 1


def test_nan_and_inf_never_improve():
    stopper = EarlyStopping(patience=2)
    assert stopper(math.nan) is False
    assert stopper(math.inf) is False
    assert stopper.should_stop and stopper.best == math.inf
    stopper = EarlyStopping(patience=5)
    stopper(1.0)
    assert stopper(math.nan) is False and stopper.best == 1.0


def test_min_delta_and_max_mode():
    stopper = EarlyStopping(patience=5, min_delta=0.1)
    assert stopper(1.0) and not stopper(0.95) and stopper(0.85)
    maximise = EarlyStopping(patience=5, mode="max")
    assert maximise(1.0) and maximise(2.0) and not maximise(1.5)


def test_state_dict_round_trip():
    a = EarlyStopping(patience=4)
    for v in [3.0, 2.0, 2.5]:
        a(v)
    b = EarlyStopping(patience=4)
    b.load_state_dict(a.state_dict())
    assert (b.best, b.best_epoch, b.num_bad_epochs) == (2.0, 2, 1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"patience": 0}, "patience"), ({"mode": "up"}, "mode"), ({"min_delta": -1}, "min_delta")],
)
def test_invalid_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**kwargs)
