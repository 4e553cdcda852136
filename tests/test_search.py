"""End-to-end searches on a real local Ray instance (shared, 2 CPUs)."""

import csv
import json
import re
from pathlib import Path

import pytest
import torch
import yaml

from tests.tensorboard_events import tensorboard_scalars
from tune_flow import train
from tune_flow.search import cli as search

pytestmark = pytest.mark.ray


def _rows(experiment: Path) -> list[dict]:
    with (experiment / "trials.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_search_end_to_end_asha_and_patience(ray_cluster, write_space, tmp_path, capsys):
    # Grid for determinism: min_delta 0.5 makes every later epoch a non-improvement, so those
    # trials end by patience at epoch 3; lr 1e-4 trials lag far behind and ASHA cuts them.
    space = write_space(
        "e2e",
        method="grid",
        run_cap=8,
        base={"max_epochs": 12, "patience": 2},
        parameters={
            "min_delta": {"values": [0.0, 0.5]},
            "lr": {"values": [3e-3, 1e-4, 2e-3, 5e-5]},
        },
        scheduler={"type": "asha", "grace_period": 2, "reduction_factor": 2},
    )
    storage = tmp_path / "results"
    assert search.main(["--space", space, "--storage-path", str(storage), "--name", "e2e"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    experiment = storage / "e2e"
    # One voice: tune_flow's lines only (Ray's box and its TensorBoard command into /tmp/ray are
    # not printed), and the counter counts the trials asked for.
    for noise in ("Configuration for experiment", "View detailed results", "/tmp/ray/session"):
        assert noise not in out + captured.err
    counters = re.findall(r"^\[(\d+)/(\d+)\] ", out, flags=re.MULTILINE)
    assert [int(done) for done, _ in counters] == list(range(1, 9))
    assert {total for _, total in counters} == {"8"}
    rows = _rows(experiment)
    assert len(rows) == 8
    reasons = [r["stop_reason"] for r in rows]
    assert "asha" in reasons and "patience" in reasons, reasons
    for row in rows:
        if row["min_delta"] == "0.5":  # cut by ASHA at its first rung (epoch 2) or patience at 3
            assert (row["stop_reason"], row["epochs_run"]) in (("patience", "3"), ("asha", "2"))
        if row["stop_reason"] == "asha":
            assert int(row["epochs_run"]) < 12
    assert "best config:" in out and "top " in out

    # One reported result per epoch, epochs 1..n in order, for every trial.
    for row in rows:
        with (Path(row["trial_dir"]) / "progress.csv").open() as handle:
            epochs = [int(float(r["epoch"])) for r in csv.DictReader(handle)]
        assert epochs == list(range(1, int(row["epochs_run"]) + 1))
        # TensorBoard (written in the driver's thread, see tensorboard_logging.py): one events
        # file per trial with val_loss at every epoch, and the trial's hyperparameters.
        scalars = tensorboard_scalars(Path(row["trial_dir"]))
        assert [step for step, _ in scalars["ray/tune/val_loss"]] == epochs
        assert [value for _, value in scalars["ray/tune/epoch"]] == epochs
        assert "_hparams_/experiment" in scalars and "_hparams_/session_end_info" in scalars

    # The report: figures exist and are non-empty, the HTML references only files that exist.

    page = (experiment / "report.html").read_text()
    # Outside the inline scripts (plotly.js, embedded: the page opens offline from disk), the
    # page references only its own figures.
    markup = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.DOTALL)
    sources = re.findall(r'src="([^"]+)"', markup)
    assert {"curves.png", "params.png", "samples.png"} <= set(sources)
    for source in sources:
        assert (experiment / source).stat().st_size > 1000, source
    assert re.findall(r'(?:href|src)="([^"]+)"', markup) == sources  # nothing else is referenced
    assert "<script src=" not in page and page.count("plotly.js v") == 1  # embedded once
    for plot in ("Optimisation history", "Learning curves", "Parallel coordinates", "Slices"):
        assert f"<h3>{plot}" in page
    # samples.png plots the very points best_eval.json was computed from (no second sampling).
    import numpy as np

    from tune_flow.evaluation.floor import sample_metrics as compare

    evaluation = json.loads((experiment / "best_eval.json").read_text())
    with np.load(experiment / evaluation["samples_file"]) as saved:
        assert str(saved["trial_id"]) == evaluation["trial_id"] == rows[0]["trial_id"]
        assert saved["generated"].shape == (evaluation["eval_samples"], 2)
        again = compare(torch.from_numpy(saved["generated"]), torch.from_numpy(saved["test"]))
    assert again["w2"] == pytest.approx(evaluation["w2"])
    assert "the points best_eval.json was computed from" in page

    # best_config.yaml is accepted unchanged by the train CLI and retrains.
    best = experiment / "best_config.yaml"
    # It says how it was chosen (a comment the train CLI ignores).
    assert best.read_text().startswith(
        f"# trial {rows[0]['trial_id']}, chosen by the final selection"
    )
    config = yaml.safe_load(best.read_text())
    assert config["lr"] in (3e-3, 2e-3)
    assert train.main(["--config", str(best), "--out", str(tmp_path / "retrain"), "--quiet"]) == 0
    assert (tmp_path / "retrain" / "summary.json").exists()


def test_fractional_gpu_request_reaches_each_trial(ray_cluster, write_space, tmp_path):
    from ray.tune import Callback

    from tune_flow.search.tuner import build_tuner
    from tune_flow.space import load_space

    class RecordResources(Callback):
        requests: list = []

        def on_trial_start(self, iteration, trials, trial, **info):
            self.requests.append(trial.placement_group_factory.required_resources)

    space = load_space(
        write_space(
            "gpu",
            run_cap=2,
            base={"max_epochs": 1},
            parameters={"width": {"values": [8, 16]}},
            resources_per_trial={"cpu": 1, "gpu": 0.25},
        )
    )
    recorder = RecordResources()
    tuner = build_tuner(
        space,
        name="gpu",
        storage_path=tmp_path,
        seed=0,
        max_concurrent=2,
        max_failures=0,
        time_budget_s=None,
        callbacks=[recorder],
    )
    results = tuner.fit()
    assert not results.errors
    assert recorder.requests and all(r == {"CPU": 1.0, "GPU": 0.25} for r in recorder.requests)


def test_debug_mode_runs_in_process_and_honours_set(write_space, capsys):
    space = write_space("debug", parameters={"width": {"values": [8, 16]}})
    assert (
        search.main(
            [
                "--space",
                space,
                "--debug",
                "--set",
                "max_epochs=2",
                "--set",
                "depth=1",
                "--set",
                "eval_every=2",
                "--set",
                "eval_samples=64",
            ]
        )  # fmt: skip
        == 0
    )
    out = capsys.readouterr().out
    assert "depth=1" in out and "max_epochs=2" in out and "width=8" in out
    assert "epoch   2" in out and "epoch   3" not in out
    assert re.search(r"epoch   2 .* val w2 [0-9.e-]+ \(n=64; floor [0-9.e-]+\)", out)


def test_dry_run_prints_the_space_without_starting_ray(write_space, capsys):
    import ray

    space = write_space(
        "dry", parameters={"lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2}}
    )
    was_running = ray.is_initialized()
    assert search.main(["--space", space, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "lr: log_uniform_values" in out and "log scale" in out
    assert ray.is_initialized() == was_running


def test_existing_search_name_is_refused(write_space, tmp_path, capsys):
    (tmp_path / "res" / "taken").mkdir(parents=True)
    marker = tmp_path / "res" / "taken" / "keep.txt"
    marker.write_text("old")
    code = search.main(
        ["--space", write_space("x"), "--storage-path", str(tmp_path / "res"), "--name", "taken"]
    )
    assert code == 2 and "--resume" in capsys.readouterr().err
    assert marker.read_text() == "old"


def test_storage_uri_keeps_tune_state_there_and_outputs_locally(
    ray_cluster, write_space, tmp_path, monkeypatch
):
    space = write_space("uri", run_cap=2, parameters={"width": {"values": [8, 16]}})
    monkeypatch.chdir(tmp_path)
    uri = f"file://{tmp_path / 'remote'}"
    assert search.main(["--space", space, "--storage-path", uri, "--name", "u", "--no-report"]) == 0
    assert list(
        (tmp_path / "remote" / "u").glob("experiment_state-*.json")
    )  # Tune's state: at the URI
    assert len(_rows(tmp_path / "results" / "u")) == 2  # tune_flow's outputs: on the driver
    assert (tmp_path / "results" / "u" / "best_config.yaml").exists()
    # the same name again is refused, through pyarrow's view of the URI
    assert search.main(["--space", space, "--storage-path", uri, "--name", "u"]) == 2


def test_help_is_written_for_users():
    text = search.build_parser().format_help()
    for group in ("search:", "resources:", "cluster:", "outputs:", "integrations:", "examples:"):
        assert group in text
    assert "Thin by design" not in text and "tune_flow.search.tuner" not in text
