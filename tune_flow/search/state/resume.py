"""Repairing Tune's experiment state, so that ``--resume`` continues exactly what is unfinished.

:func:`repair_missing_checkpoints`, before ``Tuner.restore``: Tune snapshots each trial's
checkpoint bookkeeping now and then, but deletes checkpoints that fall out of ``num_to_keep`` at
once. A driver killed between the two leaves a snapshot whose "latest
checkpoint" no longer exists, and the restore of that trial then fails every retry ("Could not
recover from checkpoint as it does not exist on storage anymore"; seen here with kill -9 during
the default search). Before restoring, each such reference is pointed at the newest checkpoint
that does exist in the trial's directory, or dropped (the trial then starts over) when none does.
This reads and writes Tune's own state objects (Ray 2.60's private ``_TrainingRunMetadata``).

:func:`set_aside_unreadable_state`, before ``Tuner.restore``: Tune writes its state files
atomically in a staging folder, then *copies* them to the experiment folder; a driver killed
during the copy leaves a truncated file there (seen: an empty ``callback-states-*.pkl`` after
kill -9 on a loaded machine). Tune restores from the newest file of each kind; it failed on the
empty one ("Failed to restore the run state": EOFError), logged it and ran a new, empty
experiment in the same folder. An unreadable newest file is renamed ``*.unreadable`` (kept, not
deleted), so that Tune restores from the one before it, or, for the callbacks' state, without
it; with no readable experiment state left, the resume is refused.

:func:`record_finished_trials`, after a search ends: Tune re-serialises a trial into its snapshot
only when it marks it, and it marks a stopped trial only when the trial has an actor (Ray 2.60,
``TuneController._schedule_trial_stop``). A trial stopped while it waited at an ASHA rung
(``asha_promote``'s end, a time budget; Ray's HyperBand alike) stayed PAUSED in the final snapshot,
so ``--resume`` of a finished search trained those trials again (15 of 16 in the default job).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tune_flow.errors import UserInputError
from tune_flow.search.state.json_files import write_json_atomically
from tune_flow.training.checkpoint import CHECKPOINT_FILENAME


def _newest_snapshot(experiment: Path) -> tuple[Path, dict] | None:
    """Tune's newest experiment-state file (the one it restores from) and its contents."""
    states = sorted(Path(experiment).glob("experiment_state-*.json"))
    if not states:
        return None
    return states[-1], json.loads(states[-1].read_text())


def repair_missing_checkpoints(experiment: Path) -> list[str]:
    """Fix the newest experiment-state file in place; return one line per repaired trial."""
    from ray.train import Checkpoint
    from ray.train._internal.session import _TrainingResult
    from ray.tune.trainable.metadata import _TrainingRunMetadata

    newest = _newest_snapshot(experiment)
    if newest is None:
        return []
    state_file, state = newest
    repaired = []
    for entry in state["trial_data"]:
        if json.loads(entry[0]).get("status") == "TERMINATED":
            continue  # finished: never restored (the pruner may have removed its checkpoints)
        metadata = _TrainingRunMetadata.from_json_state(entry[1])
        manager = metadata.checkpoint_manager
        latest = manager.latest_checkpoint_result
        if latest is None or Path(latest.checkpoint.path).exists():
            continue
        trial_dir = Path(latest.checkpoint.path).parent
        manager._checkpoint_results = [
            r for r in manager._checkpoint_results if Path(r.checkpoint.path).exists()
        ]
        usable = sorted(
            p for p in trial_dir.glob("checkpoint_*") if (p / CHECKPOINT_FILENAME).is_file()
        )
        if usable:
            checkpoint = Checkpoint(str(usable[-1]), filesystem=latest.checkpoint.filesystem)
            manager._latest_checkpoint_result = _TrainingResult(
                checkpoint=checkpoint, metrics=latest.metrics
            )
            repaired.append(
                f"{trial_dir.name}: {Path(latest.checkpoint.path).name} is gone, resuming from {usable[-1].name}"
            )
        else:
            manager._latest_checkpoint_result = None
            repaired.append(f"{trial_dir.name}: no checkpoint left, the trial starts over")
        entry[1] = metadata.get_json_state()
    if repaired:
        write_json_atomically(state_file, state)
    return repaired


# The state files Tune restores from, the newest of each kind (Ray 2.60: TuneController.resume,
# Searcher.restore_from_dir, CallbackList.restore_from_dir).
STATE_FILE_KINDS = (
    "experiment_state-*.json",
    "basic-variant-state-*.json",
    "searcher-state-*.pkl",
    "callback-states-*.pkl",
)
UNREADABLE_SUFFIX = ".unreadable"


def _readable(path: Path) -> bool:
    """Whether Tune could load ``path`` (JSON or cloudpickle, by its suffix)."""
    try:
        if path.suffix == ".json":
            json.loads(path.read_text())
        else:
            import ray.cloudpickle as cloudpickle

            with path.open("rb") as handle:
                cloudpickle.load(handle)
    except Exception:  # noqa: BLE001 -- any failure to load is what Tune would fail on
        return False
    return True


def set_aside_unreadable_state(experiment: Path) -> list[str]:
    """Rename each unreadable newest state file of :data:`STATE_FILE_KINDS` (and the next one,
    while it is unreadable too) to ``<name>.unreadable``; return one line per file. Raises
    UserInputError when no readable experiment state is left: Tune would then log the failure
    and run a new, empty experiment in the search's folder instead of resuming it."""
    lines = []
    for pattern in STATE_FILE_KINDS:
        for path in sorted(Path(experiment).glob(pattern), reverse=True):
            if _readable(path):
                break
            path.rename(path.with_name(path.name + UNREADABLE_SUFFIX))
            lines.append(f"{path.name} is unreadable (cut short by the kill?), set aside")
    if lines and not list(Path(experiment).glob(STATE_FILE_KINDS[0])):
        raise UserInputError(
            f"--resume: {str(experiment)!r} holds no readable Tune experiment state (kept as "
            f"*{UNREADABLE_SUFFIX}); its trials cannot be resumed: start again under a new --name"
        )
    return lines


UNFINISHED = ("PENDING", "RUNNING", "PAUSED")


def record_finished_trials(experiment: Path, stop_reasons: dict[str, str] | None = None) -> int:
    """After a search finished (every trial TERMINATED or ERROR in Tune's memory), write
    TERMINATED for trials the newest snapshot still holds as unfinished, with their stop reason
    from ``stop_reasons`` (trial id -> reason) where the snapshot has none; return how many."""
    stop_reasons = stop_reasons or {}
    newest = _newest_snapshot(experiment)
    if newest is None:
        return 0
    state_file, state = newest
    fixed = 0
    for entry in state["trial_data"]:
        trial = json.loads(entry[0])  # the trial's own JSON state (Trial.get_json_state)
        if trial.get("status") not in UNFINISHED:
            continue
        trial["status"] = "TERMINATED"
        entry[0] = json.dumps(trial, indent=2)
        reason = stop_reasons.get(trial.get("trial_id", ""))
        metadata = json.loads(entry[1])  # its run metadata: last_result
        if (
            reason
            and metadata.get("last_result")
            and not metadata["last_result"].get("stop_reason")
        ):
            metadata["last_result"]["stop_reason"] = reason
            entry[1] = json.dumps(metadata, indent=2)
        fixed += 1
    if fixed:
        write_json_atomically(state_file, state)
    return fixed


# Modules that moved into search/'s sub-folders (2026-12-05). Tune pickles a search's scheduler,
# searcher and callbacks into tuner.pkl by module path; a search started before the move must
# still resume, so their old names are registered before Tuner.restore unpickles it.
MOVED_MODULES = {
    "tune_flow.search.asha_promotion": "tune_flow.search.schedulers.asha_promotion",
    "tune_flow.search.asha_state": "tune_flow.search.schedulers.asha_state",
    "tune_flow.search.optuna_searcher": "tune_flow.search.schedulers.optuna_searcher",
    "tune_flow.search.progress": "tune_flow.search.callbacks.progress",
    "tune_flow.search.tensorboard_logging": "tune_flow.search.callbacks.tensorboard_logging",
    "tune_flow.search.wandb_logging": "tune_flow.search.callbacks.wandb_logging",
    "tune_flow.search.trial_logs": "tune_flow.search.callbacks.trial_logs",
    "tune_flow.search.search_end": "tune_flow.search.state.search_end",
    "tune_flow.search.checkpoint_pruning": "tune_flow.search.state.checkpoint_pruning",
}


def register_moved_modules() -> None:
    """Make each old module name of :data:`MOVED_MODULES` import its module's new home."""
    import importlib

    for old, new in MOVED_MODULES.items():
        sys.modules.setdefault(old, importlib.import_module(new))
