"""BackgroundReports: one report in flight, in order, errors and stop requests raised in the
training thread, checkpoints and long epochs synchronous."""

import threading
import time
from pathlib import Path

import pytest

from tune_flow.search.background_report import BackgroundReports


class SlowSend:
    """A stand-in for ``tune.report`` that blocks like the driver round trip does."""

    def __init__(self, seconds: float = 0.05, fail_at: int | None = None, error=None) -> None:
        self.seconds = seconds
        self.fail_at = fail_at
        self.error = error
        self.calls: list[tuple[int, Path | None, str]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()

    def __call__(self, metrics: dict, directory: Path | None) -> None:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.seconds)
        self.calls.append((metrics["epoch"], directory, threading.current_thread().name))
        with self.lock:
            self.in_flight -= 1
        if metrics["epoch"] == self.fail_at:
            raise self.error


def test_reports_overlap_the_next_epoch_one_at_a_time_in_order():
    send = SlowSend(seconds=0.02)
    report = BackgroundReports(send)
    for epoch in range(1, 6):
        report({"epoch": epoch}, None)
    report.wait()
    assert [c[0] for c in send.calls] == [1, 2, 3, 4, 5]
    assert send.most_in_flight == 1
    assert all(name == "tune_flow-report" for _, _, name in send.calls)
    assert report.background_reports == 5


def test_training_goes_on_while_the_driver_has_not_answered():
    answered = threading.Event()
    report = BackgroundReports(lambda metrics, directory: answered.wait(10))
    report({"epoch": 1}, None)  # returns although the "driver" has not answered
    assert not answered.is_set()
    answered.set()
    report.wait()


def test_a_report_with_a_checkpoint_is_synchronous_and_waits_for_the_one_in_flight(tmp_path):
    send = SlowSend(seconds=0.05)
    report = BackgroundReports(send)
    report({"epoch": 1}, None)
    report({"epoch": 2}, tmp_path)  # returns only once persisted
    assert [c[:2] for c in send.calls] == [(1, None), (2, tmp_path)]
    assert send.most_in_flight == 1  # epoch 1's report had returned before epoch 2's began
    assert send.calls[1][2] == threading.current_thread().name


def test_long_epochs_report_synchronously():
    send = SlowSend(seconds=0.0)
    report = BackgroundReports(send, max_background_epoch_s=0.0)
    report({"epoch": 1}, None)
    assert send.calls and send.calls[0][2] == threading.current_thread().name
    assert report.background_reports == 0


@pytest.mark.parametrize("error", [SystemExit(0), RuntimeError("driver gone")])
def test_an_error_or_stop_request_in_a_background_report_is_raised_at_the_next_epoch(error):
    send = SlowSend(seconds=0.01, fail_at=1, error=error)
    report = BackgroundReports(send)
    report({"epoch": 1}, None)  # returns at once; the stop request comes in the background
    with pytest.raises(type(error)):
        report({"epoch": 2}, None)
    assert [c[0] for c in send.calls] == [1]  # epoch 2 never reached Tune
    report.wait()  # raised once, not again
