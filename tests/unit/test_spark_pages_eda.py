"""The EDA and channel-simulation pages on a Spark DataFrame give the pandas pages' results.

The same 20,000 simulated purchases are handed to ``run_eda`` and ``run_channel_simulation``
as a pandas frame and as a Spark DataFrame read back from Parquet (as a Spark run's load step
hands them on). The saved results must agree (counts exactly, rates and means to 1e-9,
quantiles within approxQuantile's rank error), the same figure files must be written, and no
more than a bounded sample of rows may reach the driver.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from cardfraud.engines.spark_session import SparkUnavailable, check_spark_installed

try:
    check_spark_installed()
except SparkUnavailable as missing:
    pytest.skip(f"Spark pages need PySpark and Java: {missing}", allow_module_level=True)

from spark_frames import as_loaded_spark_frame, local_spark  # noqa: E402

from cardfraud.channels import simulation as flow  # noqa: E402
from cardfraud.channels.page import run_channel_simulation  # noqa: E402
from cardfraud.eda.page import run_eda  # noqa: E402
from cardfraud.engines.spark_eda import QUANTILE_RELATIVE_ERROR  # noqa: E402
from cardfraud.runner.artifacts import load_step_results  # noqa: E402

pytestmark = pytest.mark.spark  # starts a Spark session: make test, not test-fast

ROWS = 20_000
SAMPLE_ROWS = 2_000  # the pair figure's scatter: the largest set of rows allowed to the driver
EDA_SETTINGS = {"seed": 42, "sample_rows": SAMPLE_ROWS, "histogram_bins": 40, "pair_bins": 8,
                "distance_bands_km": [0, 5, 25, 100]}
RUNS = 2_000
VARIANTS = ["complete", "partly unknown"]


@pytest.fixture(scope="module")
def purchases() -> pd.DataFrame:
    """20,000 simulated purchases with every column the load step hands on."""
    from cardfraud.simulator.simulate import simulate

    return simulate(rows=ROWS, seed=3)


@pytest.fixture(scope="module")
def partly_unknown(purchases) -> pd.DataFrame:
    """The same purchases with distances unknown on some rows and no PIN input at all."""
    frame = purchases.drop(columns="used_pin_number").copy()
    rng = np.random.default_rng(5)
    for column, share in (("distance_from_home", 0.05), ("distance_from_last_transaction", 0.02)):
        frame.loc[rng.random(len(frame)) < share, column] = np.nan
    return frame


@pytest.fixture(scope="module")
def frames(purchases, partly_unknown, tmp_path_factory):
    """(pandas frame, Spark DataFrame of the same purchases) by variant name."""
    spark = local_spark()
    return {name: (frame, as_loaded_spark_frame(spark, frame, tmp_path_factory.mktemp("loaded")))
            for name, frame in (("complete", purchases), ("partly unknown", partly_unknown))}


class CollectedRows:
    """Records how many rows each collect / toPandas of a Spark DataFrame brought back."""

    def __init__(self, monkeypatch, frame_class):
        self.sizes: list[int] = []
        for name in ("collect", "toPandas"):
            original = getattr(frame_class, name)
            monkeypatch.setattr(frame_class, name, self._counting(original))

    def _counting(self, original):
        def counted(frame, *args, **kwargs):
            result = original(frame, *args, **kwargs)
            self.sizes.append(len(result))
            return result
        return counted


@pytest.fixture(scope="module")
def eda_pages(frames, tmp_path_factory):
    """The EDA page of each variant on both engines, and the rows the Spark run collected."""
    pages = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, (pandas_frame, spark_frame) in frames.items():
            collected = CollectedRows(monkeypatch, type(spark_frame))
            out = {engine: tmp_path_factory.mktemp(f"eda_{engine}") for engine in ("pandas", "spark")}
            spark_page = run_eda(spark_frame, out["spark"], **EDA_SETTINGS)
            sizes = list(collected.sizes)
            monkeypatch.undo()
            pages[name] = {"pandas": run_eda(pandas_frame, out["pandas"], **EDA_SETTINGS),
                           "spark": spark_page, "out": out, "collected": sizes}
    return pages


def assert_same_numbers(spark, pandas, path: str = "results", tolerance: float = 1e-9):
    """Equal structure; integers, text, flags and None exactly; floats to ``tolerance``."""
    if isinstance(pandas, dict):
        assert sorted(spark) == sorted(pandas), path
        for key in pandas:
            assert_same_numbers(spark[key], pandas[key], f"{path}.{key}", tolerance)
    elif isinstance(pandas, list):
        assert len(spark) == len(pandas), path
        for index, (a, b) in enumerate(zip(spark, pandas, strict=True)):
            assert_same_numbers(a, b, f"{path}[{index}]", tolerance)
    elif isinstance(pandas, float):
        assert isinstance(spark, float), f"{path}: {spark!r} vs {pandas!r}"
        assert (math.isnan(spark) and math.isnan(pandas)) or \
            math.isclose(spark, pandas, rel_tol=tolerance, abs_tol=1e-12), \
            f"{path}: {spark!r} vs {pandas!r}"
    else:
        assert spark == pandas and type(spark) is type(pandas), f"{path}: {spark!r} vs {pandas!r}"


def saved_results(step: str, output_dir) -> dict:
    """The results the step saved (what run_all merges into run.json), read as JSON."""
    return json.loads(json.dumps(load_step_results(step, output_dir)))


def figure_files(output_dir) -> list[str]:
    """The names of the PNG figures written under the output dir."""
    return sorted(p.name for p in (output_dir / "artifacts" / "figures").glob("*.png"))


@pytest.mark.parametrize("variant", VARIANTS)
def test_eda_results_on_spark_equal_the_pandas_ones(eda_pages, variant):
    pages = eda_pages[variant]
    spark, pandas = (saved_results("eda", pages["out"][e]) for e in ("spark", "pandas"))
    assert_same_numbers(spark, pandas)
    assert spark["rows"] == ROWS and spark["frauds"] > 0
    assert spark["inputs_unknown"] == ([] if variant == "complete" else ["used_pin_number"])
    assert bool(spark["inputs_partly_unknown"]) == (variant == "partly unknown")
    assert_same_numbers(pages["spark"].results, pages["pandas"].results)


@pytest.mark.parametrize("variant", VARIANTS)
def test_eda_tables_and_scope_on_spark_equal_the_pandas_ones(eda_pages, variant):
    spark, pandas = eda_pages[variant]["spark"], eda_pages[variant]["pandas"]
    assert spark.scope == pandas.scope
    assert spark.strongest_pair[:2] == pandas.strongest_pair[:2]
    for name in ("class_balance", "flag_rates", "channel_chip_pin", "distance_bands", "daily"):
        pd.testing.assert_frame_equal(getattr(spark, name), getattr(pandas, name),
                                      check_exact=False, rtol=1e-9, atol=1e-12)
    exact = [c for c in pandas.continuous_summary if c not in ("median", "p99.9")
             and not c.startswith("purchases beyond")]
    pd.testing.assert_frame_equal(spark.continuous_summary[exact], pandas.continuous_summary[exact],
                                  check_exact=False, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_eda_quantiles_on_spark_are_within_the_rank_error(eda_pages, frames, variant):
    summary = eda_pages[variant]["spark"].continuous_summary.set_index("feature")
    pandas_frame = frames[variant][0]
    for feature, row in summary.iterrows():
        known = np.sort(pandas_frame[feature].dropna().to_numpy())
        slack = QUANTILE_RELATIVE_ERROR * len(known) + 1
        for q, column in ((0.5, "median"), (0.999, "p99.9")):
            # tied values (repeat purchases at one place) share a range of ranks
            low, high = (np.searchsorted(known, row[column], side=s) for s in ("left", "right"))
            assert low - slack <= q * (len(known) - 1) <= high + slack, (feature, column)


@pytest.mark.parametrize("variant", VARIANTS)
def test_eda_on_spark_writes_the_same_figures(eda_pages, variant):
    pages = eda_pages[variant]
    names = {engine: figure_files(pages["out"][engine]) for engine in ("spark", "pandas")}
    assert names["spark"] == names["pandas"]
    assert sorted(pages["spark"].figures) == sorted(pages["pandas"].figures)
    assert {"eda_continuous_distributions.png", "eda_strongest_pair.png",
            "eda_distance_bands.png", "eda_daily_activity.png"} <= set(names["spark"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_eda_on_spark_brings_only_aggregates_and_the_bounded_sample(eda_pages, variant):
    collected = eda_pages[variant]["collected"]
    assert collected, "the Spark page collected nothing: it did not run on Spark"
    assert max(collected) <= SAMPLE_ROWS < ROWS


@pytest.fixture(scope="module")
def channel_pages(frames, tmp_path_factory):
    """The channel page of each variant on both engines, for a part and for every row."""
    pages = {}
    for name, (pandas_frame, spark_frame) in frames.items():
        for purchases in (5_000, None):
            out = {engine: tmp_path_factory.mktemp(f"channels_{engine}")
                   for engine in ("pandas", "spark")}
            with pytest.MonkeyPatch.context() as monkeypatch:
                collected = CollectedRows(monkeypatch, type(spark_frame))
                spark_page = run_channel_simulation(spark_frame, out["spark"], seed=7,
                                                    purchases=purchases, runs=RUNS)
            pages[name, purchases] = {
                "spark": spark_page, "out": out, "collected": collected.sizes,
                "pandas": run_channel_simulation(pandas_frame, out["pandas"], seed=7,
                                                 purchases=purchases, runs=RUNS)}
    return pages


@pytest.mark.parametrize("variant", VARIANTS)
def test_channel_results_on_spark_equal_the_pandas_ones_when_every_row_is_drawn(channel_pages,
                                                                                variant):
    pages = channel_pages[variant, None]
    spark, pandas = (saved_results("channel_simulation", pages["out"][e])
                     for e in ("spark", "pandas"))
    assert_same_numbers(spark, pandas)
    assert spark["purchases"] == spark["data_rows"] == ROWS
    assert pages["spark"].draw == pages["pandas"].draw
    pd.testing.assert_frame_equal(pages["spark"].what_if, pages["pandas"].what_if,
                                  check_exact=False, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_channel_results_on_spark_equal_the_pandas_ones_draw_included(channel_pages, frames,
                                                                       variant):
    pages = channel_pages[variant, 5_000]
    spark, pandas = (saved_results("channel_simulation", pages["out"][e])
                     for e in ("spark", "pandas"))
    assert_same_numbers(spark, pandas)
    drawn = flow.draw_cell_counts(flow.cell_counts(frames[variant][0]), 5_000, seed=7)
    assert spark["stage_counts"] == {
        "purchases": 5_000, "validated_onsite": int(drawn[0] + drawn[1]),
        "validated_online": int(drawn[2] + drawn[3]), "fraudulent_onsite": int(drawn[1]),
        "fraudulent_online": int(drawn[3])}
    assert pages["spark"].draw == pages["pandas"].draw


@pytest.mark.parametrize("variant", VARIANTS)
def test_channel_page_on_spark_writes_the_same_figures(channel_pages, variant):
    pages = channel_pages[variant, 5_000]
    assert figure_files(pages["out"]["spark"]) == figure_files(pages["out"]["pandas"]) == [
        "channel_simulation_flow.png", "channel_simulation_monte_carlo.png"]


@pytest.mark.parametrize("drawn", [5_000, None])
def test_channel_page_on_spark_brings_only_counts(channel_pages, drawn):
    for variant in VARIANTS:
        collected = channel_pages[variant, drawn]["collected"]
        assert collected and max(collected) <= 16  # end states x chip x PIN at most


def test_what_if_on_spark_says_unknown_without_the_pin(channel_pages):
    table = channel_pages["partly unknown", None]["spark"].what_if.set_index("rule")
    assert table.loc["PIN mandatory", "unknown"] == "unknown: the extract has no used_pin_number"
    assert table.loc["chip and PIN mandatory", "purchases"] > 0


def test_draw_on_end_state_counts_gives_every_count_when_every_row_is_drawn():
    cells = np.array([700, 20, 250, 30])
    assert flow.draw_cell_counts(cells, 1_000, seed=1).tolist() == cells.tolist()
    part = flow.draw_cell_counts(cells, 400, seed=1)
    assert part.sum() == 400 and (part <= cells).all()
    assert flow.draw_cell_counts(cells, 3_000, seed=1).sum() == 3_000  # with replacement
