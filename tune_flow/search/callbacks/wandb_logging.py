"""W&B logging through Ray's ``WandbLoggerCallback``: one W&B run per trial."""

from __future__ import annotations

import netrc
import os
import sys
from pathlib import Path
from typing import Any

from ray.air.integrations.wandb import WandbLoggerCallback

# Tune's bookkeeping, not the run's metrics.
EXCLUDED_RESULTS = [
    "time_this_iter_s", "time_total_s", "timestamp", "pid", "hostname", "node_ip", "date",
    "time_since_restore", "iterations_since_restore", "checkpoint_dir_name", "done",
]  # fmt: skip


def has_wandb_credentials() -> bool:
    """An API key in the environment or a ``wandb login`` entry in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc(Path.home() / ".netrc").authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


class TrialDirWandbCallback(WandbLoggerCallback):
    """Ray's callback, with each run written into its trial's directory under the results and
    the full resolved config (base + sampled parameters) logged as the run's config.

    Ray's own version writes the run into the trial's *local* staging directory, which is synced
    to the results before the logging actor has finished: the copy under the results then holds
    an empty run file.
    """

    def __init__(self, base: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base = base

    def _start_logging_actor(
        self, trial: Any, exclude_results: list[str], **wandb_init_kwargs: Any
    ) -> None:
        trial_dir = Path(trial.path)
        if trial_dir.is_absolute():  # a local or shared-filesystem results directory
            trial_dir.mkdir(parents=True, exist_ok=True)
            wandb_init_kwargs["dir"] = str(trial_dir)
        wandb_init_kwargs["config"] = {**self.base, **wandb_init_kwargs.get("config", {})}
        super()._start_logging_actor(trial, exclude_results, **wandb_init_kwargs)


def wandb_callback(
    project: str, entity: str | None, group: str, base: dict[str, Any]
) -> WandbLoggerCallback:
    """A W&B callback, offline (no network, no key needed) unless credentials exist.

    Environment variables are never logged: the API key reaches W&B's own client through the
    environment of the logging actor, not through any config or file under the results.
    """
    mode = os.environ.get("WANDB_MODE") or ("online" if has_wandb_credentials() else "offline")
    if mode == "offline":
        # Ray's callback checks for an API key in this process unless WANDB_MODE says offline.
        os.environ["WANDB_MODE"] = "offline"
        print(
            "W&B: logging offline (no API key configured or WANDB_MODE=offline); `wandb sync` uploads later",
            file=sys.stderr,
        )
    return TrialDirWandbCallback(
        base,
        project=project,
        entity=entity,
        group=group,
        log_config=True,
        excludes=EXCLUDED_RESULTS,
        upload_checkpoints=False,
        # Passed to wandb.init inside each logging actor: explicit, so it does not depend on the
        # environment the Ray workers were started with.
        mode=mode,
        settings={"silent": True},
    )
