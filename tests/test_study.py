"""Studies: bad specs fail before anything starts; a tiny study runs end to end and resumes."""

import csv
import json
import os
from pathlib import Path

import pytest
import yaml

from tune_flow.search.study import cli as study_cli

SMOKE = Path(__file__).resolve().parents[1] / "studies" / "smoke.yaml"


def _spec(tmp_path, **changes):
    spec = yaml.safe_load(SMOKE.read_text())
    spec.update(changes)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return str(path)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"cells": {"flw": ["icfm"], "dataset": ["moons"]}}, "unknown cell axis `flw`"),
        ({"cells": {"flow": ["icfm", "otcfn"], "dataset": ["moons"]}}, "'otcfn'"),
        (
            {"cells": {"flow": ["icfm"], "dataset": ["moons"], "width": [8, 16]}},
            "`width` is also searched",
        ),
        ({"seeds": 0}, "`seeds` is 0"),
        ({"space": "search_spaces/nope.yaml"}, "does not exist"),
        ({"rows": "arch"}, "`rows` names 'arch'"),
        ({"evaluate": {"metric": "val_loss"}}, "`evaluate.metric`"),
        ({"budjet": {}}, "unknown key `budjet`"),
    ],
    ids=["axis", "value", "searched", "seeds", "space_file", "rows", "metric", "key"],
)
def test_bad_spec_is_one_line_exit_2_and_starts_nothing(tmp_path, capsys, changes, fragment):
    storage = tmp_path / "results"
    code = study_cli.main(["--spec", _spec(tmp_path, **changes), "--storage-path", str(storage)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ") and fragment in err[0], err
    assert not storage.exists()


def test_dry_run_validates_and_starts_nothing(tmp_path, capsys):
    storage = tmp_path / "results"
    assert (
        study_cli.main(["--spec", _spec(tmp_path), "--storage-path", str(storage), "--dry-run"])
        == 0
    )
    out = capsys.readouterr().out
    assert "study 'smoke': 4 cell(s)" in out and "nothing was started" in out
    assert not storage.exists()


def test_resume_with_another_spec_is_refused_naming_the_key(tmp_path, capsys):
    storage = tmp_path / "results"
    (storage / "smoke").mkdir(parents=True)
    (storage / "smoke" / "study.yaml").write_text(SMOKE.read_text())
    spec = _spec(tmp_path, seeds=5)
    code = study_cli.main(["--spec", spec, "--storage-path", str(storage), "--resume"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "`seeds` is 5, was 2" in err[0] and "a resumed study continues" in err[0]


@pytest.mark.ray
def test_tiny_study_end_to_end_and_resume_redoes_no_finished_work(
    ray_cluster, tmp_path, capsys, monkeypatch
):
    spec = _spec(tmp_path)
    storage = tmp_path / "results"
    argv = ["--spec", spec, "--storage-path", str(storage)]
    root = storage / "smoke"

    # Interrupted (as by Ctrl-C) after the first cell has finished.
    monkeypatch.setenv("TUNE_FLOW_TEST_INTERRUPT_AFTER_CELLS", "1")
    assert study_cli.main(argv) == 130
    assert "--resume" in capsys.readouterr().err
    finished = [p.parent for p in root.glob("*/cell.json")]
    assert len(finished) == 1
    first = finished[0]
    stamps = {p: p.stat().st_mtime_ns for p in [first / "cell.json", *first.rglob("result.json")]}
    assert study_cli.main(argv) == 2  # without --resume nothing is overwritten

    monkeypatch.delenv("TUNE_FLOW_TEST_INTERRUPT_AFTER_CELLS")
    assert study_cli.main([*argv, "--resume"]) == 0
    out = capsys.readouterr().out
    assert f"{first.name}: finished earlier, skipped" in out
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing of it was redone

    with (root / "runs.csv").open() as handle:
        runs = list(csv.DictReader(handle))
    assert len(runs) == 4 * 2  # cells x seeds
    assert {r["seed"] for r in runs} == {"1000", "1001"}
    assert all(float(r["w2"]) > 0 and Path(r["checkpoint"]).is_dir() for r in runs)
    with (root / "table.csv").open() as handle:
        table = [r for r in csv.DictReader(handle) if r["metric"] == "w2"]
    assert len(table) == 4 and all(r["n"] == "2" and float(r["std"]) >= 0 for r in table)
    markdown = (root / "table.md").read_text()
    assert markdown.count(" ± ") >= 8 and markdown.count("**") >= 4  # 2 tables, best per column
    page = (root / "study.html").read_text()
    assert "Welch" in page and 'src="samples_grid.png"' in page
    # Each cell's search as an interactive plot, plotly.js embedded once for the whole page.
    assert "Each cell's search" in page and page.count("Plotly.newPlot") == 4
    assert page.count("plotly.js v") == 1
    assert (root / "samples_grid.png").stat().st_size > 1000
    for cell in root.glob("*/cell.json"):
        record = json.loads(cell.read_text())
        assert (cell.parent / "search" / "best_config.yaml").is_file()
        assert record["best_config"]["flow"] == record["cell"]["flow"]

    # Resuming a finished study redoes nothing either.
    assert study_cli.main([*argv, "--resume"]) == 0
    assert capsys.readouterr().out.count("finished earlier, skipped") == 4
    assert os.path.getsize(root / "runs.csv") > 0
