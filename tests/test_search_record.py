"""search.search_record: a resumed search is the search that was started; a failed start leaves
nothing that blocks its name."""

import argparse
import sys

import pytest

from tune_flow.errors import UserInputError
from tune_flow.search import cli as search
from tune_flow.search.state.experiment import experiment_location
from tune_flow.search.state.search_record import (
    RECORD_FILENAME,
    continue_recorded,
    explicitly_given,
    read_record,
    resume_command,
    write_record,
)


def _started(tmp_path, write_space, *argv):
    """The args and record of a search started with ``argv`` (as the CLI writes it)."""
    space = write_space("rec")
    parser = search.build_parser()
    args = parser.parse_args(["--space", space, "--name", "r", *argv])
    experiment = tmp_path / "r"
    experiment.mkdir()
    write_record(experiment, args)
    return space, parser, read_record(experiment)


def _resume(parser, record, *argv):
    argv = ["--name", "r", "--resume", *argv]
    return continue_recorded(parser.parse_args(argv), explicitly_given(parser, argv), record)


def test_resume_takes_the_recorded_space_and_flags(tmp_path, write_space):
    space, parser, record = _started(
        tmp_path, write_space, "--set", "n_samples=3000", "--set", "lr=0.01", "--num-samples", "6"
    )
    assert (tmp_path / "r" / RECORD_FILENAME).read_text().count("space_text: |") == 1
    args = _resume(parser, record)
    assert args.set == ["n_samples=3000", "lr=0.01"] and args.num_samples == 6
    assert args.space == str(__import__("pathlib").Path(space).resolve())
    assert "name: rec" in args.space_text
    # The same values again (the --set in another order) are the same search.
    args = _resume(parser, record, "--space", space, "--set", "lr=0.01", "--set", "n_samples=3000")
    assert args.num_samples == 6


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "n_samples=5000"], "--set is n_samples=5000, but search 'r' was started with n_samples=3000"),
        (["--num-samples", "16"], "--num-samples is 16, but search 'r' was started with not set"),
        (["--max-epochs", "3"], "--max-epochs is 3"),
        (["--seed", "1"], "--seed is 1, but search 'r' was started with 0"),
    ],
)  # fmt: skip
def test_a_flag_that_differs_from_the_record_is_refused(tmp_path, write_space, argv, message):
    _, parser, record = _started(tmp_path, write_space, "--set", "n_samples=3000")
    with pytest.raises(UserInputError, match="^--resume: " + message.replace("(", r"\(")):
        _resume(parser, record, *argv)


def test_another_space_is_refused(tmp_path, write_space):
    _, parser, record = _started(tmp_path, write_space)
    other = write_space("other")
    with pytest.raises(UserInputError, match="is not the space search 'r' was started with"):
        _resume(parser, record, "--space", other)


def test_the_resume_command_names_this_interpreter_and_only_what_the_record_lacks(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/x/tune_flow/search/__main__.py"])
    assert resume_command("my run", "/r") == (
        f"{sys.executable} -m tune_flow.search --name 'my run' --storage-path /r --resume"
    )
    monkeypatch.setattr(sys, "argv", ["/venv/bin/tune-flow", "search"])
    assert (
        resume_command("a", "/r")
        == "/venv/bin/tune-flow search --name a --storage-path /r --resume"
    )


def test_explicitly_given_sees_flags_not_defaults():
    parser = search.build_parser()
    assert explicitly_given(parser, ["--name", "x", "--seed", "0"]) == {"name", "seed"}
    assert isinstance(parser.parse_args(["--name", "x"]), argparse.Namespace)


def test_resume_of_a_directory_without_tune_state_is_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    argv = ["--name", "empty", "--storage-path", str(tmp_path), "--resume"]
    assert search.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds no Tune state" in err[0]


def test_a_search_that_fails_before_any_trial_leaves_nothing_behind(
    ray_cluster, write_space, tmp_path, capsys
):
    """An Optuna storage that passes the URL check but cannot be opened fails once Ray runs: the
    directory it would leave behind is removed, so the name can be used again."""
    space = write_space("fail", method="bayes", parameters={"width": {"values": [4, 8]}})
    folder = tmp_path / "adir"
    folder.mkdir()  # an SQLite "file" that is a directory
    storage = tmp_path / "results"
    argv = ["--space", space, "--storage-path", str(storage), "--name", "f", "--no-report"]
    assert search.main([*argv, "--optuna-storage", f"sqlite:///{folder}"]) == 2
    assert "cannot be opened" in capsys.readouterr().err
    assert not (storage / "f").exists()  # the name is free: a new start is not refused
    experiment_location(search.build_parser().parse_args(argv), "f")


def test_a_space_that_varies_nothing_runs_once_and_says_why(write_space, capsys):
    space = write_space("flat", run_cap=8, parameters={"width": {"values": [8]}})
    assert search.main(["--space", space, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "the space varies nothing" in out and "1 trial instead of 8" in out
    assert "run_cap 1" in out


def test_a_selection_reference_is_recorded_resolved_and_another_is_refused(
    tmp_path, write_space, monkeypatch
):
    """The final selection's reference is part of the experiment: the same file named
    relatively on --resume continues; another file is refused."""
    monkeypatch.chdir(tmp_path)
    _, parser, record = _started(tmp_path, write_space)
    record["flags"]["selection_reference"] = str(
        tmp_path / "ref.npy"
    )  # as apply_overrides wrote it
    assert _resume(parser, record, "--selection-reference", "ref.npy").selection_reference == str(
        tmp_path / "ref.npy"
    )
    with pytest.raises(UserInputError, match="^--resume: --selection-reference is other.npy, but"):
        _resume(parser, record, "--selection-reference", "other.npy")
