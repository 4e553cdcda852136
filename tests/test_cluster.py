import os
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


def test_a_ray_instance_this_run_did_not_start_keeps_running(ray_cluster):
    import ray

    from tune_flow.search.cluster import ray_session

    with ray_session(None, False, "127.0.0.1", 8265) as cluster:
        assert not cluster.started_here
        cluster.shut_down_in_background()  # not ours: nothing to shut down
    assert ray.is_initialized()


def test_ray_started_by_the_run_is_shut_down_in_the_background(tmp_path):
    """Ray's shutdown overlaps with the search's last outputs (the call returns while it runs),
    and is complete, processes and all, when the session ends."""
    import subprocess
    import sys

    script = """
import os, threading, ray
from tune_flow.search.cluster import ray_session
release, real_shutdown = threading.Event(), ray.shutdown
def held_shutdown(*args, **kwargs):  # runs in the background thread until released
    release.wait(60)
    real_shutdown(*args, **kwargs)
ray.shutdown = held_shutdown
with ray_session(None, False, "127.0.0.1", 8265, num_cpus=1) as cluster:
    raylet = ray._private.worker._global_node.all_processes["raylet"][0].process.pid
    cluster.shut_down_in_background()
    print("returned", cluster._shutdown.is_alive(), ray.is_initialized())
    release.set()
print("after", ray.is_initialized())
try:
    os.kill(raylet, 0)
    print("raylet alive")
except ProcessLookupError:
    print("raylet gone")
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())}, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["returned", "True", "True", "after", "False", "raylet", "gone"]


def test_a_failed_background_shutdown_is_raised_where_it_is_awaited(monkeypatch):
    import ray

    from tune_flow.search.cluster import ClusterHandle

    def failing_shutdown():
        raise RuntimeError("shutdown failed")

    monkeypatch.setattr(ray, "shutdown", failing_shutdown)  # no Ray is touched
    cluster = ClusterHandle(started_here=True, dashboard_url=None, cpus=1.0, gpus=0.0)
    cluster.shut_down_in_background()
    with pytest.raises(RuntimeError, match="shutdown failed"):
        cluster.join_shutdown()
    assert not ClusterHandle(True, None, 1.0, 0.0).join_shutdown()  # never started: nothing


def test_fast_exit_keeps_the_exit_code_atexit_handlers_and_buffered_output(tmp_path):
    import subprocess
    import sys

    script = """
import atexit
from tune_flow.fast_exit import exit_with
atexit.register(lambda: print("atexit ran"))
log = open("log.txt", "w")
log.write("buffered")  # not flushed by hand
print("before exit", end="")
exit_with(3)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())}, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 3
    assert out.stdout == "before exitatexit ran\n"
    assert (tmp_path / "log.txt").read_text() == "buffered"
