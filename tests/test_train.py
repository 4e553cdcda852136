import json
import re
import subprocess
import sys

import yaml

from tune_flow.train import main

RUN = dict(
    arch="mlp",
    flow="icfm",
    dataset="moons",
    aug="none",
    group="cli",
    n_samples=1000,
    batch_size=100,
    max_epochs=3,
    warmup_steps=10,
    num_threads=1,
    device="cpu",
)


def _config(tmp_path, **changes):
    path = tmp_path / ("run" + "".join(f"_{k}" for k in changes) + ".yaml")
    path.write_text(yaml.safe_dump({**RUN, **changes}))
    return str(path)


def test_run_writes_its_files_and_resume_continues(tmp_path):
    out = tmp_path / "run"
    assert main(["--config", _config(tmp_path), "--out", str(out), "--quiet"]) == 0
    for name in (
        "checkpoint.pt",
        "best_model.pt",
        "summary.json",
        "config.yaml",
        "normalization_stats.pt",
    ):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs_run"] == 3 and summary["stop_reason"] == "max_epochs"
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved["lr"] == 1e-3 and resolved["ema_decay"] == 0.9999


def test_existing_run_is_never_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["--config", _config(tmp_path), "--out", str(out), "--quiet"]) == 0
    before = (out / "checkpoint.pt").read_bytes()
    assert main(["--config", _config(tmp_path), "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert (out / "checkpoint.pt").read_bytes() == before


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    cases = [
        ["--config", str(tmp_path / "missing.yaml")],
        ["--config", _config(tmp_path, lr=-1.0)],
        ["--config", _config(tmp_path), "--set", "lrr=1"],
        ["--config", _config(tmp_path), "--set", "noequals"],
        ["--resume", "--out", str(tmp_path / "nothing")],
    ]
    for argv in cases:
        assert main(argv + ["--out", str(tmp_path / "x")] if "--out" not in argv else argv) == 2, (
            argv
        )
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and len(err.splitlines()) == 1, err


def test_cli_process_exit_code_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tune_flow.train", "--config", _config(tmp_path, arch="nope")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "`arch`" in result.stderr


def test_an_evaluation_epoch_prints_its_w2_with_n_and_floor(tmp_path, capsys):
    config = _config(tmp_path, max_epochs=2, eval_every=1, eval_samples=64)
    assert main(["--config", config, "--out", str(tmp_path / "run")]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2
    assert all(re.search(r"  val w2 [0-9.e-]+ \(n=64; floor [0-9.e-]+\)$", line) for line in lines)


def test_eval_samples_writes_w2_and_sample_cli_writes_samples(tmp_path, capsys):
    import numpy as np

    from tune_flow import sample

    out = tmp_path / "run"
    assert (
        main(["--config", _config(tmp_path), "--out", str(out), "--quiet", "--eval-samples", "200"])
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["w2"] > 0 and summary["energy_distance"] >= 0
    # 1000 rows: 100 test rows, so 100 generated points; each number printed with its n and floor
    assert summary["eval_samples"] == 100 and summary["floor"]["w2"] > 0
    printed = capsys.readouterr().out
    assert f"w2 {summary['w2']:.4g} (n=100; floor {summary['floor']['w2']:.4g})" in printed
    assert "--eval-samples 200 > 100 test rows" in printed
    for name in ("s.npy", "s.csv"):
        assert (
            sample.main(
                [
                    "--checkpoint",
                    str(out),
                    "--n",
                    "50",
                    "--steps",
                    "10",
                    "--out",
                    str(tmp_path / name),
                ]
            )
            == 0
        )
    x = np.load(tmp_path / "s.npy")
    assert x.shape == (50, 2) and np.isfinite(x).all()
    np.testing.assert_allclose(
        np.loadtxt(tmp_path / "s.csv", delimiter=",", skiprows=1), x, rtol=1e-5
    )
    # same seed, same samples; an existing file is not overwritten without --force
    assert (
        sample.main(
            [
                "--checkpoint",
                str(out),
                "--n",
                "50",
                "--steps",
                "10",
                "--out",
                str(tmp_path / "s.npy"),
            ]
        )
        == 2
    )


def test_a_finished_run_is_extended_by_a_longer_max_epochs_and_nothing_else(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["--config", _config(tmp_path), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    before = (out / "checkpoint.pt").read_bytes()
    # Another value of anything that changes the run's maths is refused, nothing written.
    assert main(["--resume", "--out", str(out), "--set", "lr=0.1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "`lr` is 0.1, but the run" in err
    assert (out / "checkpoint.pt").read_bytes() == before
    # A longer max_epochs goes on from the last epoch, and says so.
    assert main(["--resume", "--out", str(out), "--set", "max_epochs=5", "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "max_epochs 3 -> 5: training goes on from epoch 3" in said
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs_run"] == 5 and summary["stop_reason"] == "max_epochs"
    assert yaml.safe_load((out / "config.yaml").read_text())["max_epochs"] == 5


def test_resume_finds_the_run_of_its_config_and_the_rerun_hint_is_pasteable(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    config = _config(tmp_path)
    assert main(["--config", config, "--quiet"]) == 0
    assert main(["--config", config]) == 2
    err = capsys.readouterr().err
    assert f"{sys.executable} -m tune_flow.train --resume --out runs/" in err
    # Without --out, --resume continues runs/<run_name> of the config it is given.
    assert main(["--resume", "--config", config, "--set", "max_epochs=4", "--quiet"]) == 0
    assert "resuming runs/" in capsys.readouterr().out
