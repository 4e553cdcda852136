"""The in-thread TensorBoard writer writes what tensorboardX's threaded writer writes."""

import threading

from tensorboardX import SummaryWriter

from tests.tensorboard_events import tensorboard_scalars
from tune_flow.search.callbacks.tensorboard_logging import DirectSummaryWriter


def _write(writer_cls, logdir):
    """Write 40 steps of 5 scalars; return the threads started meanwhile that still run."""
    before = set(threading.enumerate())
    writer = writer_cls(str(logdir), flush_secs=30)
    for step in range(1, 41):
        for k in range(5):
            writer.add_scalar(f"ray/tune/m{k}", 0.25 * k + step, global_step=step)
        writer.flush()
    started = set(threading.enumerate()) - before
    writer.close()
    return started


def test_same_events_as_the_threaded_writer(tmp_path):
    assert _write(SummaryWriter, tmp_path / "threaded")  # tensorboardX's writer thread
    assert not _write(DirectSummaryWriter, tmp_path / "direct")  # none
    threaded = tensorboard_scalars(tmp_path / "threaded")
    assert len(threaded) == 5 and all(len(v) == 40 for v in threaded.values())
    assert tensorboard_scalars(tmp_path / "direct") == threaded


def test_events_are_on_disk_after_each_flush(tmp_path):
    writer = DirectSummaryWriter(str(tmp_path), flush_secs=30)
    writer.add_scalar("ray/tune/val_loss", 1.5, global_step=1)
    writer.flush()
    assert tensorboard_scalars(tmp_path) == {"ray/tune/val_loss": [(1, 1.5)]}
    writer.close()
