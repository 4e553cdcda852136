"""Regret at the top end: is the model a search hands on the best one it trained?

    python benchmarks/selection_regret.py [--datasets moons,8gaussians,scurve] [--seeds 0,1,2]
        [--space search_spaces/quality_2d.yaml] [--points 10000] [--smoke-test]

As a user would: each built-in 2-D dataset is written to a 12,500-row .npy file, and the shipped
quality space searches it (ranked by the in-trial w2) with every trial's checkpoints kept. Then
every candidate weight of every trial (its best by the in-trial w2, its latest, its best by
val_loss) generates ``--points`` samples with dopri5 and is scored by exact W2 (POT) against as
many fresh points of the true distribution. Rules compared, by regret = W2(chosen) / W2(best
candidate of the search) - 1:

    in-trial pick       the top trial by the in-trial metric, its best_model.pt (before issue 21)
    final weights       the same trial's latest EMA weights
    final selection     what the search hands on now (best_model.pt, selection.json)

Also printed: the floor (W2 of two independent draws of ``--points``), the chosen model's W2 over
it, and the final selection's share of the search's wall time. Exact W2 of 10k x 10k points takes
about a minute on one core; two run at a time.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ROWS = 12_500  # the OT-CFM paper's 2-D tasks
TRUTH_SEED = 424_242  # fresh draws of the true distribution, never the data file's


def score(path: str, dataset: str, points: int) -> float:
    """Exact W2 of ``points`` dopri5 samples of the weights in ``path`` against as many fresh
    points of the true distribution."""
    import torch

    from tune_flow.data.toy import generate
    from tune_flow.evaluation.floor import sample_metrics
    from tune_flow.evaluation.judge import generate as sample_run
    from tune_flow.training.restore import load_run

    torch.set_num_threads(1)
    run = load_run(Path(path), "cpu")
    truth = torch.from_numpy(generate(dataset, points, TRUTH_SEED)).double()
    return sample_metrics(sample_run(run, points).double(), truth, ("w2",))["w2"]


def floor(dataset: str, points: int) -> float:
    import torch

    from tune_flow.data.toy import generate
    from tune_flow.evaluation.floor import sample_metrics

    a = torch.from_numpy(generate(dataset, points, TRUTH_SEED)).double()
    b = torch.from_numpy(generate(dataset, points, TRUTH_SEED + 1)).double()
    return sample_metrics(a, b, ("w2",))["w2"]


def latest_checkpoint(trial_dir: Path) -> Path | None:
    found = sorted(trial_dir.glob("checkpoint_*"), key=lambda p: int(p.name.split("_")[-1]))
    return found[-1] if found else None


def one_search(dataset: str, seed: int, args: argparse.Namespace, tmp: Path) -> dict:
    import numpy as np

    from tune_flow.data.toy import generate
    from tune_flow.selection import trial_candidates

    data = tmp / f"{dataset}.npy"
    np.save(data, generate(dataset, ROWS, seed))
    name = f"{dataset}-{seed}"
    command = [
        sys.executable, "-m", "tune_flow.search", "--space", args.space, "--storage-path",
        str(tmp), "--name", name, "--no-dashboard", "--no-report", "--seed", str(seed),
        "--top-k", "100000", "--set", f"dataset={data}", *args.extra,
    ]  # fmt: skip
    started = time.monotonic()
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - started
    experiment = tmp / name
    with (experiment / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    selection = json.loads((experiment / "selection.json").read_text())
    metric_column = next(c for c in rows[0] if c.startswith("best_") and c != "best_val_loss")
    by_metric = sorted(
        (r for r in rows if r[metric_column] not in ("", "nan", "inf")),
        key=lambda r: float(r[metric_column]),
    )
    candidates = []
    for row in rows:
        checkpoint = latest_checkpoint(Path(row["trial_dir"]))
        if checkpoint is not None:
            candidates += trial_candidates(row["trial_id"], checkpoint)
    with ProcessPoolExecutor(2) as pool:
        scores = list(
            pool.map(score, [str(c.path) for c in candidates], [dataset] * len(candidates),
                     [args.points] * len(candidates))
        )  # fmt: skip
    w2 = {(c.trial_id, c.weights): s for c, s in zip(candidates, scores, strict=True)}
    best = min(scores)
    top = by_metric[0]["trial_id"]
    top_weights = {weights: s for (trial, weights), s in w2.items() if trial == top}
    chosen = selection["candidates"][0]
    picks = {
        "in-trial pick": top_weights.get(f"best_{metric_column.removeprefix('best_')}")
        or top_weights.get("latest"),
        "final weights": top_weights["latest"],
        "final selection": w2[(chosen["trial_id"], chosen["weights"])],
    }
    # Per scored trial: the weights it hands on against its latest and best-by-val_loss ones.
    handed = []
    for trial in dict.fromkeys(c["trial_id"] for c in selection["candidates"]):
        own = {weights: s for (t, weights), s in w2.items() if t == trial}
        first = next(c for c in selection["candidates"] if c["trial_id"] == trial)
        others = [own[k] for k in ("latest", "best_val_loss") if k in own]
        handed.append(own[first["weights"]] / min(others) - 1)
    return {
        "dataset": dataset,
        "seed": seed,
        "best": best,
        "floor": floor(dataset, args.points),
        "regret": {rule: value / best - 1 for rule, value in picks.items()},
        "chosen_w2": picks["final selection"],
        "handed_vs_own": max(handed),
        "selection_share": selection["seconds"] / wall,
        "wall_s": wall,
        "candidates": len(candidates),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="moons,8gaussians,scurve")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--space", default="search_spaces/quality_2d.yaml")
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument(
        "--keep", type=Path, help="keep the searches (with every checkpoint) in this directory, "
        "e.g. for benchmarks/in_trial_estimators.py",
    )  # fmt: skip
    parser.add_argument(
        "--smoke-test", action="store_true", help="1 search of flow.yaml, 4 trials, 6 epochs"
    )
    args = parser.parse_args()
    datasets, seeds = args.datasets.split(","), [int(s) for s in args.seeds.split(",")]
    args.extra = []
    if args.smoke_test:
        datasets, seeds, args.points = datasets[:1], seeds[:1], 1000
        # quality_2d searches max_epochs: the smoke test uses flow.yaml (also ranked by w2).
        args.space = "search_spaces/flow.yaml"
        args.extra = ["--num-samples", "4", "--max-epochs", "6"]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        for dataset in datasets:
            for seed in seeds:
                result = one_search(dataset, seed, args, where)
                results.append(result)
                print(json.dumps(result), flush=True)
    print(f"\nW2 on {args.points} samples against {args.points} fresh points (exact POT, dopri5)")
    print(
        "dataset      seed  best    floor   chosen/floor  "
        + "  ".join(f"{rule:>15}" for rule in results[0]["regret"])
        + "  handed-vs-own  selection share"
    )
    for r in results:
        print(
            f"{r['dataset']:<12} {r['seed']:<5} {r['best']:.4f}  {r['floor']:.4f}  "
            f"{r['chosen_w2'] / r['floor']:>12.2f}  "
            + "  ".join(f"{v:>+15.1%}" for v in r["regret"].values())
            + f"  {r['handed_vs_own']:>+13.1%}  {r['selection_share']:>15.1%}"
        )
    for rule in results[0]["regret"]:
        values = [r["regret"][rule] for r in results]
        print(f"{rule}: median regret {statistics.median(values):+.1%}, worst {max(values):+.1%}")


if __name__ == "__main__":
    main()
