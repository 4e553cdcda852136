"""What writing a trial's TensorBoard events costs the search's driver, per reported result.

    python benchmarks/tensorboard_writer.py [--results 1000] [--scalars 17] [--repeats 3]

Ray Tune's ``TBXLoggerCallback`` writes every numeric field of every result (17 per epoch in the
default search) and flushes. Both writers run exactly that, alternating, in one process:
*threaded* is tensorboardX's ``SummaryWriter`` (what Tune uses by default: a writer thread fed
through a ``multiprocessing.Queue``, the file fsynced at every flush), *direct* is tune_flow's
``DirectSummaryWriter`` (the same events written in the caller's thread, fsynced at close).
Reported: wall and CPU (all threads of the process) per result, median of the repeats, and
direct / threaded; the event files are checked to be the same size.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tensorboardX import SummaryWriter  # noqa: E402

from tune_flow.search.callbacks.tensorboard_logging import DirectSummaryWriter  # noqa: E402


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(writer_cls: type, results: int, scalars: int) -> tuple[float, float, int]:
    """(wall s, CPU s, bytes written) for ``results`` results of ``scalars`` scalars each."""
    logdir = Path(tempfile.mkdtemp())
    try:
        writer = writer_cls(str(logdir), flush_secs=30)
        wall, cpu = time.perf_counter(), _cpu_s()
        for step in range(1, results + 1):
            for k in range(scalars):
                writer.add_scalar(f"ray/tune/metric_{k}", 0.5 * k + step, global_step=step)
            writer.flush()  # Tune flushes after every result
        writer.close()
        wall, cpu = time.perf_counter() - wall, _cpu_s() - cpu
        return wall, cpu, sum(f.stat().st_size for f in logdir.iterdir())
    finally:
        shutil.rmtree(logdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=int, default=1000)
    parser.add_argument("--scalars", type=int, default=17)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    writers = {"threaded (tensorboardX)": SummaryWriter, "direct (tune_flow)": DirectSummaryWriter}
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in writers}
    for _ in range(args.repeats):
        for name, cls in writers.items():
            runs[name].append(run(cls, args.results, args.scalars))
    print(f"{args.results} results x {args.scalars} scalars + flush, {args.repeats} repeats")
    print(f"{'writer':<24} {'wall ms/result':>15} {'CPU ms/result':>14} {'bytes':>9}")
    medians = {}
    for name, values in runs.items():
        wall = statistics.median(v[0] for v in values) / args.results * 1e3
        cpu = statistics.median(v[1] for v in values) / args.results * 1e3
        medians[name] = (wall, cpu)
        print(f"{name:<24} {wall:>15.3f} {cpu:>14.3f} {values[0][2]:>9}")
    sizes = {v[2] for values in runs.values() for v in values}
    assert len(sizes) == 1, f"the writers wrote different amounts: {sizes}"
    (threaded, direct) = medians.values()
    print(
        f"direct / threaded: wall {direct[0] / threaded[0]:.2f}x, CPU {direct[1] / threaded[1]:.2f}x"
    )


if __name__ == "__main__":
    main()
