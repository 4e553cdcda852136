"""Tune's result.json / progress.csv loggers never copy an older file over a newer one."""

from types import SimpleNamespace

import pyarrow.fs

from tune_flow.search.callbacks.trial_logs import CsvLogger, JsonLogger


def _trial(tmp_path):
    staging, storage = tmp_path / "staging", tmp_path / "storage"
    staging.mkdir()
    storage.mkdir()
    return SimpleNamespace(
        local_path=str(staging),
        checkpoint=object(),  # Tune copies only for a trial that has a checkpoint
        storage=SimpleNamespace(
            trial_fs_path=str(storage), storage_filesystem=pyarrow.fs.LocalFileSystem()
        ),
    )


def test_a_restarting_trial_keeps_the_lines_this_driver_wrote(tmp_path):
    trial = _trial(tmp_path)
    for logger, name in ((JsonLogger(), "result.json"), (CsvLogger(), "progress.csv")):
        (tmp_path / "staging" / name).write_text("epoch 1\nepoch 2\n")
        (tmp_path / "storage" / name).write_text("epoch 1\n")  # an older copy
        logger._restore_from_remote(name, trial)
        assert (tmp_path / "staging" / name).read_text() == "epoch 1\nepoch 2\n"


def test_a_resumed_search_gets_the_storage_copy_back(tmp_path):
    trial = _trial(tmp_path)  # a new driver: nothing staged yet
    for logger, name in ((JsonLogger(), "result.json"), (CsvLogger(), "progress.csv")):
        (tmp_path / "storage" / name).write_text("epoch 1\nepoch 2\n")
        logger._restore_from_remote(name, trial)
        assert (tmp_path / "staging" / name).read_text() == "epoch 1\nepoch 2\n"
