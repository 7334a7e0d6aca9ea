"""The type and range of every parameter, checked before any notebook starts.

:func:`parameter_rules` declares one rule per key of each section (both params files and every
``--set`` pass it); a value outside its rule stops the run with one line naming the file, the
key and the value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config import COMMON_SECTION, REPORT_SECTION, ConfigError

MODEL_NAME_RULE = "letters, digits, '-', '_' and '.', starting with a letter or digit"


_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_model_name(name: Any, what: str = "model name") -> str:
    """Return ``name`` when it is a usable registered-model name, else raise ConfigError.

    MLflow accepts almost any text, but a quote breaks its search filters and a slash or
    ``@`` breaks ``models:/<name>@<alias>`` URIs, so names keep to a safe alphabet.
    """
    if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
        raise ConfigError(f"{what} {name!r} is not allowed; use {MODEL_NAME_RULE} "
                          f"(at most 128 characters)")
    return name


@dataclass(frozen=True)
class Rule:
    """What one parameter accepts: ``accepts(value)`` and the words saying what is allowed."""

    allowed: str
    accepts: Callable[[Any], bool]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _nullable(rule: Rule, nullable: bool) -> Rule:
    if not nullable:
        return rule
    return Rule(f"{rule.allowed} or null", lambda v: v is None or rule.accepts(v))


def boolean() -> Rule:
    """true or false (YAML booleans; the text 'false' or 'yes_please' is refused)."""
    return Rule("true or false", lambda v: isinstance(v, bool))


def integer(minimum: int, nullable: bool = False) -> Rule:
    """An integer >= minimum."""
    return _nullable(Rule(f"an integer >= {minimum}", lambda v: _is_int(v) and v >= minimum),
                     nullable)


def number(low: float, high: float | None = None, low_open: bool = False,
           high_open: bool = False) -> Rule:
    """A finite number between ``low`` and ``high`` (each end closed unless said open)."""
    if high is None:
        allowed = f"a number {'>' if low_open else '>='} {low:g}"
    else:
        allowed = f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def accepts(value: Any) -> bool:
        if not _is_number(value):
            return False
        above = value > low if low_open else value >= low
        below = high is None or (value < high if high_open else value <= high)
        return above and below

    return Rule(allowed, accepts)


def choice(*options: str, nullable: bool = False) -> Rule:
    """One of the given words."""
    return _nullable(Rule(f"one of {', '.join(options)}", lambda v: v in options), nullable)


def text(nullable: bool = False) -> Rule:
    """Non-empty text (a file path, a URI, a separator)."""
    return _nullable(Rule("text", lambda v: isinstance(v, str) and v != ""), nullable)


def choices_list(*options: str) -> Rule:
    """A non-empty list whose items are among the given words."""
    return Rule(f"a non-empty list of {', '.join(options)}",
                lambda v: isinstance(v, list) and bool(v) and all(x in options for x in v))


def increasing_numbers() -> Rule:
    """A non-empty list of increasing numbers >= 0."""
    return Rule("a non-empty list of increasing numbers >= 0",
                lambda v: isinstance(v, list) and bool(v) and all(_is_number(x) and x >= 0 for x in v)
                and all(a < b for a, b in zip(v, v[1:], strict=False)))


def mapping_of_mappings(keys: tuple[str, ...]) -> Rule:
    """A mapping from some of ``keys`` to mappings (e.g. a grid per candidate)."""
    return Rule(f"a mapping {{candidate: {{setting: [values]}}}} with candidates among "
                f"{', '.join(keys)}",
                lambda v: isinstance(v, dict) and all(k in keys and isinstance(x, dict)
                                                      for k, x in v.items()))


def column_mapping(names: list[str]) -> Rule:
    """A mapping from some of ``names`` to the file's headers (non-empty text)."""
    return Rule(f"a mapping {{name: the file's header}} with names among {', '.join(names)}",
                lambda v: isinstance(v, dict) and all(k in names and isinstance(x, str)
                                                      and x.strip() for k, x in v.items()))


def bank_codes() -> Rule:
    """``load.codes``: {entry_mode|verification|channel: {code: meaning}, online_category_suffix}."""
    from ..data.codes import MEANINGS, ONLINE_CATEGORY_SUFFIX

    return Rule(f"a mapping {{column: {{code: meaning}}}} with columns among "
                f"{', '.join(MEANINGS)} (or {ONLINE_CATEGORY_SUFFIX}: text)",
                lambda v: isinstance(v, dict))  # what is wrong inside: _check_codes


def spark_settings() -> Rule:
    """``common.spark``: {master: ..., conf: {...}}; what is wrong inside: _check_spark."""
    return Rule("a mapping {master: local[*] | spark://host:port | yarn | k8s://... | "
                "sc://host:port, conf: {spark.key: value}}", lambda v: isinstance(v, dict))


def model_name() -> Rule:
    """A registered-model name (see :func:`check_model_name`)."""
    return Rule(MODEL_NAME_RULE, lambda v: isinstance(v, str) and bool(_MODEL_NAME.fullmatch(v)))


def parameter_rules() -> dict[str, dict[str, Rule]]:
    """Return, per section, the rule of every parameter the notebooks declare.

    ``load.simulator`` is checked by the simulator's own knob check instead.
    """
    from ..data.column_mapping import MAPPABLE_COLUMNS
    from ..engines import ENGINES
    from ..modeling.candidates import CANDIDATES, RESAMPLING, SELECTION_METRICS
    from ..modeling.holdout import SPLITS
    from ..report.translate import LANGUAGES

    share = number(0, 1, low_open=True, high_open=True)
    return {
        COMMON_SECTION: {"seed": integer(0), "tracking_uri": text(nullable=True),
                         "model_name": model_name(), "engine": choice(*ENGINES),
                         "spark": spark_settings()},
        REPORT_SECTION: {"language": choice(*LANGUAGES)},
        "load": {"source": choice("simulated", "file", "raw"), "path": text(nullable=True),
                 "sep": text(nullable=True), "decimal": choice(".", ",", nullable=True),
                 "thousands": choice(".", ",", " ", "'", "_", nullable=True),
                 "on_missing": choice("drop", "fail"), "duplicates": choice("keep", "drop"),
                 "columns": column_mapping(MAPPABLE_COLUMNS),
                 "coordinates_path": text(nullable=True),
                 "allow_missing_inputs": boolean(),
                 "cardholders_path": text(nullable=True), "cities_path": text(nullable=True),
                 "cardholder_columns": column_mapping(MAPPABLE_COLUMNS),
                 "codes": bank_codes(), "out_of_order": choice("refuse", "sort")},
        "eda": {"sample_rows": integer(1), "histogram_bins": integer(2), "pair_bins": integer(2),
                "distance_bands_km": increasing_numbers()},
        "geo": {"boundaries": text(nullable=True), "fdr": share,
                "map_gridsize": integer(2), "map_min_purchases": integer(1),
                "hot_spot_cell_km": number(0, low_open=True),
                "hot_spot_min_purchases": integer(1), "hot_spot_min_frauds": integer(1),
                "hot_spot_channel": choice("onsite", "all"), "hot_spots_top": integer(1),
                "cpp_lookback_days": number(0, low_open=True), "cpp_min_defrauded": integer(1)},
        "channel_simulation": {"purchases": integer(1, nullable=True), "runs": integer(1)},
        "modeling": {
            "experiment_name": text(), "candidates": choices_list(*CANDIDATES),
            "resampling": choice(*RESAMPLING), "grids": mapping_of_mappings(CANDIDATES),
            "selection_metric": choice(*SELECTION_METRICS), "cv_folds": integer(2),
            "cv_sample_rows": integer(1, nullable=True),
            "refit_rows": integer(1, nullable=True), "split": choice(*SPLITS),
            "test_days": integer(1, nullable=True), "test_share": share,
            "alert_budget": number(0, 1, low_open=True), "cost_missed_fraud": number(0),
            "cost_review": number(0), "currency": text(), "target_recall": number(0, 1, low_open=True),
            "importance_rows": integer(1), "first_analysis_rows": integer(1),
            "label_delay_days": integer(0), "backtest_weeks": integer(0),
            "backtest_train_rows": integer(1, nullable=True),
            "bootstrap_resamples": integer(0), "train_sample_rows": integer(2),
            "test_sample_rows": integer(2)},
        "registry": {"register": boolean(), "force_promotion": boolean(), "min_improvement": number(0, 1),
                     "sample_rows": integer(1)},
        "monitoring": {"current_days": integer(1), "current_path": text(nullable=True),
                       "psi_watch": number(0, low_open=True), "psi_alert": number(0, low_open=True),
                       "bins": integer(2), "score_sample_rows": integer(1),
                       "performance_drop": number(0, 1)},
    }


def check_parameter_values(params: dict, source: str) -> None:
    """Raise ConfigError on the first parameter whose type or range is wrong.

    The message names the parameter, its value and what is allowed. Sections and keys
    without a rule are left to the notebook (a test checks every declared one has a rule).
    """
    rules = parameter_rules()
    for section, values in params.items():
        for key, value in values.items():
            rule = rules.get(section, {}).get(key)
            if rule is not None and not rule.accepts(value):
                shown = f"the text {value!r}" if isinstance(value, str) else repr(value)
                raise ConfigError(f"{source}: parameter {section}.{key} is {shown}; allowed: "
                                  f"{rule.allowed}")
    simulator = params.get("load", {}).get("simulator")
    if simulator is not None:
        _check_simulator(simulator, source)
    _check_psi_thresholds(params.get("monitoring", {}), source)
    _check_column_mapping(params.get("load", {}), source)
    _check_codes(params.get("load", {}), source)
    _check_spark(params.get(COMMON_SECTION, {}), source)


def _check_spark(common: dict, source: str) -> None:
    """Raise ConfigError naming what is wrong inside common.spark (a key, the master, conf)."""
    from ..engines import spark_settings_problem

    spark = common.get("spark")
    problem = spark_settings_problem(spark) if isinstance(spark, dict) else None
    if problem:
        raise ConfigError(f"{source}: parameter common.spark.{problem}")


def _check_codes(load: dict, source: str) -> None:
    """Raise ConfigError naming what is wrong inside load.codes (a meaning, a column, a clash)."""
    from ..data.codes import codes_problem

    codes = load.get("codes")
    problem = codes_problem(codes) if isinstance(codes, dict) else None
    if problem:
        raise ConfigError(f"{source}: parameter {problem}")


def _check_column_mapping(load: dict, source: str) -> None:
    """Raise ConfigError when load.columns maps two names to one header."""
    from ..data.column_mapping import shared_headers

    columns = load.get("columns")
    shared = shared_headers(columns) if isinstance(columns, dict) else None
    if shared:
        raise ConfigError(f"{source}: parameter {shared}")


def _check_psi_thresholds(monitoring: dict, source: str) -> None:
    """Raise ConfigError unless psi_watch is below psi_alert (each is checked on its own above)."""
    watch, alert = monitoring.get("psi_watch"), monitoring.get("psi_alert")
    if _is_number(watch) and _is_number(alert) and not watch < alert:
        raise ConfigError(f"{source}: parameters monitoring.psi_watch ({watch}) and "
                          f"monitoring.psi_alert ({alert}); allowed: psi_watch < psi_alert")


def _check_simulator(simulator: Any, source: str) -> None:
    """Raise ConfigError when the simulator's knobs are not a mapping of valid values."""
    from ..simulator.simulate import check_knobs

    if not isinstance(simulator, dict):
        raise ConfigError(f"{source}: parameter load.simulator is {simulator!r}; allowed: a "
                          f"mapping of simulator knobs (docs/simulator.md)")
    try:
        check_knobs(simulator)
    except ValueError as exc:
        raise ConfigError(f"{source}: parameter load.{exc}") from None
