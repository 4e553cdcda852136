"""Repairs before --resume: state files a kill cut short are set aside, not restored from."""

import json

import pytest
import ray.cloudpickle as cloudpickle

from tune_flow.errors import UserInputError
from tune_flow.search.state.resume import set_aside_unreadable_state


def test_an_unreadable_newest_state_file_is_set_aside_and_the_older_one_kept(tmp_path):
    older = tmp_path / "callback-states-2026-12-06_04-37-23.pkl"
    older.write_bytes(cloudpickle.dumps({0: {"ended": ["a"], "cut": {}}}))
    newest = tmp_path / "callback-states-2026-12-06_04-38-04.pkl"
    newest.write_bytes(b"")  # the copy a kill -9 cut short
    state = tmp_path / "experiment_state-2026-12-06_04-37-23.json"
    state.write_text(json.dumps({"trial_data": []}))
    truncated = tmp_path / "experiment_state-2026-12-06_04-38-04.json"
    truncated.write_text('{"trial_data": [')

    lines = set_aside_unreadable_state(tmp_path)

    assert len(lines) == 2 and newest.name in lines[1] and truncated.name in lines[0]
    assert not newest.exists() and not truncated.exists()
    # Kept beside, under a name Tune does not glob, with what they held.
    assert (tmp_path / f"{newest.name}.unreadable").read_bytes() == b""
    assert (tmp_path / f"{truncated.name}.unreadable").read_text() == '{"trial_data": ['
    assert older.exists() and state.exists()


def test_readable_state_files_are_left_alone(tmp_path):
    files = {
        tmp_path / "callback-states-x.pkl": cloudpickle.dumps({0: {"ended": []}}),
        tmp_path / "experiment_state-x.json": b'{"trial_data": []}',
        tmp_path / "basic-variant-state-x.json": b"{}",
    }
    for path, content in files.items():
        path.write_bytes(content)
    assert set_aside_unreadable_state(tmp_path) == []
    assert {p: p.read_bytes() for p in files} == files
    assert not list(tmp_path.glob("*.unreadable"))


def test_no_readable_experiment_state_left_is_refused_and_the_file_kept(tmp_path):
    only = tmp_path / "experiment_state-2026-12-06_04-37-23.json"
    only.write_text("")
    with pytest.raises(UserInputError, match="no readable Tune experiment state"):
        set_aside_unreadable_state(tmp_path)
    assert (tmp_path / f"{only.name}.unreadable").exists()
