"""report.html opened from disk in headless Chromium: it renders (a screenshot) and its plots'
scripts log nothing to the browser console. Needs Debian's `chromium`; skipped without it (the
same check is `python benchmarks/report_in_browser.py --smoke-test`)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from report_in_browser import check  # noqa: E402

from tune_flow.search import cli as search  # noqa: E402

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
    reason="needs a headless Chromium (apt-get install chromium)",
)


def test_the_report_opens_offline_with_no_console_errors(ray_cluster, write_space, tmp_path):
    space = write_space(
        "browser", method="random", run_cap=3, parameters={"width": {"values": [8, 16, 32]}}
    )
    storage = tmp_path / "results"
    argv = ["--space", space, "--storage-path", str(storage), "--name", "b", "--no-dashboard"]
    assert search.main(argv) == 0
    screenshot = tmp_path / "report.png"
    assert check(storage / "b" / "report.html", screenshot) == []
    assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank one


def test_the_browser_check_sees_a_script_error(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<html><body><p>x</p><script>no_such_function();</script></body></html>")
    messages = check(page, tmp_path / "broken.png")
    assert any("no_such_function" in message for message in messages)


def test_the_study_page_opens_offline_with_no_console_errors(ray_cluster, tmp_path, monkeypatch):
    import tune_flow
    from tests.conftest import TINY_BASE

    monkeypatch.chdir(tmp_path)
    spec = {
        "name": "browser_study",
        "space": {"method": "random", "base": {**TINY_BASE, "eval_samples": 100},
                  "parameters": {"width": {"values": [8, 16]}}},
        "cells": {"flow": ["icfm", "otcfm"]},
        "rows": "flow",
        "budget": {"num_samples": 2, "max_epochs": 2},
        "seeds": 1,
        "evaluate": {"metric": "w2", "samples": 100, "steps": [10], "method": "euler"},
    }  # fmt: skip
    result = tune_flow.study(spec, storage_path=str(tmp_path / "studies"))
    page = result.page.read_text()
    assert page.count("Plotly.newPlot") == 2  # one search history per cell
    screenshot = tmp_path / "study.png"
    assert check(result.page, screenshot) == []
    assert screenshot.stat().st_size > 20_000
