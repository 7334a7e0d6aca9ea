"""The georeferencing step: what the data allows, the analyses, the results and their words.

``analyse`` runs every analysis the columns allow and returns the tables the page shows and
the exports hold; without coordinates there is no map and no hot spot, without card ids,
merchant ids or timestamps no common point of purchase (the page says which column is missing).
"""

from __future__ import annotations

import pandas as pd

from ..report.locale_format import format_date
from ..report.markup import code, join, sentence
from ..report.translate import _
from .boundaries import Boundaries, department_index
from .cpp import common_points_of_purchase
from .hot_spots import HOT_SPOT_COLUMNS, card_present, fraud_rate_by_department, hot_spots
from .suspects import AT_RISK_COLUMNS, SUSPECT_COLUMNS, cards_at_risk, suspected_points

COORDINATES = ("latitude", "longitude")
CPP_COLUMNS = ("card_id", "merchant_id", "timestamp")
STEP = "georeferencing"


def missing_columns(transactions) -> dict[str, list[str]]:
    """Return, per analysis (``maps``, ``cpp``), the columns it needs and the data lacks.

    Only the column names are read, so a Spark DataFrame does as well.
    """
    absent = [c for c in (*COORDINATES, *CPP_COLUMNS) if c not in transactions.columns]
    return {"maps": [c for c in COORDINATES if c in absent],
            "cpp": [c for c in (*CPP_COLUMNS, *COORDINATES) if c in absent]}


def scope_text(transactions: pd.DataFrame) -> str:
    """Return what this data allows, naming each missing column and what it turns off."""
    missing = missing_columns(transactions)
    unlocated = (0 if missing["maps"] else
                 int(transactions[list(COORDINATES)].isna().any(axis=1).sum()))
    return scope_sentences(len(transactions), missing, unlocated)


def scope_sentences(rows: int, missing: dict[str, list[str]], unlocated: int) -> str:
    """Return the scope text from the purchases, the missing columns and those unplaced."""
    lines = [sentence(_("{rows:,} purchases."), rows=rows)]
    if missing["maps"]:
        lines.append(sentence(_("No {cols} column: no maps, no fraud rate per department and no "
                                "hot spots."), cols=join(", ", (code(c) for c in missing["maps"]))))
    if missing["cpp"]:
        lines.append(sentence(_("No {cols} column: no common point of purchase, so no suspected "
                                "points and no cards at risk."),
                              cols=join(", ", (code(c) for c in missing["cpp"]))))
    if not missing["maps"] and unlocated:
        lines.append(sentence(_("{n:,} purchases have no coordinates (none from the "
                                "provider): the maps and hot spots leave them out, the common "
                                "point of purchase keeps them."), n=unlocated))
    if not missing["maps"] and not missing["cpp"]:
        lines.append(_("They carry coordinates, card and merchant ids and timestamps: every "
                       "analysis on this page applies."))
    elif missing["maps"] and missing["cpp"]:
        lines.append(_("The distance-from-home analysis, which needs none of these, is on the "
                       "exploratory page."))
    return " ".join(lines)


def analyse(transactions: pd.DataFrame, boundaries: Boundaries, fdr: float = 0.05,
            hot_spot_cell_km: float = 5.0, hot_spot_min_purchases: int = 30,
            cpp_lookback_days: float = 30.0, cpp_min_defrauded: int = 3,
            hot_spot_channel: str = "onsite", hot_spot_min_frauds: int = 40) -> dict:
    """Return the department rates, hot spots, suspected points and cards at risk.

    Tables the columns do not allow are empty with their columns, so the exports always exist.
    """
    missing = missing_columns(transactions)
    result = {"missing": missing, "departments": None, "located": 0, "unlocated": 0,
              "hot_spots": pd.DataFrame(columns=HOT_SPOT_COLUMNS),
              "suspected_points": pd.DataFrame(columns=SUSPECT_COLUMNS),
              "cards_at_risk": pd.DataFrame(columns=AT_RISK_COLUMNS), "cpp": None}
    if missing["maps"]:
        return result
    located = transactions[list(COORDINATES)].notna().all(axis=1).to_numpy()
    placed = transactions[located] if not located.all() else transactions
    department = department_index(boundaries, placed["longitude"], placed["latitude"])
    result["located"], result["unlocated"] = int(located.sum()), int((~located).sum())
    result["departments"] = fraud_rate_by_department(placed, department, boundaries)
    rows = card_present(placed, hot_spot_channel)
    result["hot_spots"] = hot_spots(placed[rows], department[rows], boundaries,
                                    hot_spot_cell_km, hot_spot_min_purchases, fdr,
                                    hot_spot_min_frauds)
    if not missing["cpp"]:
        cpp = common_points_of_purchase(transactions, cpp_lookback_days, fdr, cpp_min_defrauded)
        result["cpp"] = cpp
        result["suspected_points"] = suspected_points(transactions, cpp, boundaries)
        result["cards_at_risk"] = cards_at_risk(cpp, result["suspected_points"])
    return result


def _point_record(row: dict) -> dict:
    """Return one suspected point as the results and the summary quote it."""
    return {"suspected_point": row["suspected_point"], "merchant_id": row["merchant_id"],
            "kind": row["kind"], "department": row["department"], "city": row["city"],
            "longitude": row["longitude"], "latitude": row["latitude"],
            "window_start": pd.Timestamp(row["window_start"]).isoformat(),
            "window_end": pd.Timestamp(row["window_end"]).isoformat(),
            "cards_visited": row["cards_visited"], "cards_defrauded": row["cards_defrauded"],
            "cards_at_risk": row["cards_at_risk"], "q_value": row["q_value"]}


def georeferencing_results(analysis: dict, params: dict, top: int = 10,
                           min_purchases: int = 30) -> dict:
    """Return the step's headline results for run.json and the board summary.

    The departments quoted are the ``top`` by fraud rate among those with at least
    ``min_purchases`` purchases.
    """
    spots, points = analysis["hot_spots"], analysis["suspected_points"]
    at_risk = analysis["cards_at_risk"]
    departments = analysis["departments"]
    return {
        "missing_columns": analysis["missing"],
        "maps": not analysis["missing"]["maps"], "cpp": not analysis["missing"]["cpp"],
        "purchases_with_coordinates": analysis.get("located", 0),
        "purchases_without_coordinates": analysis.get("unlocated", 0),
        "parameters": params,
        "departments": ([] if departments is None else departments[
            departments["purchases"] >= min_purchases].head(top)[
            ["department", "purchases", "frauds", "fraud_rate"]].to_dict(orient="records")),
        "hot_spot_count": len(spots),
        "hot_spots": spots.head(top)[["hot_spot", "longitude", "latitude", "department", "city",
                                      "purchases", "frauds", "fraud_rate", "q_value"]
                                     ].to_dict(orient="records"),
        "suspected_point_count": len(points),
        "suspected_points": [_point_record(r) for r in points.head(top).to_dict(orient="records")],
        "cards_at_risk": int(at_risk["card_id"].nunique()) if len(at_risk) else 0,
    }


def summary_sentences(results: dict) -> str:
    """Return the step's findings as a short markdown list in the team's words."""
    lines = []
    if results["maps"]:
        lines.append(sentence(_("- {n:,} hot spots: map cells with a fraud rate significantly "
                                "above the rest (false discovery rate {fdr:.0%})."),
                              n=results["hot_spot_count"], fdr=results["parameters"]["fdr"]))
    if results["cpp"]:
        lines.append(sentence(_("- {n:,} suspected points of compromise; {cards:,} cards visited "
                                "one in its window and show no fraud yet (the reissue list)."),
                              n=results["suspected_point_count"],
                              cards=results["cards_at_risk"]))
        for point in results["suspected_points"][:3]:
            lines.append("  - " + point_in_words(point))
    if not lines:
        lines.append(_("- No georeferenced analysis: the data lacks the columns named above."))
    return "\n".join(lines)


def point_in_words(point: dict) -> str:
    """Say where a suspected point is, when it captured cards and how many were defrauded."""
    place = join(", ", (p for p in (point["city"], point["department"]) if p))
    return sentence(_("{kind} {merchant} in {place}: {defrauded:,} cards that used it between "
                      "{start} and {end} were later defrauded; {at_risk:,} more are at risk."),
                    kind=_("Shop") if point["kind"] == "shop" else _("Online merchant"),
                    merchant=code(point["merchant_id"]), place=place,
                    defrauded=point["cards_defrauded"], start=format_date(point["window_start"]),
                    end=format_date(point["window_end"]), at_risk=point["cards_at_risk"])


def build_parser():
    """The options of ``python -m cardfraud geo``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m cardfraud geo",
        description="Georeference an extract: hot spots, suspected points of compromise, cards "
                    "at risk; writes GeoJSON and CSV under <out>/artifacts/geo/, the three maps "
                    "under <out>/artifacts/figures/ and the step's results.")
    parser.add_argument("path", help="CSV or Parquet extract (validated like the load step)")
    parser.add_argument("--out", default=".", help="output dir (default: the current folder)")
    parser.add_argument("--boundaries", default=None,
                        help="folder with departments.geojson and outline.geojson "
                             "(default: the shipped Colombia files)")
    parser.add_argument("--fdr", type=float, default=0.05)
    parser.add_argument("--lookback-days", type=float, default=30.0)
    return parser


def cli(argv: list[str] | None = None) -> int:
    """``python -m cardfraud geo``: run the step's one call on an extract, print the findings.

    Returns 0 when the analysis ran, 2 on a bad file or parameter (nothing written then).
    """
    import sys
    from pathlib import Path

    from ..data.checks import DataValidationError
    from ..data.cleaning import load_file
    from ..report.markup import plain_text
    from .boundaries import BoundaryFileError
    from .page import ParameterError, run_georeferencing

    args = build_parser().parse_args(argv)
    try:
        if not 0 < args.fdr < 1 or args.lookback_days <= 0:
            raise ParameterError(f"--fdr {args.fdr} must lie in (0, 1) and --lookback-days "
                             f"{args.lookback_days} be positive")
        transactions = load_file(args.path)[0]
        # the boundaries are read before anything is written: a bad file leaves --out untouched
        page = run_georeferencing(transactions, Path(args.out).resolve(),
                                  boundaries=args.boundaries, fdr=args.fdr,
                                  cpp_lookback_days=args.lookback_days)
    except (DataValidationError, BoundaryFileError, OSError, ParameterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(plain_text(page.scope))
    print(plain_text(page.summary))
    print("written: " + ", ".join(str(path) for path in page.exports.values()))
    return 0
