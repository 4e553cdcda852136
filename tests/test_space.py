import pytest
import yaml

from tune_flow.errors import UserInputError
from tune_flow.space import load_space, parse_space
from tune_flow.space._parse import main

BASE = {"arch": "mlp", "flow": "icfm", "dataset": "moons", "aug": "none", "group": "g"}


def _space(**top):
    raw = {
        "method": "bayes",
        "metric": {"name": "val_loss", "goal": "minimize"},
        "base": dict(BASE),
    }
    raw.update(top)
    return parse_space(raw)


def test_shipped_spaces_parse():
    for name in ("arch", "optim", "flow", "quality_2d"):
        space = load_space(f"search_spaces/{name}.yaml")
        assert space.parameters and space.run_cap >= 1


def test_distributions_inferred_as_wandb_does():
    space, problems = _space(parameters={
        "width": {"values": [8, 16]}, "depth": {"min": 1, "max": 3}, "lr": {"min": 0.001, "max": 0.01},
        "seed": {"value": 3},
    })  # fmt: skip
    assert not problems
    kinds = {p.name: p.distribution.kind for p in space.parameters}
    assert kinds == {
        "width": "categorical",
        "depth": "int_uniform",
        "lr": "uniform",
        "seed": "constant",
    }


def test_numeric_strings_are_numbers():
    space, problems = _space(
        parameters={"lr": {"distribution": "log_uniform_values", "min": "1e-5", "max": "1e-2"}}
    )
    assert not problems and space.parameters[0].distribution.args["min"] == 1e-5


def test_conditional_parameter_is_absent_when_condition_fails():
    import optuna

    space, problems = _space(parameters={
        "arch": {"values": ["mlp", "transformer"]},
        "heads": {"values": [2, 4], "when": {"arch": "transformer"}},
    })  # fmt: skip
    assert not problems
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = {"mlp": 0, "transformer": 0}
    for _ in range(30):
        trial = study.ask()
        params = space.sample(trial)
        seen[params["arch"]] += 1
        assert ("heads" in params) == (params["arch"] == "transformer")
        study.tell(trial, 0.0)
    assert seen["mlp"] and seen["transformer"]


def test_grid_points_respect_conditions():
    space, _ = _space(method="grid", parameters={
        "arch": {"values": ["mlp", "transformer"]},
        "heads": {"values": [2, 4], "when": {"arch": "transformer"}},
        "depth": {"distribution": "int_uniform", "min": 1, "max": 2},
    })  # fmt: skip
    points = space.grid_points()
    assert len(points) == 2 + 4  # mlp x 2 depths, transformer x 2 heads x 2 depths


def test_hyperband_maps_onto_asha():
    space, _ = _space(early_terminate={"type": "hyperband", "min_iter": 4, "eta": 2})
    assert (
        space.scheduler.type,
        space.scheduler.grace_period,
        space.scheduler.reduction_factor,
    ) == ("asha", 4, 2)
    space, _ = _space(early_terminate={"type": "hyperband", "max_iter": 81, "s": 2, "eta": 3})
    assert space.scheduler.grace_period == 9  # lowest W&B bracket: 81 / 3^2


def test_wandb_runner_keys_are_ignored_with_a_note():
    space, problems = _space(program="train.py", project="p", entity="e", command=["x"])
    assert not problems and any("program" in n for n in space.notes)


def test_safe_yaml_only(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(UserInputError, match="not allowed"):
        load_space(path)


def test_space_cli_prints_every_problem(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(
            {"base": BASE, "methd": "bayes", "parameters": {"lrr": {"min": 1, "max": 2}}}
        )
    )
    assert main([str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "methd" in err[0] and "lrr" in err[1]


def test_a_misspelt_scheduler_type_names_the_valid_ones_and_the_likely_one(tmp_path, capsys):
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump({"base": BASE, "scheduler": {"type": "asha_promot"}}))
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert "one of asha, asha_promote, fifo, median. Did you mean `asha_promote`?" in err


WANDB_SWEEP = """
program: train.py
method: bayes
name: a-wandb-sweep
description: copied from a wandb project
project: flows
entity: lab
command:
  - ${env}
  - python
  - ${program}
  - ${args}
metric:
  name: val_loss
  goal: minimize
run_cap: 12
parameters:
  optimizer:
    parameters:
      lr: {distribution: log_uniform_values, min: 1e-5, max: 1e-2}
      weight_decay: {distribution: log_uniform, min: -12, max: -4}
  width: {values: [32, 64]}
  depth: {min: 1, max: 4}
  dropout: {min: 0.0, max: 0.3}
  sigma: {distribution: q_uniform, min: 0, max: 0.2, q: 0.05}
  seed: {value: 3}
  min_lr_ratio: {distribution: beta, a: 2, b: 5}
  aug_std: {distribution: log_normal, mu: -3, sigma: 0.5}
  batch_size: {distribution: q_log_uniform_values, min: 32, max: 512, q: 32}
  warmup_steps: {distribution: categorical_w_probabilities, values: [0, 500], probabilities: [0.3, 0.7]}
early_terminate:
  type: hyperband
  max_iter: 27
  s: 2
  eta: 3
"""


def test_a_real_wandb_sweep_file_is_accepted_as_is(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(WANDB_SWEEP)
    raw = yaml.safe_load(WANDB_SWEEP)
    raw["base"] = BASE  # the study axes are not part of a W&B sweep; fixed here as --set would
    space, problems = parse_space(raw, str(path))
    assert not problems, problems
    kinds = {p.name: p.distribution.kind for p in space.parameters}
    assert kinds["lr"] == "log_uniform_values" and kinds["depth"] == "int_uniform"
    assert kinds["dropout"] == "uniform" and kinds["seed"] == "constant"
    assert space.parameters[0].distribution.args["min"] == 1e-5  # "1e-5" read as a string by YAML
    assert (
        space.scheduler.type,
        space.scheduler.grace_period,
        space.scheduler.reduction_factor,
    ) == ("asha", 3, 3)
    ignored = " ".join(space.notes)
    for key in ("program", "project", "entity", "command"):
        assert f"`{key}`" in ignored
    assert space.run_cap == 12


def test_unknown_parameters_of_a_foreign_sweep_file_are_one_line():
    foreign = {f"param_{i}": {"values": [1, 2]} for i in range(30)}
    space, problems = _space(parameters={**foreign, "widht": {"values": [8]}})
    assert space is None
    unknown = [p for p in problems if "unknown parameter" in p]
    assert len(unknown) == 1
    assert "31 unknown parameter(s)" in unknown[0] and "`param_29`" in unknown[0]
    assert "`widht` (did you mean `width`?)" in unknown[0]
    assert unknown[0].count("Valid:") == 1


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    from tune_flow.yaml_io import load_yaml_mapping

    path = tmp_path / "dup.yaml"
    path.write_text("name: d\nparameters:\n  width: {values: [8]}\n  width: {values: [16]}\n")
    with pytest.raises(UserInputError, match=r"key `width` is given twice \(lines 3 and 4\)"):
        load_yaml_mapping(path)


def test_missing_required_fields_are_one_line_and_set_counts_for_them(tmp_path, capsys):
    from tune_flow.space._parse import main

    path = tmp_path / "sweep.yaml"
    path.write_text("name: s\nparameters:\n  width: {values: [8, 16]}\n")
    assert main([str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "`arch`, `aug`, `dataset`, `flow`, `group` must be set" in err[0]
    sets = [f"--set={k}" for k in ("arch=mlp", "flow=icfm", "dataset=moons", "aug=none", "group=g")]
    assert main([str(path), *sets]) == 0
    assert "arch='mlp'" in capsys.readouterr().out


def test_a_study_spec_given_as_a_space_says_so(tmp_path, capsys):
    from tune_flow.space._parse import main

    path = tmp_path / "study.yaml"
    path.write_text("name: s\nspace: arch.yaml\ncells: {flow: [icfm]}\n")
    assert main([str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "this is a study spec" in err[0] and "tune_flow.study" in err[0]
