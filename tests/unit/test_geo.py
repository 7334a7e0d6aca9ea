"""Georeferencing: boundaries, hot spots, common point of purchase, exports, maps, no-coordinates."""

from __future__ import annotations

import json
from contextlib import nullcontext

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cardfraud.geo import boundaries as geo_boundaries
from cardfraud.geo import exports, maps, step
from cardfraud.geo.cpp import common_points_of_purchase
from cardfraud.geo.hot_spots import fraud_rate_by_department, hot_spots
from cardfraud.geo.suspects import cards_at_risk, suspected_points

COLOMBIA = geo_boundaries.load_boundaries()
START = pd.Timestamp("2024-01-01")
BOGOTA, MEDELLIN, CALI = (-74.072, 4.711), (-75.581, 6.244), (-76.532, 3.452)


def purchase(card, merchant, day, fraud=0, place=BOGOTA, online=0) -> dict:
    """One purchase of a hand-made history."""
    return {"card_id": card, "merchant_id": merchant, "timestamp": START + pd.Timedelta(days=day),
            "fraud": fraud, "longitude": place[0], "latitude": place[1], "online_order": online,
            "city": "Bogotá"}


def skimmed_history(compromised: bool = True) -> pd.DataFrame:
    """200 cards, 15 purchases each at 59 shops over 60 days; shop 1 skims cards 1-10 on days 10-14.

    Cards 1-10 are defrauded (in shop 98) 6 to 10 days after their visit; cards 11-13 visit
    shop 1 inside that window and are never defrauded (at risk); cards 14-15 visit it on day
    40, after the window. Cards 100-119 suffer one unrelated fraud each.
    """
    rng = np.random.default_rng(3)
    rows = [purchase(card, int(rng.integers(2, 61)), float(rng.uniform(0, 60)))
            for card in range(1, 201) for _ in range(14 if compromised and card <= 15 else 15)]
    rows += [purchase(card, 99, float(rng.uniform(0, 60)), fraud=1) for card in range(100, 120)]
    if compromised:
        rows += [purchase(card, 1, 10 + card * 0.4) for card in range(1, 11)]
        rows += [purchase(card, 98, 20 + card * 0.4, fraud=1) for card in range(1, 11)]
        rows += [purchase(card, 1, 11 + (card - 11)) for card in range(11, 14)]
        rows += [purchase(card, 1, 40.0) for card in (14, 15)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def skimmed():
    history = skimmed_history()
    cpp = common_points_of_purchase(history, lookback_days=30, fdr=0.05, min_defrauded=3)
    points = suspected_points(history, cpp, COLOMBIA)
    return {"history": history, "cpp": cpp, "points": points,
            "at_risk": cards_at_risk(cpp, points)}


def test_shipped_boundaries_place_the_capitals_in_their_departments():
    lon, lat = zip(BOGOTA, MEDELLIN, CALI, (-74.796, 10.964), (-81.70, 12.58), (-60.0, 0.0),
                   strict=True)
    names = geo_boundaries.department_names(
        COLOMBIA, geo_boundaries.department_index(COLOMBIA, lon, lat))
    assert names.tolist() == ["Bogotá", "Antioquia", "Valle del Cauca", "Atlántico",
                              "San Andrés y Providencia", "outside the country"]
    assert geo_boundaries.inside_country(COLOMBIA, lon, lat).tolist() == [True] * 5 + [False]
    assert len(COLOMBIA.names) == 33


def test_boundaries_parameter_reads_another_country(tmp_path):
    square = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]}
    for name, props in (("departments", {"name": "Left"}), ("outline", {"name": "Land"})):
        (tmp_path / f"{name}.geojson").write_text(json.dumps({
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": props, "geometry": square}]}))
    country = geo_boundaries.load_boundaries(str(tmp_path))
    index = geo_boundaries.department_index(country, [1.0, 3.0], [1.0, 1.0])
    assert geo_boundaries.department_names(country, index).tolist() == ["Left",
                                                                        "outside the country"]
    (tmp_path / "departments.geojson").write_text('{"type": "FeatureCollection", "features": [{'
                                                  '"type": "Feature", "geometry": {"type": '
                                                  '"Point", "coordinates": [0, 0]}}]}')
    with pytest.raises(geo_boundaries.BoundaryFileError, match="departments.geojson feature 1: "
                                                               "geometry type 'Point'"):
        geo_boundaries.load_boundaries(str(tmp_path))


def test_cpp_finds_the_skimmed_shop_its_window_and_the_cards_at_risk(skimmed):
    points = skimmed["points"]
    assert points["merchant_id"].tolist() == [1]
    point = points.iloc[0]
    assert point["cards_defrauded"] == 10 and point["cards_visited"] == 13
    assert point["window_start"] == START + pd.Timedelta(days=10.4)
    assert point["window_end"] == START + pd.Timedelta(days=14.0)
    assert point["department"] == "Bogotá" and point["kind"] == "shop"
    assert point["q_value"] <= 0.05 and point["expected_defrauded"] < 3
    assert sorted(skimmed["at_risk"]["card_id"]) == [11, 12, 13]
    assert point["cards_at_risk"] == 3


def test_cpp_flags_nothing_without_a_common_point():
    cpp = common_points_of_purchase(skimmed_history(compromised=False))
    assert len(cpp["suspects"]) == 0
    assert cpp["tests"]["p_value"].min() > 1e-3


def uniform_city_purchases(rows: int, seed: int) -> pd.DataFrame:
    """Purchases around Bogotá and Medellín at a steady 5 % fraud rate, plus a Cali cluster."""
    rng = np.random.default_rng(seed)
    centre = np.where(rng.random(rows) < 0.5, 0, 1)
    lon = np.array([BOGOTA[0], MEDELLIN[0]])[centre] + rng.uniform(-0.1, 0.1, rows)
    lat = np.array([BOGOTA[1], MEDELLIN[1]])[centre] + rng.uniform(-0.1, 0.1, rows)
    frame = pd.DataFrame({"longitude": lon, "latitude": lat, "online_order": 0,
                          "fraud": (np.arange(rows) % 20 == 0).astype(int),
                          "city": np.array(["Bogotá", "Medellín"])[centre]})
    cluster = pd.DataFrame({"longitude": CALI[0], "latitude": CALI[1], "online_order": 0,
                            "fraud": (np.arange(100) % 2).astype(int), "city": "Cali"},
                           index=range(100))
    return pd.concat([frame, cluster], ignore_index=True)


def test_hot_spots_find_the_cluster_with_its_rate_interval_and_q_value():
    frame = uniform_city_purchases(4000, seed=1)
    department = geo_boundaries.department_index(COLOMBIA, frame["longitude"], frame["latitude"])
    spots = hot_spots(frame, department, COLOMBIA, cell_km=5, min_purchases=30, fdr=0.05)
    assert spots[["department", "city", "purchases", "frauds"]].values.tolist() == [
        ["Valle del Cauca", "Cali", 100, 50]]
    spot = spots.iloc[0]
    assert spot["rate_ci_low"] < 0.5 < spot["rate_ci_high"] and spot["q_value"] < 1e-10
    assert spot["expected_rate"] == pytest.approx(200 / 4000, abs=0.002)
    assert hot_spots(frame, department, COLOMBIA, min_purchases=101).empty
    rates = fraud_rate_by_department(frame, department, COLOMBIA)
    assert rates.iloc[0][["department", "purchases", "frauds"]].tolist() == [
        "Valle del Cauca", 100, 50]


def test_exports_are_rfc7946_longitude_first_inside_the_country(skimmed, tmp_path):
    frame = uniform_city_purchases(4000, seed=1)
    department = geo_boundaries.department_index(COLOMBIA, frame["longitude"], frame["latitude"])
    spots = hot_spots(frame, department, COLOMBIA)
    written = exports.write_exports(spots, skimmed["points"], skimmed["at_risk"], tmp_path)
    folder = tmp_path / "artifacts" / "geo"
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in written.values()) == [
        "cards_at_risk.csv", "hot_spots.csv", "hot_spots.geojson", "suspected_points.csv",
        "suspected_points.geojson"]
    for name, table in (("hot_spots", spots), ("suspected_points", skimmed["points"])):
        collection = json.loads((folder / f"{name}.geojson").read_text(encoding="utf-8"))
        assert collection["type"] == "FeatureCollection" and "crs" not in collection
        lon, lat = zip(*(f["geometry"]["coordinates"] for f in collection["features"]), strict=True)
        assert all(f["geometry"]["type"] == "Point" for f in collection["features"])
        assert all(-82 < x < -66 for x in lon) and all(-5 < y < 14 for y in lat)
        assert geo_boundaries.inside_country(COLOMBIA, lon, lat).all()
        assert list(collection["features"][0]["properties"]) == list(table.columns)
        assert pd.read_csv(folder / f"{name}.csv").columns.tolist() == list(table.columns)
    point = json.loads((folder / "suspected_points.geojson").read_text())["features"][0]
    assert point["properties"]["merchant_id"] == 1
    assert point["geometry"]["coordinates"] == [BOGOTA[0], BOGOTA[1]]
    assert point["properties"]["window_start"].startswith("2024-01-11T09:36")
    assert sorted(pd.read_csv(folder / "cards_at_risk.csv")["card_id"]) == [11, 12, 13]


def _department_patches(fig) -> list[set]:
    """Per map axes, the gids of the boundary patches drawn on it."""
    return [{p.get_gid() for p in ax.patches if p.get_gid()} for ax in fig.axes
            if ax.get_title()]


def test_every_map_is_drawn_over_the_departments_and_the_outline(skimmed):
    frame = uniform_city_purchases(2000, seed=2)
    department = geo_boundaries.department_index(COLOMBIA, frame["longitude"], frame["latitude"])
    expected = {f"department:{name}" for name in COLOMBIA.names} | {"outline"}
    figures = [maps.plot_department_fraud_rates(fraud_rate_by_department(frame, department,
                                                                         COLOMBIA), COLOMBIA),
               maps.plot_purchases_and_frauds(frame, COLOMBIA, gridsize=20),
               maps.plot_suspects_and_hot_spots(hot_spots(frame, department, COLOMBIA),
                                                skimmed["points"], COLOMBIA)]
    for fig in figures:
        panels = _department_patches(fig)
        assert panels and all(gids == expected for gids in panels)
        assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes if ax.get_title())
    labels = {t.get_text() for t in figures[2].axes[0].texts}
    assert {"H1 Cali", "P1 Bogotá"} <= labels
    choropleth = figures[0].axes[0]
    valle = next(p for p in choropleth.patches if p.get_gid() == "department:Valle del Cauca")
    amazonas = next(p for p in choropleth.patches if p.get_gid() == "department:Amazonas")
    assert valle.get_facecolor() != amazonas.get_facecolor()  # rated vs no data
    for fig in figures:
        plt.close(fig)


def test_the_public_table_says_what_is_missing_and_the_step_succeeds(real_sample, tmp_path):
    table = pd.read_csv(real_sample, nrows=2000)
    analysis = step.analyse(table, COLOMBIA)
    text = step.scope_text(table)
    assert "No `latitude`, `longitude` column: no maps" in text
    assert "No `card_id`, `merchant_id`, `timestamp`, `latitude`, `longitude` column: no " \
           "common point of purchase" in text
    assert "distance-from-home analysis" in text
    results = step.georeferencing_results(analysis, {"fdr": 0.05})
    assert not results["maps"] and not results["cpp"] and results["cards_at_risk"] == 0
    exports.write_exports(analysis["hot_spots"], analysis["suspected_points"],
                          analysis["cards_at_risk"], tmp_path)
    empty = json.loads((tmp_path / "artifacts" / "geo" / "hot_spots.geojson").read_text())
    assert empty == {"type": "FeatureCollection", "features": []}


def test_coordinates_without_card_ids_keep_the_maps():
    frame = uniform_city_purchases(500, seed=3)
    analysis = step.analyse(frame, COLOMBIA)
    assert analysis["departments"] is not None and analysis["cpp"] is None
    assert step.missing_columns(frame) == {"maps": [], "cpp": ["card_id", "merchant_id",
                                                               "timestamp"]}


def test_results_and_summary_name_the_point_its_window_and_cards(skimmed):
    analysis = {"missing": {"maps": [], "cpp": []}, "departments": None,
                "hot_spots": pd.DataFrame(columns=step.HOT_SPOT_COLUMNS),
                "suspected_points": skimmed["points"], "cards_at_risk": skimmed["at_risk"]}
    results = json.loads(json.dumps(step.georeferencing_results(analysis, {"fdr": 0.05}),
                                    default=str))
    assert results["suspected_point_count"] == 1 and results["cards_at_risk"] == 3
    words = step.point_in_words(results["suspected_points"][0])
    assert words == ("Shop `1` in Bogotá, Bogotá: 10 cards that used it between 2024-01-11 and "
                     "2024-01-15 were later defrauded; 3 more are at risk.")
    assert "1 suspected points of compromise; 3 cards" in step.summary_sentences(results)


def _share_in_hot_spots(frame: pd.DataFrame, params: dict) -> dict[int, float]:
    """Per planted cash-out area, the share of its frauds inside hot-spot cells."""
    from cardfraud.geo.hot_spots import cell_of_purchases, cell_table

    onsite = frame[frame["online_order"] == 0]
    lon, lat = onsite["longitude"].to_numpy(float), onsite["latitude"].to_numpy(float)
    _, cell = np.unique(cell_of_purchases(lon, lat, COLOMBIA, 5.0), return_inverse=True)
    cells = cell_table(onsite, np.zeros(len(onsite), np.int16), COLOMBIA, 5.0, 30)
    hot = cells[(cells["q_value"] <= params["fdr"]) & (cells["frauds"] >= params["min_frauds"])]
    flagged = np.isin(cell, hot["cell"])
    area = onsite["cash_out_area_id"].to_numpy()
    return {int(a): float(flagged[area == a].mean()) for a in np.unique(area[area > 0])}


def test_detection_on_simulated_purchases_finds_the_planted_points_and_areas():
    """200,000 rows (the world's 20,000 shops need that many visits), captures made sure."""
    from cardfraud.simulator.simulate import simulate

    frame = simulate(rows=200_000, seed=7, capture_rate=1.0, captured_use_share=0.8)
    analysis = step.analyse(frame, COLOMBIA)
    planted = set(frame["compromise_point_id"].unique().tolist()) - {0}
    flagged = set(analysis["suspected_points"]["merchant_id"].tolist())
    assert len(planted) == 18
    assert len(planted & flagged) >= 0.6 * len(planted)
    assert len(planted & flagged) >= 0.8 * len(flagged)
    shares = _share_in_hot_spots(frame, {"fdr": 0.05, "min_frauds": 20})
    assert len(shares) == 3 and min(shares.values()) >= 0.5
    at_risk = analysis["cards_at_risk"]
    assert len(at_risk) and set(at_risk["merchant_id"]) <= flagged


def test_no_planted_point_no_suspected_point():
    from cardfraud.simulator.simulate import simulate

    frame = simulate(rows=200_000, seed=8, compromised_shops=0, compromised_online=0,
                     cash_out_areas=0)
    analysis = step.analyse(frame, COLOMBIA)
    assert analysis["suspected_points"].empty and analysis["hot_spots"].empty


def test_geo_command_writes_the_exports_and_refuses_a_bad_file(tmp_path, capsys):
    from conftest import make_transactions

    from cardfraud.__main__ import main
    from cardfraud.runner.artifacts import load_step_results

    frame = make_transactions(rows=len(skimmed_history()), seed=4)
    history = skimmed_history()
    for column in ("card_id", "merchant_id", "timestamp", "longitude", "latitude", "fraud",
                   "online_order"):
        frame[column] = history[column].to_numpy()
    frame.to_parquet(tmp_path / "extract.parquet")
    assert main(["geo", str(tmp_path / "extract.parquet"), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "1 suspected points of compromise; 3 cards" in printed
    assert sorted(pd.read_csv(tmp_path / "artifacts" / "geo" / "cards_at_risk.csv")["card_id"]) \
        == [11, 12, 13]
    assert (tmp_path / "artifacts" / "figures" / "geo_suspects_and_hot_spots.png").is_file()
    assert load_step_results("georeferencing", tmp_path)["cards_at_risk"] == 3
    assert main(["geo", str(tmp_path / "missing.csv")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["geo", str(tmp_path / "extract.parquet"), "--out", str(tmp_path / "other"),
                 "--boundaries", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err and not (tmp_path / "other").exists()


def test_purchases_without_coordinates_stay_off_the_maps_but_in_the_cpp(tmp_path):
    history = skimmed_history()
    history.loc[history.index % 7 == 0, ["latitude", "longitude"]] = np.nan
    history.loc[history["merchant_id"] == 5, ["latitude", "longitude"]] = np.nan
    analysis = step.analyse(history, COLOMBIA)
    unlocated = int(history["latitude"].isna().sum())
    assert analysis["unlocated"] == unlocated and analysis["departments"]["purchases"].sum() \
        == len(history) - unlocated
    assert analysis["suspected_points"]["merchant_id"].tolist() == [1]
    assert f"{unlocated:,} purchases have no coordinates" in step.scope_text(history)
    fig = maps.plot_purchases_and_frauds(history, COLOMBIA, gridsize=20)
    plt.close(fig)
    unplaced = pd.DataFrame({"suspected_point": ["P1"], "longitude": [np.nan],
                             "latitude": [np.nan]})
    assert exports.feature_collection(unplaced)["features"][0]["geometry"] is None


def test_run_georeferencing_saves_the_maps_exports_and_results_its_page_shows(tmp_path):
    from cardfraud.geo.page import run_georeferencing
    from cardfraud.runner.artifacts import load_step_results

    phases = []
    page = run_georeferencing(skimmed_history(), tmp_path, hot_spot_min_frauds=1,
                              phase=lambda name: phases.append(name) or nullcontext())
    assert sorted(page.figures) == ["geo_department_fraud_rates", "geo_purchases_and_frauds",
                                    "geo_suspects_and_hot_spots"]
    assert all(path.stat().st_size > 1000 and path.parent.name == "figures"
               for path in page.figures.values())
    assert page.suspected_points["merchant_id"].tolist() == [1]
    assert sorted(page.cards_at_risk["card_id"]) == [11, 12, 13]
    saved = load_step_results("georeferencing", tmp_path)
    assert saved["suspected_point_count"] == 1 and saved["cards_at_risk"] == 3
    assert saved["parameters"]["hot_spot_min_frauds"] == 1
    assert sorted(page.exports) == ["geo/cards_at_risk.csv", "geo/hot_spots.csv",
                                    "geo/hot_spots.geojson", "geo/suspected_points.csv",
                                    "geo/suspected_points.geojson"]
    assert all(path.is_file() for path in page.exports.values())
    assert "1 suspected points of compromise; 3 cards" in page.summary
    assert phases == ["boundaries", "analyse (departments, hot spots, CPP)", "maps (3, saved)",
                      "exports", "results"]


def test_run_georeferencing_without_coordinates_draws_no_map_and_refuses_bad_input(tmp_path):
    from cardfraud.geo.page import ParameterError, run_georeferencing

    history = skimmed_history().drop(columns=["latitude", "longitude"])
    page = run_georeferencing(history, tmp_path / "plain")
    assert page.figures == {} and page.departments is None and page.results["maps"] is False
    assert (tmp_path / "plain" / "artifacts" / "geo" / "hot_spots.geojson").is_file()
    with pytest.raises(ParameterError, match="geo.fdr 1.5"):
        run_georeferencing(history, tmp_path / "bad", fdr=1.5)
    with pytest.raises(geo_boundaries.BoundaryFileError):
        run_georeferencing(history, tmp_path / "bad", boundaries=str(tmp_path / "nowhere"))
    assert not (tmp_path / "bad").exists()  # refused before anything was written


def test_cpp_leaves_out_purchases_with_no_merchant_and_still_finds_the_point():
    history = skimmed_history()
    history["merchant_id"] = history["merchant_id"].astype("float64")
    history.loc[history.index[::11], "merchant_id"] = np.nan  # a raw extract's empty merchants
    cpp = common_points_of_purchase(history)
    assert pd.notna(cpp["merchant_ids"]).all()
    assert 1 in set(cpp["merchant_ids"][cpp["suspects"]])
