"""Params files and --set overrides: every mistake is reported before a notebook starts."""

from __future__ import annotations

import pytest

from cardfraud.config import (
    ConfigError,
    apply_overrides,
    check_sections,
    parse_override,
    read_params,
)
from cardfraud.pipeline import discover_steps, resolve_params, select_steps

ALLOWED = {"common": {"seed"}, "load": {"path", "simulator", "on_missing"}}


def test_default_and_smoke_params_match_the_notebooks():
    steps = discover_steps()
    for name in ("default", "smoke"):
        params, declared = resolve_params(f"params/{name}.yaml", [], steps)
        assert params["load"]["simulator"]["rows"] > 0
        assert {"path", "simulator", "on_missing"} <= declared["load"]


def test_steps_are_discovered_in_order_from_the_notebooks():
    names = [s.name for s in discover_steps()]
    assert names[0] == "load" and len(names) == len(set(names))
    assert [s.number for s in discover_steps()] == sorted(s.number for s in discover_steps())


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
    from cardfraud.pipeline import prune_failed_runs

    for stamp in range(8):
        (tmp_path / "runs" / f"20261121T10000{stamp}Z-abcd").mkdir(parents=True)
    prune_failed_runs(tmp_path, keep=5)
    assert sorted(p.name[-9:-6] for p in (tmp_path / "runs").iterdir()) == ["003", "004", "005",
                                                                            "006", "007"]
