"""Cost of OT-CFM's exact minibatch coupling against a whole I-CFM training step.

    python benchmarks/otcfm_cost.py [--smoke-test]

Prints, per batch size, the time of the exact assignment (scipy linear_sum_assignment on the
squared-Euclidean cost) and of one full I-CFM training step of the default MLP, and their ratio.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from tune_flow.models import MLP
from tune_flow.training.flows import ICFM, OTCFM


def _time(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke-test", action="store_true")
    args = parser.parse_args()
    repeats = 3 if args.smoke_test else 30
    torch.manual_seed(0)
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, threads {torch.get_num_threads()}"
    )
    print(
        f"{'batch':>6} {'pairing ms':>11} {'icfm step ms':>13} {'otcfm step ms':>14} {'ratio':>6}"
    )
    for batch in (256, 512, 1024):
        pairing, icfm, otcfm = _measure(batch, repeats)
        print(
            f"{batch:>6} {pairing * 1e3:>11.2f} {icfm * 1e3:>13.2f} {otcfm * 1e3:>14.2f} {otcfm / icfm:>6.1f}x"
        )


def _measure(batch: int, repeats: int) -> tuple[float, float, float]:
    """Seconds for (pairing alone, an I-CFM step, an OT-CFM step) at ``batch``."""
    x_0, x_1, t = torch.randn(batch, 2), torch.randn(batch, 2), torch.rand(batch)
    model = MLP(2)
    opt = torch.optim.AdamW(model.parameters(), 1e-3)

    def step(flow: ICFM) -> None:
        path = flow.sample_path(x_0, x_1, t)
        loss = (model(path.x_t, path.t) - path.dx_t).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    pairing = _time(lambda: OTCFM().pair(x_0, x_1), repeats)
    return pairing, _time(lambda: step(ICFM()), repeats), _time(lambda: step(OTCFM()), repeats)


if __name__ == "__main__":
    main()
