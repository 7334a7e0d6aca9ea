"""The georeferencing step as one call: boundaries, analyses, the three maps, the GIS exports
and the step's results.

:func:`run_georeferencing` is the step's sequence of calls, written once: the notebook
(``03_georeferencing.ipynb``) calls it and shows its parts with the story between them, the
``python -m cardfraud geo`` command runs it on an extract, and the bench
(``bench/bench_geo.py``) times the same call phase by phase. Figures are saved under
``artifacts/figures``, the exports under ``artifacts/geo`` and the results as the
``georeferencing`` step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from ..engines import is_spark_frame
from ..report.figures import save_and_close
from ..runner.artifacts import save_step_results
from ..runner.phases import Phase, no_phase
from . import maps
from .boundaries import Boundaries, load_boundaries
from .exports import write_exports
from .step import STEP, analyse, georeferencing_results, scope_text, summary_sentences

# the data-bound functions of the pandas engine; engines/spark_geo.py has the same names
PANDAS_GEO = SimpleNamespace(analyse=analyse, scope_text=scope_text,
                             purchase_grid=maps.purchase_grid)
MAPS = ("geo_department_fraud_rates", "geo_purchases_and_frauds", "geo_suspects_and_hot_spots")


@dataclass
class GeoPage:
    """What the georeferencing page shows: scope, tables, saved maps (name -> PNG), exports
    (file -> path), results and their sentences. Without coordinates there are no maps and
    ``departments`` is None."""

    scope: str
    boundaries: Boundaries
    analysis: dict
    results: dict
    summary: str
    exports: dict[str, Path]
    figures: dict[str, Path] = field(default_factory=dict)

    @property
    def departments(self) -> pd.DataFrame | None:
        """Fraud rate per department (None without coordinates)."""
        return self.analysis["departments"]

    @property
    def hot_spots(self) -> pd.DataFrame:
        """The hot-spot cells, most significant first."""
        return self.analysis["hot_spots"]

    @property
    def suspected_points(self) -> pd.DataFrame:
        """The suspected points of compromise, most significant first."""
        return self.analysis["suspected_points"]

    @property
    def cards_at_risk(self) -> pd.DataFrame:
        """The cards to reissue: they used a suspected point in its window, no fraud since."""
        return self.analysis["cards_at_risk"]


class ParameterError(ValueError):
    """A georeferencing parameter out of its range."""


def check_parameters(fdr: float, cpp_lookback_days: float, hot_spot_channel: str) -> None:
    """Raise ParameterError naming the parameter when one is out of its range."""
    if not 0 < fdr < 1:
        raise ParameterError(f"geo.fdr {fdr} must lie strictly between 0 and 1")
    if cpp_lookback_days <= 0:
        raise ParameterError(f"geo.cpp_lookback_days {cpp_lookback_days} must be positive")
    if hot_spot_channel not in ("onsite", "all"):
        raise ParameterError(f"geo.hot_spot_channel {hot_spot_channel!r}: allowed onsite, all")


def geo_engine(transactions):
    """Return the functions that count on these purchases: pandas, or Spark for a Spark frame.

    Both have ``analyse``, ``scope_text`` and ``purchase_grid`` with the same results; the
    Spark ones aggregate on the executors and bring only per-cell tables to the driver.
    """
    if is_spark_frame(transactions):
        from ..engines import spark_geo

        return spark_geo
    return PANDAS_GEO


def geo_maps(grid: dict | None, analysis: dict, country: Boundaries, map_min_purchases: int,
             hot_spots_top: int, output_dir=None) -> dict[str, Path]:
    """Draw and save the three maps (none without coordinates); return their files by name.

    ``grid`` is the purchases and frauds per map cell (``purchase_grid``).
    """
    if analysis["departments"] is None:
        return {}
    rows = analysis["located"] + analysis["unlocated"]
    figures = {
        "geo_department_fraud_rates": maps.plot_department_fraud_rates(
            analysis["departments"], country, map_min_purchases),
        "geo_purchases_and_frauds": maps.draw_purchases_and_frauds(grid, country, rows),
        "geo_suspects_and_hot_spots": maps.plot_suspects_and_hot_spots(
            analysis["hot_spots"], analysis["suspected_points"], country, hot_spots_top)}
    return {name: save_and_close(fig, name, output_dir) for name, fig in figures.items()}


def run_georeferencing(transactions: pd.DataFrame, output_dir=None, *,
                       boundaries: str | None = None, fdr: float = 0.05,
                       map_gridsize: int = 60, map_min_purchases: int = 30,
                       hot_spot_cell_km: float = 5.0, hot_spot_min_purchases: int = 30,
                       hot_spot_min_frauds: int = 40, hot_spot_channel: str = "onsite",
                       hot_spots_top: int = 10, cpp_lookback_days: float = 30,
                       cpp_min_defrauded: int = 3, phase: Phase = no_phase) -> GeoPage:
    """Run the georeferencing step on the loaded purchases; save maps, exports and results.

    ``transactions`` is a pandas or a Spark DataFrame (a Spark run): the results and exports
    are the same. The keyword arguments are the ``geo`` section of the params (same names and
    defaults as the notebook's parameters cell); ``phase`` names each section for a timer. A
    bad parameter (ParameterError) or boundary file (BoundaryFileError) is refused before
    anything is written.
    """
    check_parameters(fdr, cpp_lookback_days, hot_spot_channel)
    engine = geo_engine(transactions)
    with phase("boundaries"):
        country = load_boundaries(boundaries)
    with phase("analyse (departments, hot spots, CPP)"):
        analysis = engine.analyse(transactions, country, fdr, hot_spot_cell_km,
                                  hot_spot_min_purchases, cpp_lookback_days, cpp_min_defrauded,
                                  hot_spot_channel, hot_spot_min_frauds)
    with phase("maps (3, saved)"):
        grid = (None if analysis["departments"] is None
                else engine.purchase_grid(transactions, country, map_gridsize))
        figures = geo_maps(grid, analysis, country, map_min_purchases, hot_spots_top,
                           output_dir)
    with phase("exports"):
        written = write_exports(analysis["hot_spots"], analysis["suspected_points"],
                                analysis["cards_at_risk"], output_dir)
    with phase("results"):
        settings = {"boundaries": country.source, "fdr": fdr,
                    "hot_spot_cell_km": hot_spot_cell_km,
                    "hot_spot_min_purchases": hot_spot_min_purchases,
                    "hot_spot_min_frauds": hot_spot_min_frauds,
                    "hot_spot_channel": hot_spot_channel, "cpp_lookback_days": cpp_lookback_days,
                    "cpp_min_defrauded": cpp_min_defrauded}
        results = georeferencing_results(analysis, settings, hot_spots_top, map_min_purchases)
        save_step_results(STEP, results, output_dir)
    return GeoPage(engine.scope_text(transactions), country, analysis, results,
                   summary_sentences(results), written, figures)
