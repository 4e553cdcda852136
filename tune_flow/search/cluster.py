"""Starting or joining Ray, the dashboard, and resource checks before any trial is queued."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tune_flow.errors import UserInputError
from tune_flow.stop_signals import sigterm_raises_interrupt

logger = logging.getLogger(__name__)

DEFAULT_DASHBOARD_PORT = 8265
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ADDRESS_TIMEOUT_S = 15


@dataclass
class ClusterHandle:
    """What the search started: shut down only what it started itself."""

    started_here: bool
    dashboard_url: str | None
    cpus: float
    gpus: float
    _shutdown: threading.Thread | None = field(default=None, init=False, repr=False, compare=False)
    _shutdown_error: BaseException | None = field(
        default=None, init=False, repr=False, compare=False
    )
    ray_log: Any = field(default=None, init=False, repr=False, compare=False)

    def shut_down_in_background(self) -> None:
        """Start shutting down the Ray instance this run started, in a thread, and return.

        Ray's shutdown mostly waits for its processes to exit (~1.4 s on a 2-core machine): once
        ``Tuner.fit`` has returned, the search's own outputs (the winner's test-split evaluation,
        the report) need no Ray, so they overlap with it. :func:`ray_session` joins the thread
        and raises what the shutdown raised, as it would have without the thread."""
        import ray

        def shut_down() -> None:
            try:
                ray.shutdown()
            except BaseException as error:  # re-raised by join_shutdown, in the caller's thread
                self._shutdown_error = error

        if self.started_here and self._shutdown is None:
            self._shutdown = threading.Thread(target=shut_down, name="ray-shutdown")
            self._shutdown.start()

    def join_shutdown(self) -> bool:
        """Wait for :meth:`shut_down_in_background`; False when it was never started."""
        if self._shutdown is None:
            return False
        self._shutdown.join()
        if self._shutdown_error is not None:
            raise self._shutdown_error
        return True


def free_port(host: str, start: int, attempts: int = 50) -> int:
    """The first port from ``start`` on that nothing listens on at ``host``."""
    for port in range(start, start + attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1" if host == "localhost" else host, port))
            except OSError:
                continue
            return port
    raise UserInputError(
        f"no free dashboard port in {start}-{start + attempts - 1}; pass --dashboard-port"
    )


def dashboard_warning(host: str) -> str | None:
    """The warning printed when the dashboard would listen beyond this machine, else None.

    Token authentication (on by default since Ray 2.52) is never turned off by tune_flow."""
    if host in LOOPBACK:
        return None
    return (
        f"warning: the Ray dashboard will listen on {host}: whoever reaches it can run code on "
        "this cluster through Ray's Jobs API (CVE-2023-48022). Keep token authentication on and "
        "the port firewalled."
    )


def check_address_reachable(address: str) -> None:
    """Fail within seconds, with one line, when ``HOST:PORT`` does not answer (Ray would retry
    for minutes)."""
    if address in ("auto", "local") or address.startswith("ray://"):
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise UserInputError(
            f"--address {address!r} must be auto or HOST:PORT (e.g. 10.0.0.5:6379)"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=ADDRESS_TIMEOUT_S):
            pass
    except OSError as error:
        raise UserInputError(
            f"--address {address!r}: no Ray cluster answers there ({error})"
        ) from None


@contextmanager
def ray_session(
    address: str | None,
    dashboard: bool,
    dashboard_host: str,
    dashboard_port: int,
    num_cpus: int | None = None,
    verbose: bool = False,
    runtime_env: dict[str, Any] | None = None,
) -> Iterator[ClusterHandle]:
    """Ray for one command-line run (a search or a study), shut down on the way out if this run
    started it, also when interrupted inside :func:`start_ray`.

    SIGTERM (docker stop, Kubernetes, batch schedulers) raises a KeyboardInterrupt like Ctrl-C, so
    the caller's handler keeps finished trials, prints the resume command and exits 143.
    """
    import ray

    # A diverged trial reports inf on purpose; TensorBoard's writer would warn on every epoch.
    logging.getLogger("tensorboardX.x2num").setLevel(logging.ERROR)
    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")
    # Ctrl-C raises KeyboardInterrupt here instead of Tune's own handler ending the run early
    # and reporting the interrupted trials as if they had finished (stop reasons would lie).
    # Trials resume from their checkpoints with --resume, as after a kill -9.
    os.environ.setdefault("TUNE_DISABLE_SIGINT_HANDLER", "1")
    # Trials checkpoint every checkpoint_every epochs and at every ASHA rung, so Tune snapshots
    # its state often; that is intended (little computed is lost) and cheap for our small
    # checkpoints, so skip the warning.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    # One voice on the console: Tune's new output engine prints its own experiment box, a results
    # path and a TensorBoard command into /tmp/ray whatever the verbosity; the legacy reporter at
    # verbose 0 prints nothing, and LiveTable says what matters. Ray's and Tune's log lines go to
    # ray.log in the results directory (RayLog).
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    ray_log = RayLog()
    sigterm_raises_interrupt()
    # A Ray instance this process already holds (tests, notebooks) is not ours to shut down.
    was_initialized = ray.is_initialized()
    cluster = None
    session_dir = None
    try:
        cluster = start_ray(
            address, dashboard, dashboard_host, dashboard_port, num_cpus, verbose, runtime_env
        )
        cluster.ray_log = ray_log
        if cluster.started_here and not address:
            # Only a local Ray this run started: a joined cluster's session directory is the
            # cluster's (removing it broke the next job's runtime_env upload).
            session_dir = ray._private.worker._global_node.get_session_dir_path()
        sigterm_raises_interrupt()  # ray.init installed its own fatal-signal handler
        yield cluster
    finally:
        started_here = cluster.started_here if cluster is not None else not was_initialized
        if not (cluster is not None and cluster.join_shutdown()) and started_here:
            ray.shutdown()
        ray_log.close()
        if session_dir is not None:
            _remove_session(Path(session_dir), ray_log.path)


class RayLog:
    """Ray's and Tune's driver-side log lines (the token warning, Tune's warnings and errors),
    away from the console: held in memory until :meth:`write_to` names the results directory,
    then appended to ``ray.log`` there. :meth:`summary` is the one console line about them."""

    FILENAME = "ray.log"

    def __init__(self) -> None:
        import logging.handlers

        self.path: Path | None = None
        self.count = 0
        self._logger = logging.getLogger("ray")
        # Ray configures its "ray" logger (a stderr handler) when it is imported; park them.
        self._parked = list(self._logger.handlers)
        for handler in self._parked:
            self._logger.removeHandler(handler)
        self._buffer = logging.handlers.BufferingHandler(capacity=100_000)
        self._buffer.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(filename)s:%(lineno)d -- %(message)s")
        )
        self._counter = _CountWarnings(self)
        self._logger.addHandler(self._buffer)
        self._logger.addHandler(self._counter)

    def write_to(self, directory: Path) -> None:
        """From now on, log to ``directory/ray.log`` (with what was held until now)."""
        if self.path is not None:
            return
        self.path = Path(directory) / self.FILENAME
        handler = logging.FileHandler(self.path)
        handler.setFormatter(self._buffer.formatter)
        for record in self._buffer.buffer:
            handler.handle(record)
        self._logger.removeHandler(self._buffer)
        self._buffer = handler
        self._logger.addHandler(handler)

    def summary(self) -> str | None:
        if not self.count or self.path is None:
            return None
        return f"Ray logged {self.count} warning(s)/error(s): see {self.path}"

    def close(self) -> None:
        """Hand Ray's logger its own handlers back (for a later ray_session in this process)."""
        for handler in (self._buffer, self._counter):
            self._logger.removeHandler(handler)
            handler.close()
        for handler in self._parked:
            if handler not in self._logger.handlers:
                self._logger.addHandler(handler)


class _CountWarnings(logging.Handler):
    def __init__(self, owner: RayLog) -> None:
        super().__init__(level=logging.WARNING)
        self.owner = owner

    def emit(self, record: logging.LogRecord) -> None:
        # Ray's token-authentication notice comes with every start; tune_flow prints its own hint.
        if record.filename != "authentication_token_setup.py":
            self.owner.count += 1


def _remove_session(session_dir: Path, ray_log: Path | None) -> None:
    """Remove the Ray session directory of a Ray this run started (in /tmp/ray: a developer
    machine had piled up 852 of them, 1.1 GB). Its non-empty ``*.err`` logs, which say why a
    worker or daemon died, are kept beside ray.log first."""
    import shutil

    if ray_log is not None:
        kept = ray_log.parent / "ray_logs"
        for err in (session_dir / "logs").glob("*.err"):
            if err.is_file() and err.stat().st_size > 0:
                kept.mkdir(exist_ok=True)
                shutil.copyfile(err, kept / err.name)
    shutil.rmtree(session_dir, ignore_errors=True)


def start_ray(
    address: str | None,
    dashboard: bool,
    dashboard_host: str,
    dashboard_port: int,
    num_cpus: int | None = None,
    verbose: bool = False,
    runtime_env: dict[str, Any] | None = None,
) -> ClusterHandle:
    """Join ``address`` or start a local Ray instance (with its dashboard); reuse one that this
    process already initialised (e.g. a test session's). ``runtime_env`` (the user's code
    folder) applies to every worker of the job Ray starts for this run."""
    import ray

    if (
        runtime_env
        and ray.is_initialized()
        and not ray.get_runtime_context().runtime_env.get("working_dir")
    ):
        raise UserInputError(
            f"`code` {runtime_env['working_dir']!r} reaches Ray's workers through the job's "
            "runtime_env, set when Ray starts, but this process already runs Ray without it: "
            "call ray.shutdown() first, or ray.init(runtime_env={'working_dir': ...})"
        )

    started_here = False
    dashboard_url = None
    if address:
        check_address_reachable(address)
    if not ray.is_initialized():
        if address:
            try:
                context = ray.init(
                    address=address, log_to_driver=verbose, logging_level=logging.WARNING,
                    runtime_env=runtime_env,
                )  # fmt: skip
            except (ConnectionError, RuntimeError) as error:
                raise UserInputError(
                    f"--address {address!r}: cannot join the Ray cluster: {error}"
                ) from None
        else:
            warning = dashboard_warning(dashboard_host) if dashboard else None
            if warning:
                print(warning, file=sys.stderr)
            port = free_port(dashboard_host, dashboard_port) if dashboard else None
            context = ray.init(
                num_cpus=num_cpus,
                include_dashboard=dashboard,
                dashboard_host=dashboard_host,
                dashboard_port=port,
                log_to_driver=verbose,
                logging_level=logging.WARNING,
                runtime_env=runtime_env,
            )
        started_here = True
        dashboard_url = getattr(context, "dashboard_url", None) or None
    resources = ray.cluster_resources()
    return ClusterHandle(
        started_here=started_here,
        dashboard_url=dashboard_url,
        cpus=float(resources.get("CPU", 0)),
        gpus=float(resources.get("GPU", 0)),
    )


def check_resources(cpu: float, gpu: float, cluster: ClusterHandle) -> int:
    """Refuse a per-trial request no node could ever meet (Ray would leave trials PENDING
    forever); return how many trials fit at once."""
    import ray

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    fits = [
        n for n in nodes
        if n["Resources"].get("CPU", 0) >= cpu and n["Resources"].get("GPU", 0) >= gpu
    ]  # fmt: skip
    if not fits:
        raise UserInputError(
            f"each trial asks for cpu {cpu:g}, gpu {gpu:g}, but no node of the cluster has that "
            f"(the cluster has {cluster.cpus:g} CPU and {cluster.gpus:g} GPU in all); "
            "lower --cpus-per-trial / --gpus-per-trial"
        )
    per_node = []
    for n in fits:
        by_cpu = n["Resources"].get("CPU", 0) // cpu
        by_gpu = n["Resources"].get("GPU", 0) // gpu if gpu > 0 else by_cpu
        per_node.append(int(min(by_cpu, by_gpu)))
    return max(1, sum(per_node))


def print_dashboard_hint(url: str | None) -> None:
    if not url:
        return
    if not url.startswith("http"):
        url = "http://" + url
    print(f"Ray dashboard: {url}")
    print(
        "  if it asks for a token (Ray >= 2.52 turns token authentication on): "
        "run `ray get-auth-token`, or read ~/.ray/auth_token"
    )
