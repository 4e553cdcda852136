"""``python -m tune_flow.sample --checkpoint RUN_DIR --n 10000 --steps 100 --method euler --out samples.npy``

Generates samples, in the data's original units, from a run directory of ``tune_flow.train``
(its best EMA weights) or a Tune trial checkpoint directory (the EMA weights it holds).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from tune_flow.errors import UserInputError, exits_cleanly_on_user_error
from tune_flow.evaluation.sampling import METHODS
from tune_flow.training.restore import load_run

OUT_SUFFIXES = (".npy", ".csv")


@exits_cleanly_on_user_error
def main(argv: list[str] | None = None) -> int:
    from tune_flow.evaluation.judge import generate

    p = argparse.ArgumentParser(prog="python -m tune_flow.sample", description=__doc__)
    p.add_argument(
        "--checkpoint", required=True, help="run directory or trial checkpoint directory"
    )
    p.add_argument("--n", type=int, default=10_000, help="number of samples")
    p.add_argument("--steps", type=int, default=100, help="integration steps from t=0 to 1")
    p.add_argument("--method", choices=METHODS, default="euler")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", required=True, help="samples.npy or samples.csv")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out")
    args = p.parse_args(argv)
    if args.n < 1 or args.steps < 1:
        raise UserInputError(f"--n ({args.n}) and --steps ({args.steps}) must be >= 1")
    out = Path(args.out)
    if out.suffix not in OUT_SUFFIXES:
        raise UserInputError(f"--out {args.out!r} must end in .npy or .csv")
    if out.exists() and not args.force:
        raise UserInputError(f"--out {args.out!r} exists; pass --force to overwrite it")
    run = load_run(Path(args.checkpoint), args.device)
    samples = generate(run, args.n, args.steps, args.method, args.seed).numpy()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npy":
        np.save(out, samples)
    else:
        header = ",".join(f"x{i}" for i in range(samples.shape[1]))
        np.savetxt(out, samples, delimiter=",", header=header, comments="")
    print(f"wrote {len(samples)} samples ({samples.shape[1]}-d, original units) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
