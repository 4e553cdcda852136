"""ASHA settings compared on many seeds at once, by replaying measured learning curves.

    python benchmarks/asha_simulation.py [--space search_spaces/arch.yaml] [--seeds 40]
        [--table PATH] [--rungs 5:4 8:4 ...]

search_efficiency.py runs real searches: ~6 minutes for 3 seeds on this machine, too few to tell
two schedulers apart (one seed's best trial decides a row). Here every point of the space is
trained once, to the end, in a real FIFO grid search (the "table": each point's val_loss at every
epoch and its median seconds per epoch; training is deterministic, so a search that proposes the
point again gets the same curve), and then searches are replayed against the table in a fraction
of a second each: Optuna's TPE (the settings ``build_searcher`` uses) or random sampling proposes
through the space's own define-by-run function, trials run two at a time with their measured
per-epoch time, and the scheduler decides at every epoch. Printed per setting, against FIFO +
random with the same seed: the epochs used and the best val loss reached (mean over seeds, the
worst seed, and on how many seeds it is within 1%).

The schedulers replayed: ``asha`` (Ray's ASHA: judged once at a rung against the trials recorded
there so far, stopped if outside the top 1/eta; tune_flow.search.tuner), and ``asha_promote``
(tune_flow.search.schedulers.asha_promotion: paused at a rung until in the top 1/eta, resumed when
promoted, the best waiting trial of the top rung promoted at the end), and a variant of it tried
and not adopted, ``asha_promote_stops``: a waiting trial ranked below ``max(1, n_trials // eta)``
at its rung can never be promoted, so it stops (PRUNED) at once instead of at the end. A replay is a model of a
search, not a measurement of one: the trials' order, and so a few decisions, differ from a real
run's (section 3d of RESULTS.md compares the two).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def build_table(space_path: str, path: Path) -> None:
    """Train every grid point of the space to the end (FIFO, 2 at a time) and save the curves."""
    import ray

    from tune_flow.search.tuner import build_tuner
    from tune_flow.space import load_space

    space = load_space(space_path)
    space.method, space.scheduler.type = "grid", "fifo"
    space.run_cap = len(space.grid_points())
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        with tempfile.TemporaryDirectory() as storage:
            results = build_tuner(
                space, name="table", storage_path=storage, seed=0, max_concurrent=2,
                max_failures=0, time_budget_s=None,
            ).fit()  # fmt: skip
            rows = [
                {
                    "config": r.config.get("grid_point", r.config),
                    "val_loss": [float(v) for v in r.metrics_dataframe.val_loss],
                    "seconds_per_epoch": float(r.metrics_dataframe.time_this_iter_s.median()),
                }
                for r in results
            ]
    finally:
        ray.shutdown()
    path.write_text(json.dumps(rows))


def _key(config: dict[str, Any]) -> tuple:
    return tuple(sorted((k, v) for k, v in config.items() if not k.startswith("_")))


def replay(
    space: Any, table: dict[tuple, dict], scheduler: str, seed: int, grace: float = 5,
    eta: float = 4, sampler: str = "tpe", n_trials: int = 16, concurrency: int = 2,
) -> tuple[int, float]:  # fmt: skip
    """One search against the table; returns (epochs trained, best val loss reached)."""
    import numpy as np
    import optuna
    from optuna.trial import TrialState

    max_t = int(space.base.get("max_epochs", 100))
    if sampler == "tpe":
        chosen: Any = optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, constant_liar=True,
            n_startup_trials=min(10, max(2, n_trials // 4)),
        )  # fmt: skip
    else:
        chosen = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(sampler=chosen)
    rungs: list[float] = []
    while grace * eta ** len(rungs) < max_t:
        rungs.append(grace * eta ** len(rungs))
    recorded: dict[float, dict[int, float]] = {m: {} for m in rungs}
    promoted: dict[float, set[int]] = {m: set() for m in rungs}
    trials: dict[int, dict[str, Any]] = {}
    proposed = epochs = 0

    def top(rung: float) -> list[int]:
        values = recorded[rung]
        return sorted(values, key=values.__getitem__)[: int(len(values) // eta)]

    promoting = scheduler in ("asha_promote", "asha_promote_stops")

    def next_trial() -> int | None:
        nonlocal proposed
        if promoting:
            for rung in reversed(rungs):
                for tid in top(rung):
                    if trials[tid]["state"] == "paused" and tid not in promoted[rung]:
                        promoted[rung].add(tid)
                        trials[tid]["state"] = "running"
                        return tid
        if proposed < n_trials:
            proposed += 1
            ask = study.ask()
            tid = ask.number
            trials[tid] = {
                "ask": ask, "row": table[_key(space.sample(ask))], "epoch": 0, "state": "running",
            }  # fmt: skip
            return tid
        if promoting and not any(
            t["state"] == "running" for t in trials.values()
        ):  # the end: the top rung's best waiting trial, if that rung promoted nobody
            for rung in reversed(rungs):
                here = [t for t in recorded[rung] if trials[t]["state"] == "paused"]
                if here:
                    if not promoted[rung]:
                        best = min(here, key=recorded[rung].__getitem__)
                        promoted[rung].add(best)
                        trials[best]["state"] = "running"
                        return best
                    break
        return None

    def finish(tid: int, pruned: bool) -> None:
        trial = trials[tid]
        trial["state"] = "done"
        if pruned:
            study.tell(trial["ask"], state=TrialState.PRUNED)
        else:
            study.tell(trial["ask"], trial["row"]["val_loss"][trial["epoch"] - 1])

    clock = 0.0
    workers: list[list[Any] | None] = [None] * concurrency  # [trial, time its epoch ends]

    def start(slot: int) -> None:
        tid = next_trial()
        workers[slot] = (
            None if tid is None else [tid, clock + trials[tid]["row"]["seconds_per_epoch"]]
        )

    for slot in range(concurrency):
        start(slot)
    while any(workers):
        slot = min((s for s in range(concurrency) if workers[s]), key=lambda s: workers[s][1])
        tid, clock = workers[slot]
        trial = trials[tid]
        trial["epoch"] += 1
        epochs += 1
        epoch, curve = trial["epoch"], trial["row"]["val_loss"]
        value = curve[epoch - 1]
        trial["ask"].report(value, epoch)
        decision = "continue"
        if epoch >= len(curve) or epoch >= max_t:
            decision = "done"  # patience (the curve ends) or max_t
        elif scheduler == "asha" and epoch in recorded:
            values = list(recorded[epoch].values())
            cutoff = float(np.percentile(values, 100 / eta)) if values else None
            recorded[epoch][tid] = value
            if cutoff is not None and value > cutoff:
                decision = "pruned"
        elif promoting and epoch in recorded:
            recorded[epoch][tid] = value
            if tid in top(epoch):
                promoted[epoch].add(tid)
            else:
                decision = "pause"
                if scheduler == "asha_promote_stops":  # those that can never be promoted stop
                    ranked = sorted(recorded[epoch], key=recorded[epoch].__getitem__)
                    limit = max(1, int(n_trials // eta))
                    for other in ranked[limit:]:
                        waiting = (
                            trials[other]["state"] == "paused" and other not in promoted[epoch]
                        )
                        if other != tid and waiting:
                            finish(other, True)
                    if ranked.index(tid) >= limit:
                        decision = "pruned"
        if decision == "continue":
            workers[slot][1] = clock + trial["row"]["seconds_per_epoch"]
        else:
            if decision == "pause":
                trial["state"] = "paused"
            else:
                finish(tid, decision == "pruned")
            start(slot)
        for other in range(concurrency):  # a pause or an end may have made a promotion possible
            if workers[other] is None:
                start(other)
    for tid, trial in trials.items():
        if trial["state"] == "paused":
            finish(tid, True)
    best = min(min(t["row"]["val_loss"][: t["epoch"]]) for t in trials.values())
    return epochs, best


def main() -> None:
    import optuna

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--space", default="search_spaces/arch.yaml")
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--table", help="the curves (built and saved there when missing)")
    parser.add_argument(
        "--rungs", nargs="+", default=["5:3", "5:4", "8:4", "10:3"], help="GRACE:ETA pairs"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tune_flow.space import load_space

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    import warnings

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    table_path = Path(args.table or Path(tempfile.gettempdir()) / "tune_flow_asha_table.json")
    if not table_path.is_file():
        print(f"training every grid point of {args.space} to the end -> {table_path}")
        build_table(args.space, table_path)
    space = load_space(args.space)
    table = {_key(row["config"]): row for row in json.loads(table_path.read_text())}
    print(f"{len(table)} curves from {table_path}; {args.seeds} seeds; 16 trials, 2 at a time")
    fifo = {s: replay(space, table, "fifo", s, sampler="random") for s in range(args.seeds)}
    print(f"{'scheduler':>18} {'grace':>5} {'eta':>4} {'epochs':>7} {'mean gap':>9} "
          f"{'worst':>7} {'within 1%':>10}")  # fmt: skip
    for scheduler in ("asha", "asha_promote", "asha_promote_stops"):
        for pair in args.rungs:
            grace, eta = (float(x) for x in pair.split(":"))
            ratios, gaps = [], []
            for seed in range(args.seeds):
                epochs, best = replay(space, table, scheduler, seed, grace, eta)
                ratios.append(epochs / fifo[seed][0])
                gaps.append(best / fifo[seed][1] - 1)
            within = sum(g <= 0.01 for g in gaps)
            print(
                f"{scheduler:>18} {grace:>5g} {eta:>4g} {statistics.mean(ratios):>7.0%} "
                f"{statistics.mean(gaps):>+9.2%} {max(gaps):>+7.2%} {within:>5}/{args.seeds}"
            )


if __name__ == "__main__":
    main()
