import socket
from pathlib import Path

import pytest
import torch

from tune_flow.errors import UserInputError
from tune_flow.search.cluster import dashboard_warning, free_port
from tune_flow.training.checkpoint import load_checkpoint


def test_dashboard_beyond_loopback_warns_about_remote_code_execution():
    assert dashboard_warning("127.0.0.1") is None and dashboard_warning("localhost") is None
    warning = dashboard_warning("0.0.0.0")
    assert "0.0.0.0" in warning and "Jobs API" in warning and "token" in warning


def test_token_authentication_is_never_turned_off():
    for path in Path("tune_flow").rglob("*.py"):
        assert "RAY_AUTH_MODE" not in path.read_text(), path


def test_free_port_skips_a_taken_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert free_port("127.0.0.1", port) != port


def test_checkpoints_load_weights_only(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("code ran",))

    torch.save({"x": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(UserInputError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "evil.pt")
