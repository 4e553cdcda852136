"""Search efficiency: ASHA + TPE against FIFO + random sampling, equal trial counts, several seeds.

    python benchmarks/search_efficiency.py [--space search_spaces/arch.yaml] [--seeds 3]
        [--scheduler asha|asha_promote] [--grace-period N] [--reduction-factor N]
        [--no-complete] [--smoke-test]

For each seed, both searches run the same space on one local Ray instance (2 CPUs). Prints epochs
consumed, the best val loss reached, and the share of trials each stop reason ended.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections import Counter

from tune_flow.search.state.results import trial_rows
from tune_flow.search.tuner import build_tuner
from tune_flow.space import load_space


def run(
    space_path: str,
    method: str,
    scheduler: str,
    seed: int,
    num_samples: int | None,
    max_epochs: int | None,
    pruned: bool = True,
    asha: dict | None = None,
    n_startup: int | None = None,
) -> dict:
    from tune_flow.search.schedulers.optuna_searcher import TruthfulOptunaSearch

    # The searcher lives in this (the driver's) process: the class attribute reaches it.
    TruthfulOptunaSearch.record_stopped_as_pruned = pruned
    space = load_space(space_path)
    space.method, space.scheduler.type = method, scheduler
    for key, value in (asha or {}).items():  # other rungs than the space's, to compare them
        setattr(space.scheduler, key, value)
    if num_samples:
        space.run_cap = num_samples
    if max_epochs:
        space.base["max_epochs"] = space.scheduler.max_t = max_epochs
    with tempfile.TemporaryDirectory() as storage:
        results = build_tuner(
            space,
            name="eff",
            storage_path=storage,
            seed=seed,
            max_concurrent=2,
            max_failures=0,
            time_budget_s=None,
            n_startup_trials=n_startup,
        ).fit()
        rows = trial_rows(
            results, [p.name for p in space.parameters], space.metric, space.mode, scheduler
        )
    return {
        "epochs": sum(int(r["epochs_run"]) for r in rows),
        "best": min(r["best_val_loss"] for r in rows),
        "reasons": Counter(r["stop_reason"] for r in rows),
        "trials": len(rows),
    }


def main() -> None:
    import ray

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--space", default="search_spaces/arch.yaml")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--grace-period", type=int, help="ASHA's first rung (default: the space's)")
    parser.add_argument("--reduction-factor", type=int, help="ASHA's eta (default: the space's)")
    parser.add_argument(
        "--no-complete", action="store_true", help="skip the COMPLETE-instead-of-PRUNED search"
    )
    parser.add_argument("--n-startup", type=int, help="TPE's random start-up trials")
    parser.add_argument(
        "--scheduler",
        choices=("asha", "asha_promote"),
        help="the ASHA side: Ray's (stops at rungs) or by promotion (default: the space's)",
    )
    parser.add_argument("--smoke-test", action="store_true")
    args = parser.parse_args()
    rungs = {
        key: value
        for key, value in (
            ("grace_period", args.grace_period), ("reduction_factor", args.reduction_factor)
        )
        if value is not None
    }  # fmt: skip
    seeds, samples, epochs = (1, 2, 3) if args.smoke_test else (args.seeds, None, None)
    own = load_space(args.space).scheduler
    scheduler = args.scheduler or (own.type if own.has_rungs else "asha")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    rows = []
    complete = []  # ASHA-stopped trials told to Optuna as COMPLETE, as Ray's OptunaSearch does
    for seed in range(seeds):
        asha = run(
            args.space, "bayes", scheduler, seed, samples, epochs, asha=rungs,
            n_startup=args.n_startup,
        )  # fmt: skip
        fifo = run(args.space, "random", "fifo", seed, samples, epochs)
        rows.append((seed, asha, fifo))
        if not args.no_complete:
            complete.append(
                run(args.space, "bayes", scheduler, seed, samples, epochs, pruned=False, asha=rungs)
            )
    ray.shutdown()
    print(
        f"space {args.space}, {rows[0][1]['trials']} trials per search, {seeds} seed(s), "
        f"ASHA side: {scheduler}"
        + (f", ASHA {rungs}" if rungs else "")
        + (f", TPE n_startup_trials {args.n_startup}" if args.n_startup else "")
    )
    print(
        f"{'seed':>4} {'ASHA+TPE epochs':>16} {'best':>8} {'FIFO+random epochs':>19} {'best':>8} {'epochs ratio':>13} {'best gap':>9}"
    )
    for seed, asha, fifo in rows:
        print(
            f"{seed:>4} {asha['epochs']:>16} {asha['best']:>8.4f} {fifo['epochs']:>19} {fifo['best']:>8.4f} "
            f"{asha['epochs'] / fifo['epochs']:>12.0%} {asha['best'] / fifo['best'] - 1:>+9.2%}"
        )
    ratio = statistics.mean(a["epochs"] / f["epochs"] for _, a, f in rows)
    gap = statistics.mean(a["best"] / f["best"] - 1 for _, a, f in rows)
    print(
        f"mean: ASHA+TPE used {ratio:.0%} of FIFO+random's epochs; best val loss {gap:+.2%} relative"
    )
    for label, key in (("ASHA+TPE", 1), ("FIFO+random", 2)):
        reasons = sum((r[key]["reasons"] for r in rows), Counter())
        total = sum(reasons.values())
        print(
            f"{label} stop reasons: "
            + ", ".join(f"{k} {v / total:.0%}" for k, v in sorted(reasons.items()))
        )
    if not complete:
        return
    ratio_c = statistics.mean(
        c["epochs"] / f["epochs"] for c, (_, _, f) in zip(complete, rows, strict=True)
    )
    gap_c = statistics.mean(
        c["best"] / f["best"] - 1 for c, (_, _, f) in zip(complete, rows, strict=True)
    )
    print(
        "with ASHA-stopped trials told to Optuna as COMPLETE (Ray's default) instead of PRUNED: "
        + ", ".join(
            f"seed {s}: {c['epochs']} epochs, best {c['best']:.4f}"
            for (s, _, _), c in zip(rows, complete, strict=True)
        )
        + f"; mean {ratio_c:.0%} of FIFO+random's epochs, best {gap_c:+.2%}"
    )


if __name__ == "__main__":
    main()
