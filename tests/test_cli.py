"""The tune-flow console script: usage on --help, an unknown command named with a close match."""

import pytest

from tune_flow import cli


def test_help_lists_every_command_on_stdout(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tune-flow COMMAND")
    assert all(f"  {name}" in out for name in cli.COMMANDS)


def test_an_unknown_command_is_named_with_the_close_match(capsys):
    assert cli.main(["serch"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tune-flow: unknown command 'serch'. Did you mean `search`?")
    assert len(err.splitlines()) == 1


def test_no_command_prints_the_usage_and_fails(capsys):
    assert cli.main([]) == 2
    assert "commands:" in capsys.readouterr().err


def test_sub_command_usage_says_how_it_was_called(monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["/venv/bin/tune-flow", "space", "--help"])
    with pytest.raises(SystemExit):  # argparse's --help exits
        cli.main(["space", "--help"])
    assert capsys.readouterr().out.startswith("usage: tune-flow space")
