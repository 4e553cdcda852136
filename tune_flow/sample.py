"""``python -m tune_flow.sample --checkpoint MODEL --n 10000 --out samples.npy [--reference ref.npy]``

Generates samples, in the data's original units, from a search's ``best_model.pt``, a run
directory of ``tune_flow.train`` (its best EMA weights) or a Tune trial checkpoint directory. The
checkpoint is enough: the data file need not exist any more. The solver is the run's own
(``sample_method``, dopri5 by default) unless ``--method`` says otherwise. With ``--reference``
(an array of data points, .npy or .csv), the samples are also scored against it: W2 and energy
distance with their n and floor (the same metric between two disjoint halves of the reference).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from tune_flow.errors import UserInputError, exits_cleanly_on_user_error
from tune_flow.evaluation.sampling import METHODS, Solver, solver_problem
from tune_flow.program_name import program_name
from tune_flow.training.restore import load_run

OUT_SUFFIXES = (".npy", ".csv")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=program_name("sample"), description=__doc__)
    p.add_argument(
        "--checkpoint", required=True,
        help="a model file (a search's best_model.pt), a run directory or a trial checkpoint directory",
    )  # fmt: skip
    p.add_argument("--n", type=int, default=10_000, help="number of samples")
    p.add_argument("--method", choices=METHODS, help="ODE solver (default: the run's, dopri5)")
    p.add_argument("--steps", type=int, help="steps of a fixed-step method (default: the run's)")
    p.add_argument("--atol", type=float, help="absolute tolerance of an adaptive method")
    p.add_argument("--rtol", type=float, help="relative tolerance of an adaptive method")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--iid", action="store_true",
        help="draw the source i.i.d. (default: a scrambled Sobol draw, a low-discrepancy sample "
        "whose metrics vary far less from seed to seed)",
    )  # fmt: skip
    p.add_argument("--device", default="auto")
    p.add_argument("--reference", help="data points (.npy or .csv) to score the samples against")
    p.add_argument("--out", help="samples.npy or samples.csv (optional with --reference)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out")
    return p


@exits_cleanly_on_user_error
def main(argv: list[str] | None = None) -> int:
    from tune_flow.evaluation.judge import generate

    args = build_parser().parse_args(argv)
    if args.n < 1:
        raise UserInputError(f"--n is {args.n}, but must be >= 1")
    if args.out is None and args.reference is None:
        raise UserInputError(
            "give --out FILE for the samples, --reference FILE to score them, or both"
        )
    out = None if args.out is None else Path(args.out)
    if out is not None and out.suffix not in OUT_SUFFIXES:
        raise UserInputError(f"--out {args.out!r} must end in .npy or .csv")
    if out is not None and out.exists() and not args.force:
        raise UserInputError(f"--out {args.out!r} exists; pass --force to overwrite it")
    # Everything checkable before sampling: the solver settings and the reference file.
    for flag, value in (("--steps", args.steps), ("--atol", args.atol), ("--rtol", args.rtol)):
        if value is not None and not value > 0:
            raise UserInputError(f"{flag} is {value}, but must be > 0")
    run = load_run(Path(args.checkpoint), args.device)
    reference = None if args.reference is None else _reference(args.reference, run.dim)
    own = run.config.solver
    settings = (
        args.method or own.method,
        args.steps or own.steps,
        args.atol or own.atol,
        args.rtol or own.rtol,
    )
    problem = solver_problem(*settings)
    if problem:
        raise UserInputError(problem)
    solver = Solver(*settings)
    samples = generate(run, args.n, solver, args.seed, iid=args.iid).numpy()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        flat = samples.reshape(len(samples), -1)
        if out.suffix == ".npy":
            np.save(out, samples)
        else:
            header = ",".join(f"x{i}" for i in range(flat.shape[1]))
            np.savetxt(out, flat, delimiter=",", header=header, comments="")
        print(
            f"wrote {len(samples)} samples of shape {run.shape} (original units, {solver.describe()}) "
            f"to {out}"
        )
    if reference is not None:
        print(score_against_reference(samples, reference))
    return 0


def score_against_reference(samples: np.ndarray, reference: np.ndarray) -> str:
    """W2 and energy distance of the samples against the reference, with their n and floor. The
    reference is split in two disjoint halves of m points: the samples' first m points are
    scored against one half, and the floor is the other half against the same half."""
    import torch

    from tune_flow.evaluation.floor import metric_floor, sample_metrics, scored

    m = min(len(reference) // 2, len(samples))
    if m < 2:
        raise UserInputError(f"--reference needs at least 4 points, it has {len(reference)}")
    half, other = torch.from_numpy(reference[:m]), torch.from_numpy(reference[m : 2 * m])
    generated = torch.from_numpy(samples[:m]).double()
    values = sample_metrics(generated, half.double())
    floors = metric_floor(other.double(), half.double())
    return "against the reference: " + ", ".join(str(s) for s in scored(values, m, floors))


def _reference(path: str, dim: int) -> np.ndarray:
    """The reference points (m, dim) as float64; one line naming what is wrong otherwise."""
    from tune_flow.data.files import load_reference

    return load_reference(path, dim, "--reference")


if __name__ == "__main__":
    sys.exit(main())
