"""Params files and --set overrides: every mistake is reported before a notebook starts."""

from __future__ import annotations

import pytest

from cardfraud.runner.config import (
    ConfigError,
    apply_overrides,
    check_sections,
    parse_override,
    read_params,
)
from cardfraud.runner.parameter_rules import (
    check_model_name,
    check_parameter_values,
    parameter_rules,
)
from cardfraud.runner.steps import declared_parameters, discover_steps, resolve_params, select_steps

ALLOWED = {"common": {"seed"}, "load": {"path", "simulator", "on_missing"}}


# Notebook defaults that differ from default.yaml on purpose: opened by hand, the registry
# notebook registers nothing (README, "Exploring in Jupyter"); run_all passes register: true.
BY_HAND_EXCEPTIONS = {("registry", "register"): (False, True)}


def notebook_defaults(step) -> dict:
    """Return the values a notebook's ``parameters`` cell gives, as Python objects."""
    import ast

    import papermill

    found = papermill.inspect_notebook(str(step.notebook))
    return {name: ast.literal_eval(p["default"]) for name, p in found.items()
            if name not in ("output_dir", "run_id")}


@pytest.mark.parametrize("step", discover_steps(), ids=lambda s: s.name)
def test_each_notebook_parameters_cell_equals_default_yaml(step):
    from cardfraud.simulator.simulate import SIMULATOR_DEFAULTS

    default = read_params("params/default.yaml")
    for name, value in notebook_defaults(step).items():
        section = step.section if name in default.get(step.section, {}) else \
            "report" if name in default["report"] else "common"
        expected = default[section][name]
        if (section, name) in BY_HAND_EXCEPTIONS:
            assert (value, expected) == BY_HAND_EXCEPTIONS[section, name]
        elif (section, name) == ("load", "simulator"):  # the notebook fills in the knobs
            assert {**SIMULATOR_DEFAULTS, **value} == expected == SIMULATOR_DEFAULTS
        else:
            assert value == expected, f"{step.notebook.name}: {name} = {value!r}, " \
                                      f"params/default.yaml {section}.{name} = {expected!r}"


def test_smoke_yaml_holds_only_the_keys_it_changes():
    import yaml

    default = read_params("params/default.yaml")
    raw = yaml.safe_load(open("params/smoke.yaml", encoding="utf-8"))
    assert raw.pop("overlays") == "default.yaml"

    def leaves(mapping, path=()):
        for key, value in mapping.items():
            if isinstance(value, dict) and key != "grids":
                yield from leaves(value, (*path, key))
            else:
                yield (*path, key), value

    for path, value in leaves(raw):
        base = default
        for key in path:
            base = base[key]  # a KeyError: smoke.yaml names a key default.yaml lacks
        assert value != base, f"smoke.yaml repeats {'.'.join(path)} = {value!r}"
    smoke = read_params("params/smoke.yaml")
    assert smoke["load"]["simulator"]["rows"] == 20000
    assert smoke["load"]["simulator"]["days"] == default["load"]["simulator"]["days"]
    assert smoke["modeling"]["alert_budget"] == default["modeling"]["alert_budget"]


def test_an_overlay_merges_section_by_section_and_key_by_key(tmp_path):
    (tmp_path / "base.yaml").write_text(
        "load:\n  path: null\n  simulator: {rows: 100, seed: 1}\neda: {bins: 5}\n")
    (tmp_path / "small.yaml").write_text("overlays: base.yaml\nload:\n  simulator: {rows: 7}\n")
    assert read_params(tmp_path / "small.yaml") == {
        "load": {"path": None, "simulator": {"rows": 7, "seed": 1}}, "eda": {"bins": 5}}


@pytest.mark.parametrize("text,message", [
    ("overlays: loop.yaml\n", "'overlays' loops back to loop.yaml"),
    ("overlays: [a.yaml]\n", "'overlays' must name a params file"),
    ("overlays: missing.yaml\n", "params file not found"),
])
def test_a_bad_overlay_is_refused(tmp_path, text, message):
    (tmp_path / "loop.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_params(tmp_path / "loop.yaml")


def test_steps_are_discovered_in_order_from_the_notebooks(tmp_path):
    for name in ("10_late.ipynb", "02_second.ipynb", "01_first.ipynb", "notes.ipynb",
                 "3_short.ipynb", "04_draft.txt"):
        (tmp_path / name).write_text("{}")
    steps = discover_steps(tmp_path)
    assert [(s.number, s.name) for s in steps] == [(1, "first"), (2, "second"), (10, "late")]
    assert [s.name for s in discover_steps()][:2] == ["load", "eda"]


@pytest.mark.parametrize("text,keys,value", [
    ("load.path=data/x.csv", ["load", "path"], "data/x.csv"),
    ("load.simulator.rows=5000", ["load", "simulator", "rows"], 5000),
    ("common.seed=null", ["common", "seed"], None),
    ("modeling.candidates=[logistic_regression, decision_tree]", ["modeling", "candidates"],
     ["logistic_regression", "decision_tree"]),
])
def test_override_values_are_parsed_as_yaml(text, keys, value):
    assert parse_override(text) == (keys, value)


def test_override_sets_nested_value_without_touching_the_original():
    params = {"load": {"path": None, "simulator": {"rows": 10}}}
    resolved = apply_overrides(params, ["load.simulator.rows=99", "load.path=a.csv"], ALLOWED)
    assert resolved["load"] == {"path": "a.csv", "simulator": {"rows": 99}}
    assert params["load"]["simulator"]["rows"] == 10


@pytest.mark.parametrize("text,message", [
    ("load.pth=a.csv", "unknown key 'pth' in section 'load'"),
    ("lod.path=a.csv", "unknown section 'lod'"),
    ("load.simulator.rowz=3", "unknown key 'load.simulator.rowz'"),
    ("loadpath", "expected section.key=value"),
])
def test_unknown_override_is_refused(text, message):
    params = {"load": {"path": None, "simulator": {"rows": 10}}}
    with pytest.raises(ConfigError, match=message):
        apply_overrides(params, [text], ALLOWED)


def test_missing_params_file(tmp_path):
    with pytest.raises(ConfigError, match="params file not found"):
        read_params(tmp_path / "nope.yaml")


def test_bad_yaml_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("load:\n  path: [unclosed\n  sep: x\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: invalid YAML at line \d+"):
        read_params(path)


def test_unknown_key_in_file_is_refused():
    with pytest.raises(ConfigError, match="section 'load' has key.*typo"):
        check_sections({"load": {"typo": 1}}, ALLOWED, "p.yaml")


def test_unknown_step_is_refused():
    with pytest.raises(ConfigError, match="unknown step 'modelling'"):
        select_steps(discover_steps(), ["modelling"], None)


def test_from_selects_the_step_and_the_rest():
    steps = discover_steps()
    assert select_steps(steps, None, steps[0].name) == steps


def test_only_the_newest_failed_runs_are_kept(tmp_path):
    from cardfraud.runner.publishing import prune_failed_runs

    for stamp in range(8):
        (tmp_path / "runs" / f"20261121T10000{stamp}Z-abcd").mkdir(parents=True)
    prune_failed_runs(tmp_path, keep=5)
    assert sorted(p.name[-9:-6] for p in (tmp_path / "runs").iterdir()) == ["003", "004", "005",
                                                                            "006", "007"]


# --- parameter types and ranges ----------------------------------------------------------

@pytest.fixture(scope="module")
def notebook_parameters() -> dict[str, set[str]]:
    return declared_parameters(discover_steps())


@pytest.mark.parametrize("name", ["default", "smoke"])
def test_both_params_files_pass_the_type_check(name):
    params = read_params(f"params/{name}.yaml")
    check_parameter_values(params, f"params/{name}.yaml")


def test_every_parameter_a_notebook_declares_has_a_rule():
    declared = declared_parameters(discover_steps())
    rules = parameter_rules()
    for step, names in declared.items():
        if step == "common":
            continue
        unchecked = (names - set(rules.get(step, {})) - set(rules["common"]) - set(rules["report"])
                     - {"simulator"})
        assert not unchecked, f"{step} declares {sorted(unchecked)} without a rule in config.py"


def test_notebook_defaults_pass_their_rules():
    import ast

    import papermill

    rules = parameter_rules()
    for step in discover_steps():
        for name, spec in papermill.inspect_notebook(str(step.notebook)).items():
            rule = rules.get(step.section, {}).get(name) or rules["common"].get(name)
            if rule is not None:
                value = ast.literal_eval(spec["default"])
                assert rule.accepts(value), f"{step.notebook.name}: {name} = {value!r}"


@pytest.mark.parametrize("override,message", [
    ("registry.force_promotion=yes_please",
     "parameter registry.force_promotion is the text 'yes_please'; allowed: true or false"),
    ('registry.force_promotion="false"',
     "parameter registry.force_promotion is the text 'false'; allowed: true or false"),
    ("registry.force_promotion=1", "parameter registry.force_promotion is 1; allowed: true or false"),
    ("common.model_name=it's", "parameter common.model_name is the text \"it's\"; allowed: letters, "
                               "digits, '-', '_' and '.', starting with a letter or digit"),
    ("common.model_name=a/b", "parameter common.model_name is the text 'a/b'"),
    ("common.seed=-1", "parameter common.seed is -1; allowed: an integer >= 0"),
    ("common.seed=true", "parameter common.seed is True; allowed: an integer >= 0"),
    ("modeling.cv_folds=1", "parameter modeling.cv_folds is 1; allowed: an integer >= 2"),
    ("modeling.cv_folds=2.5", "parameter modeling.cv_folds is 2.5; allowed: an integer >= 2"),
    ("modeling.test_share=1.5", "parameter modeling.test_share is 1.5; allowed: a number in (0, 1)"),
    ("modeling.alert_budget=.nan", "parameter modeling.alert_budget is nan; allowed: a number in (0, 1]"),
    ("modeling.split=random", "parameter modeling.split is the text 'random'; allowed: one of "
                              "auto, time, stratified"),
    ("modeling.resampling=oversample", "allowed: one of none, smote, undersample, class_weight"),
    ("modeling.selection_metric=accuracy", "allowed: one of average_precision, roc_auc"),
    ("modeling.candidates=[logistic_regression, svm]", "parameter modeling.candidates is "
                                                       "['logistic_regression', 'svm']"),
    ("modeling.cost_review=-1", "parameter modeling.cost_review is -1; allowed: a number >= 0"),
    ("load.on_missing=skip", "parameter load.on_missing is the text 'skip'; allowed: one of drop, fail"),
    ("load.path=3", "parameter load.path is 3; allowed: text or null"),
    ("load.simulator.rows=5", "parameter load.simulator: rows must be an integer >= 100, not 5"),
    ("eda.distance_bands_km=[0, 10, 5]", "allowed: a non-empty list of increasing numbers >= 0"),
    ("monitoring.bins=1", "parameter monitoring.bins is 1; allowed: an integer >= 2"),
    ("monitoring.psi_watch=0.3", "parameters monitoring.psi_watch (0.3) and monitoring.psi_alert "
                                 "(0.25); allowed: psi_watch < psi_alert"),
])
def test_wrong_parameter_is_refused_with_name_value_and_what_is_allowed(override, message,
                                                                      notebook_parameters):
    params = apply_overrides(read_params("params/smoke.yaml"), [override], notebook_parameters)
    with pytest.raises(ConfigError) as caught:
        check_parameter_values(params, "params/smoke.yaml with --set")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_run_all_checks_the_types_after_the_overrides():
    with pytest.raises(ConfigError, match=r"^params/smoke\.yaml with --set: parameter "
                                          r"registry\.force_promotion is the text 'yes_please'"):
        resolve_params("params/smoke.yaml", ["registry.force_promotion=yes_please"],
                       discover_steps())


@pytest.mark.parametrize("override", ["registry.force_promotion=true", "common.seed=0",
                                      "modeling.test_days=null", "load.path=data/x.csv",
                                      "modeling.cost_review=12.5", "common.model_name=fraud-v2.1_b"])
def test_right_parameters_pass(override, notebook_parameters):
    params = apply_overrides(read_params("params/smoke.yaml"), [override], notebook_parameters)
    check_parameter_values(params, "params/smoke.yaml with --set")


@pytest.mark.parametrize("name", ["it's", "a b", "models:/x", "", "-x", "x@champion", "é", 7, None])
def test_model_names_outside_the_safe_alphabet_are_refused(name):
    with pytest.raises(ConfigError, match="is not allowed; use letters, digits"):
        check_model_name(name)


def test_the_spark_engine_is_accepted_and_its_master_checked():
    params = resolve_params("params/smoke.yaml", ["common.engine=spark"], discover_steps())[0]
    assert params["common"]["engine"] == "spark"
    with pytest.raises(ConfigError, match=r"common.spark.master"):
        resolve_params("params/smoke.yaml", ["common.spark.master=mesos://x"], discover_steps())
