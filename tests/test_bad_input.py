"""Table-driven: every kind of bad input gives one line naming the culprit, exit code 2, no
traceback, no Ray, nothing written. All cases run in one fresh process (one torch import) so
"Ray was not started" is checked in a process where nothing else started it."""

import json
import subprocess
import sys

import numpy as np
import yaml

GOOD = {
    "name": "bad", "method": "bayes", "metric": {"name": "val_loss", "goal": "minimize"}, "run_cap": 2,
    "base": {"arch": "mlp", "flow": "icfm", "dataset": "moons", "aug": "none", "group": "g", "max_epochs": 2},
    "parameters": {"lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2}},
}  # fmt: skip


def _with(**changes):
    space = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        if key.startswith("base_"):
            space["base"][key[5:]] = value
        else:
            space[key] = value
    return space


def _cases(tmp_path):
    np.save(tmp_path / "rank1.npy", np.zeros(10))
    nan = np.random.default_rng(0).normal(size=(100, 2))
    nan[5, 0] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    (tmp_path / "broken.yaml").write_text("name: x\nparameters: [1, 2\n")
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "evil.yaml").write_text("name: !!python/object/apply:os.system ['true']\n")
    (tmp_path / "bad.py").write_text(BAD_USER_CODE)
    (tmp_path / "broken.py").write_text("import no_such_dependency_of_the_user\n")
    bad = f"{tmp_path / 'bad.py'}"
    lr = GOOD["parameters"]["lr"]
    spaces = {
        "topkey": (_with(methd="bayes"), "unknown top-level key `methd`"),
        "unknown_param": (_with(parameters={"lrr": lr}), "`lrr` (did you mean `lr`?)"),
        "unknown_dist": (
            _with(parameters={"lr": {"distribution": "log_uniformm", "min": 1, "max": 2}}),
            "unknown distribution 'log_uniformm'",
        ),
        "min_max": (_with(parameters={"lr": {"min": 0.1, "max": 0.01}}), "min (0.1) >= max (0.01)"),
        "log_min": (
            _with(parameters={"lr": {"distribution": "log_uniform_values", "min": 0, "max": 1}}),
            "must be > 0 (log scale)",
        ),
        "empty_values": (
            _with(parameters={"width": {"values": []}}),
            "`values` must be a non-empty list",
        ),
        "grid_continuous": (_with(method="grid"), "method grid needs finite parameters"),
        "when_param": (
            _with(parameters={"lr": {**lr, "when": {"arc": "mlp"}}}),
            "`when` names `arc`",
        ),
        "when_value": (
            _with(
                parameters={
                    "arch": {"values": ["mlp", "resmlp"]},
                    "heads": {"values": [2], "when": {"arch": "transformr"}},
                }
            ),
            "can never hold",
        ),
        "metric": (_with(metric={"name": "val_los"}), "but trials report only"),
        "goal": (
            _with(metric={"name": "val_loss", "goal": "lowest"}),
            "must be minimize or maximize",
        ),
        "run_cap": (_with(run_cap=0), "`run_cap` is 0"),
        "base_value": (_with(base_lr=-1), "`lr` is -1"),
        "base_key": (_with(base_ler=1), "unknown key `base.ler`"),
        "res_cpu": (_with(resources_per_trial={"cpu": -1}), "`resources_per_trial.cpu` is -1"),
        "res_gpu": (_with(resources_per_trial={"gpu": -0.5}), "`resources_per_trial.gpu` is -0.5"),
        "res_zero_cpu": (_with(resources_per_trial={"cpu": 0}), "cpu > 0"),
        "data_missing": (_with(base_dataset=str(tmp_path / "nope.npy")), "does not exist"),
        "data_shape": (_with(base_dataset=str(tmp_path / "rank1.npy")), "must be (N, *shape)"),
        "data_nan": (_with(base_dataset=str(tmp_path / "nan.npy")), "1 NaN/inf value(s)"),
        "time_attr": (
            _with(scheduler={"type": "asha", "time_attr": "steps"}),
            "`scheduler.time_attr`",
        ),
        "multi_asha": (
            _with(metric=[{"name": "w2"}, {"name": "num_parameters"}], scheduler={"type": "asha"}),
            "multi-objective",
        ),
        "metric_no_eval": (
            _with(metric={"name": "w2"}, base_eval_samples=0),
            "`base.eval_samples` is 0",
        ),
        "normalize": (_with(base_normalize="standardise"), "`normalize`"),
        # The user's own code (tune_flow.import_path, probed by tune_flow.training.probe).
        "arch_module": (
            _with(base_arch="no_such_pkg.nets:Net"),
            "cannot import 'no_such_pkg.nets': ModuleNotFoundError",
        ),
        "arch_attr": (_with(base_arch=f"{bad}:GatedMLp"), "Did you mean `GatedMLP`?"),
        "arch_not_callable": (_with(base_arch=f"{bad}:NOT_CALLABLE"), "must be callable"),
        "arch_import_fails": (
            _with(base_arch=f"{tmp_path / 'broken.py'}:Net"),
            "ModuleNotFoundError: No module named 'no_such_dependency_of_the_user'",
        ),
        "arch_raises": (_with(base_arch=f"{bad}:Raises"), "raised RuntimeError: no GPU kernel"),
        "arch_shape": (_with(base_arch=f"{bad}:WrongShape"), "returned (2, 3) torch.float32"),
        "arch_dtype": (_with(base_arch=f"{bad}:WrongDtype"), "torch.float64, but must return"),
        "arch_nan": (_with(base_arch=f"{bad}:NaNs"), "non-finite values"),
        "arch_args": (
            _with(base_arch_args={"widht": 3}),
            "`arch_args.widht`: 'mlp' takes no argument 'widht'. Did you mean `width`?",
        ),
        "arch_args_searched": (
            _with(base_arch=f"{bad}:GatedMLP", parameters={"arch_args.hiden": {"values": [8, 16]}}),
            "takes no argument 'hiden'. Did you mean `hidden`?",
        ),
        "flow_no_path": (_with(base_flow=f"{bad}:NoPath"), "has no sample_path"),
        "dataset_ragged": (_with(base_dataset=f"{bad}:ragged"), "are ragged"),
        "dataset_nan": (_with(base_dataset=f"{bad}:nan_points"), "1 NaN/inf value(s)"),
        "dataset_rank": (_with(base_dataset=f"{bad}:flat_points"), "at least 2 axes"),
        "code_missing": (_with(code="no_such_folder"), "no_such_folder' does not exist"),
        "aug_shape": (_with(base_aug=f"{bad}:squash"), "returned (4, 1), but must return (4, 2)"),
    }
    cases = []
    for name, (space, fragment) in spaces.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(space))
        cases.append((name, ["--space", str(path)], fragment))
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(GOOD))
    epochs = {**GOOD, "parameters": {**GOOD["parameters"], "max_epochs": {"values": [5, 10]}}}
    (tmp_path / "epochs_searched.yaml").write_text(yaml.safe_dump(epochs))
    datasets = {
        **GOOD,
        "parameters": {**GOOD["parameters"], "dataset": {"values": ["moons", "scurve"]}},
    }
    (tmp_path / "datasets.yaml").write_text(yaml.safe_dump(datasets))
    np.save(wide := tmp_path / "wide.npy", np.zeros((10, 3)))
    np.save(points := tmp_path / "points.npy", np.zeros((10, 2)))
    cases += [
        ("missing_file", ["--space", str(tmp_path / "none.yaml")], "does not exist"),
        ("directory", ["--space", str(tmp_path)], "is a directory"),
        ("unreadable", ["--space", str(tmp_path / "latin1.yaml")], "cannot be read"),
        ("not_yaml", ["--space", str(tmp_path / "broken.yaml")], "not valid YAML at line 3"),
        ("empty", ["--space", str(tmp_path / "empty.yaml")], "is empty"),
        ("python_tag", ["--space", str(tmp_path / "evil.yaml")], "!!python/object are not allowed"),
        ("num_samples", ["--space", str(good), "--num-samples", "0"], "--num-samples is 0"),
        ("cli_cpus", ["--space", str(good), "--cpus-per-trial", "0"], "--cpus-per-trial is 0"),
        ("cli_gpus", ["--space", str(good), "--gpus-per-trial", "-1"], "--gpus-per-trial is -1"),
        ("set_syntax", ["--space", str(good), "--set", "lr"], "must look like key=value"),
        ("set_key", ["--space", str(good), "--set", "widht=3"], "Unknown config key `widht`"),
        ("set_searched", ["--space", str(good), "--set", "lr=0.1"], "`lr` is searched"),
        ("top_k", ["--space", str(good), "--top-k", "0"], "--top-k is 0"),
        (
            "optuna_url",
            ["--space", str(good), "--optuna-storage", "study.db"],
            "is not a database URL",
        ),
        (
            "optuna_dir",
            ["--space", str(good), "--optuna-storage", "sqlite:////no/such/dir/s.db"],
            "the folder '/no/such/dir' does not exist",
        ),
        ("select_top", ["--space", str(good), "--select-top", "9"], "--select-top is 9"),
        (
            "selection_reference_missing",
            ["--space", str(good), "--selection-reference", str(tmp_path / "none.npy")],
            "--selection-reference: dataset file",
        ),
        (
            "selection_reference_width",
            ["--space", str(good), "--selection-reference", str(wide)],
            "wide.npy' has 3 features per point, but the model generates 2",
        ),
        (
            "selection_reference_off",
            ["--space", str(good), "--select-top", "0", "--selection-reference", str(points)],
            "but --select-top is 0 (off)",
        ),
        (
            "selection_reference_datasets",
            ["--space", str(tmp_path / "datasets.yaml"), "--selection-reference", str(points)],
            "but the space searches `dataset`",
        ),
        ("sample_solver", ["--space", str(good), "--set", "sample_method=rk5"], "`sample_method`"),
        ("sample_tol", ["--space", str(good), "--set", "sample_atol=0"], "`sample_atol` is 0"),
        (
            "max_epochs_searched",
            ["--space", str(tmp_path / "epochs_searched.yaml"), "--max-epochs", "5"],
            "`max_epochs` is searched by the space",
        ),
        ("cli_metric", ["--space", str(good), "--metric", "w3"], "--metric: `metric.name` is 'w3'"),
        ("eval_steps", ["--space", str(good), "--set", "eval_steps=0"], "`eval_steps`"),
        (
            "storage",
            ["--space", str(good), "--storage-path", str(tmp_path / "a_file" / "sub")],
            "cannot be created",
        ),
    ]
    return cases


BAD_USER_CODE = """
import numpy as np
import torch
from torch import nn

NOT_CALLABLE = 3


class GatedMLP(nn.Module):
    def __init__(self, shape, hidden=8):
        super().__init__()
        self.net = nn.Linear(shape[0] + 1, shape[0])

    def forward(self, x_t, t):
        return self.net(torch.cat([x_t, t[:, None]], 1))


def Raises(shape):
    raise RuntimeError("no GPU kernel")


class WrongShape(GatedMLP):
    def forward(self, x_t, t):
        return torch.zeros(len(x_t), 3)


class WrongDtype(GatedMLP):
    def forward(self, x_t, t):
        return super().forward(x_t, t).double()


class NaNs(GatedMLP):
    def forward(self, x_t, t):
        return super().forward(x_t, t) * float("nan")


class NoPath:
    sigma = 0.0


def ragged(n_samples, seed):
    return [[0.0, 1.0], [2.0]] * 10


def nan_points(n_samples, seed):
    x = np.random.default_rng(seed).normal(size=(n_samples, 2))
    x[3, 1] = np.nan
    return x


def flat_points(n_samples, seed):
    return np.zeros(n_samples)


def squash(x, std, generator):
    return x[:, :1]
"""

SCRIPT = r"""
import contextlib, io, json, sys
import ray
from tune_flow.search import cli as search
out = []
for name, argv, storage in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = search.main(argv + (["--storage-path", storage] if "--storage-path" not in argv else []))
    out.append({"name": name, "code": code, "err": err.getvalue(), "ray": ray.is_initialized()})
print(json.dumps(out))
"""


def test_every_bad_input_is_one_line_exit_2_no_traceback_no_ray(tmp_path):
    cases = _cases(tmp_path)
    storage = tmp_path / "results"
    payload = json.dumps([[name, argv, str(storage)] for name, argv, _ in cases])
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, payload], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {r["name"]: r for r in json.loads(proc.stdout.strip().splitlines()[-1])}
    for name, _, fragment in cases:
        r = results[name]
        lines = r["err"].strip().splitlines()
        assert r["code"] == 2, (name, r)
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, r["err"])
        assert fragment in lines[0], (name, lines[0])
        assert "Traceback" not in r["err"] and not r["ray"], name
    assert not storage.exists()  # nothing was written
