"""Open a search's report.html in headless Chromium: a screenshot, and no browser-console errors.

    python benchmarks/report_in_browser.py results/NAME [--out report.png] [--smoke-test]

Needs Debian's ``chromium`` (``apt-get install chromium``). The page is opened from disk with the
network unused, as a user opens it offline; every message the page writes to the browser console
is printed, and the script exits 1 when there is one (an error in a plot's script shows up there).
``--smoke-test`` runs a 4-trial search first and checks its report.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSOLE = re.compile(r":CONSOLE:\d+\] (.*)$")


def check(report: Path, screenshot: Path) -> list[str]:
    """The console messages of ``report`` opened in headless Chromium; writes ``screenshot``."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is not installed: apt-get install chromium")
    out = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--window-size=1200,4200", "--virtual-time-budget=8000", "--enable-logging=stderr",
         "--v=0", f"--screenshot={screenshot}", report.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return [m.group(1) for line in out.stderr.splitlines() if (m := CONSOLE.search(line))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", nargs="?", type=Path)
    parser.add_argument("--out", type=Path, default=Path("report.png"))
    parser.add_argument("--smoke-test", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        experiment = args.experiment
        if args.smoke_test:
            subprocess.run(
                [sys.executable, "-m", "tune_flow.search", "--space", "search_spaces/arch.yaml",
                 "--num-samples", "4", "--max-epochs", "8", "--storage-path", tmp, "--name", "b",
                 "--no-dashboard"],
                check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            experiment = Path(tmp) / "b"
        if experiment is None:
            parser.error("give an experiment directory or --smoke-test")
        messages = check(experiment / "report.html", args.out)
    for message in messages:
        print(f"console: {message}")
    print(
        f"screenshot: {args.out} ({args.out.stat().st_size} bytes); {len(messages)} console message(s)"
    )
    sys.exit(1 if messages else 0)


if __name__ == "__main__":
    main()
