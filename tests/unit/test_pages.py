"""Each step's sequence of calls is written once, in its page function: the notebook makes
that one call with every parameter of its ``parameters`` cell, and the function's defaults
are the default run's."""

from __future__ import annotations

import ast
import inspect
import json

import pandas as pd
import pytest
from conftest import ROOT, make_transactions

from cardfraud.channels.page import run_channel_simulation
from cardfraud.eda.page import run_eda
from cardfraud.geo.page import run_georeferencing
from cardfraud.modeling.page import run_modeling
from cardfraud.monitoring.page import run_monitoring
from cardfraud.runner.artifacts import load_step_results
from cardfraud.runner.config import read_params
from cardfraud.serving.page import run_registry

PAGES = {"02_eda": ("eda", run_eda), "03_georeferencing": ("geo", run_georeferencing),
         "04_channel_simulation": ("channel_simulation", run_channel_simulation),
         "05_modeling": ("modeling", run_modeling), "06_registry": ("registry", run_registry),
         "07_monitoring": ("monitoring", run_monitoring)}
# what a page function alone calls: a notebook calling one of these re-types the step
STEP_WORK = {"save_step_results", "save_figure", "show_figure", "track_candidates",
             "register_or_find_candidate", "compare_with_champion", "feature_drift",
             "champion_check", "append_monitoring_log", "cross_validate_candidates",
             "simulate_batches", "flag_fraud_rates", "fit_final_models", "load_boundaries",
             "analyse", "write_exports", "georeferencing_results"}


def code_of(notebook: str, parameters: bool = False) -> ast.Module:
    """Return the notebook's code cells parsed as one module: the ``parameters`` cell when
    ``parameters``, else every other code cell."""
    cells = json.loads((ROOT / "notebooks" / f"{notebook}.ipynb").read_text())["cells"]
    source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code"
                       and ("parameters" in c["metadata"].get("tags", [])) == parameters)
    return ast.parse(source)


def declared_parameters(notebook: str) -> set[str]:
    """Return the names the notebook's ``parameters`` cell assigns."""
    return {target.id for node in code_of(notebook, parameters=True).body
            if isinstance(node, ast.Assign) for target in node.targets}


def called_names(tree: ast.Module) -> list[str]:
    """Return the name of every function the code calls (``a.b(...)`` gives ``b``)."""
    return [getattr(node.func, "attr", getattr(node.func, "id", None))
            for node in ast.walk(tree) if isinstance(node, ast.Call)]


@pytest.mark.parametrize("notebook", PAGES)
def test_the_notebook_makes_its_step_function_call_once_with_every_parameter(notebook):
    section, page = PAGES[notebook]
    calls = [node for node in ast.walk(code_of(notebook)) if isinstance(node, ast.Call)
             and getattr(node.func, "id", None) == page.__name__]
    assert len(calls) == 1, f"{notebook} calls {page.__name__} {len(calls)} times"
    declared = declared_parameters(notebook)
    passed = {k.arg for k in calls[0].keywords}
    # the page's language is set for the whole notebook (use_language), not passed
    unused = {"output_dir", "language"} | ({"run_id"} - set(inspect.signature(page).parameters))
    assert passed == declared - unused, f"{notebook}: not passed {declared - unused - passed}"
    assert {k.arg: getattr(k.value, "id", None) for k in calls[0].keywords} == \
        {name: name for name in passed}  # each parameter passed under its own name
    assert not STEP_WORK & set(called_names(code_of(notebook)))


@pytest.mark.parametrize("notebook", PAGES)
def test_step_function_defaults_are_the_default_run(notebook):
    section, page = PAGES[notebook]
    default = read_params(ROOT / "params" / "default.yaml")
    defaults = {name: p.default for name, p in inspect.signature(page).parameters.items()
                if p.kind is p.KEYWORD_ONLY and name not in ("phase", "run_id")}
    expected = {name: default[section][name] if name in default[section] else
                default["common"][name] for name in defaults}
    if section == "registry":  # opened by hand or called bare, nothing is registered
        assert (defaults.pop("register"), expected.pop("register")) == (False, True)
    listed = {"candidates": None, "grids": None, "distance_bands_km": None}
    for name, value in defaults.items():
        if value is None and name in listed:
            continue  # filled in by the function: checked by the runs below
        assert value == pytest.approx(expected[name]) if isinstance(value, float) else \
            value == expected[name], f"{page.__name__}({name}={value!r}), default.yaml " \
                                     f"{expected[name]!r}"


def test_run_eda_saves_the_figures_and_results_its_page_shows(tmp_path):
    frame = make_transactions(600, seed=3)
    times = []
    page = run_eda(frame, tmp_path, sample_rows=200, histogram_bins=10, pair_bins=4,
                   phase=lambda name: _record(times, name))
    assert sorted(page.figures) == ["eda_continuous_distributions", "eda_correlations",
                                    "eda_distance_bands", "eda_flag_fraud_rates",
                                    "eda_strongest_pair"]  # no coordinates, no timestamps
    assert all(path.stat().st_size > 1000 for path in page.figures.values())
    assert load_step_results("eda", tmp_path) == json.loads(json.dumps(page.results))
    assert page.results["rows"] == 600 and page.daily is None
    assert "flags" in times and "results" in times


def test_run_channel_simulation_gives_the_flow_command_its_first_section(tmp_path):
    frame = make_transactions(500, seed=5)
    page = run_channel_simulation(frame, tmp_path, seed=1, purchases=None, runs=200)
    assert page.flow.purchases == 500 and int(page.flow.stages["purchases"].iloc[0]) == 500
    assert sorted(page.figures) == ["channel_simulation_flow", "channel_simulation_monte_carlo"]
    assert load_step_results("channel_simulation", tmp_path)["purchases"] == 500
    assert page.per_day is None and isinstance(page.what_if, pd.DataFrame)


def _record(times: list, name: str):
    """A phase that records its name (what a bench timer is given)."""
    from contextlib import nullcontext

    times.append(name)
    return nullcontext()
