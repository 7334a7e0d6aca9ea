"""Where a raw extract comes from (a file, or the simulator's purchases) and what the page says.

``load.source: raw`` with ``load.path``: the bank's raw purchases (:mod:`cardfraud.data.raw`);
without a path: the simulator's purchases written as a raw extract and derived back, so the
load page can show how far the derived inputs are from the simulator's own
(:func:`cardfraud.simulator.raw_extract.compare_with_simulator`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pandas as pd

from ..report.locale_format import fill
from ..report.translate import N_, _, translate
from .files import file_fingerprint
from .raw import INPUT_NEEDS, load_raw_extract
from .schema import FEATURES

RAW_COLUMN_MEANINGS = {
    "entry_mode": N_("how the card was read, in the bank's code (raw extract; load.codes)"),
    "verification": N_("how the cardholder was verified, in the bank's code (raw extract)"),
    "channel": N_("onsite or online, in the bank's code"),
    "category": N_("the merchant's category (raw extract)"),
}


def raw_from_file(frame: pd.DataFrame, path, options: dict,
                  join_coordinates: Callable | None) -> tuple[pd.DataFrame, object, dict]:
    """Derive the inputs of a raw extract read from ``path``; return frame, report and ``data``."""
    frame, report, derivation = load_raw_extract(frame, str(path), join_coordinates=join_coordinates,
                                                 **options)
    data = {"source": "raw", "path": str(os.path.abspath(path)),
            "fingerprint": file_fingerprint(path), "columns": dict(options.get("columns") or {}),
            "coordinates": derivation.pop("coordinates"), "derivation": derivation}
    if data["coordinates"] is None:
        data.pop("coordinates")
    return frame, report, data


def raw_from_simulator(simulator: dict, options: dict, fingerprint: str
                       ) -> tuple[pd.DataFrame, object, dict]:
    """Simulate, write the purchases as a raw extract (homes on the rows) and derive them back."""
    from ..simulator.raw_extract import compare_with_simulator, raw_extract
    from ..simulator.simulate import simulate

    simulated = simulate(**simulator)
    raw, cardholders = raw_extract(simulated, seed=int(simulator.get("seed") or 0))
    raw = raw.merge(cardholders, on="card_id", how="left")
    options = {**options, "cardholders_path": None}
    frame, report, derivation = load_raw_extract(raw, "the simulator's raw extract", **options)
    derivation.pop("coordinates")
    comparison = compare_with_simulator(frame, simulated)
    derivation["simulator_comparison"] = comparison.reset_index().to_dict(orient="records")
    data = {"source": "raw", "simulator": dict(simulator), "fingerprint": fingerprint,
            "derivation": derivation}
    return frame, report, data


def derivation_table(data: dict) -> pd.DataFrame:
    """Return one row per model input: derived or absent, rows unknown, and how (or why not)."""
    derivation = data.get("derivation")
    if not derivation:
        return pd.DataFrame([("all seven", "read from the extract (load.source is not raw)", "")],
                            columns=["input", "status", "how"]).set_index("input")
    rows = []
    for name in FEATURES:
        found = derivation["inputs"][name]
        status, how = found["status"], translate(found["how"])
        if status == "derived" and found["unknown_rows"]:
            status = fill(_("derived; unknown on {rows:,} rows (kept, left empty)"),
                          rows=found["unknown_rows"])
        elif status == "absent":
            status = _("absent (unknown: not invented)")
            how = fill(_("the extract lacks {needs}"), needs=translate(INPUT_NEEDS[name]))
        rows.append((name, status, how))
    return pd.DataFrame(rows, columns=["input", "status", "how"]).set_index("input")


def homes_table(data: dict) -> pd.DataFrame:
    """Return where the homes came from and how many cards have none."""
    homes = (data.get("derivation") or {}).get("homes")
    if not homes:
        return pd.DataFrame([("homes", "not used (load.source is not raw)")],
                            columns=["check", "result"]).set_index("check")
    examples = ", ".join(homes["cards_without_home_examples"])
    rows = [("homes from", translate(homes["source"])
             + (f" ({homes['path']})" if homes["path"] else "")),
            ("cards in the purchases", f"{homes['cards']:,}"),
            ("cards without a home (distance from home unknown)",
             f"{homes['cards_without_home']:,}"
             + (fill(_(" (e.g. {examples})"), examples=examples) if examples else "")),
            ("purchases without a home", f"{homes['rows_without_home']:,}")]
    if homes["city_table"]:
        missed = ", ".join(homes["places_not_in_table"]) or _("none")
        rows += [("homes placed by city or postal code", f"{homes['placed_by_city']:,} "
                  f"({homes['city_table']})"), ("places not in the city table", missed)]
    rows.append(("order of each card's purchases", derivation_order(data)))
    return pd.DataFrame(rows, columns=["check", "result"]).set_index("check")


def derivation_order(data: dict) -> str:
    """The tie rule and what the out-of-order rule did."""
    derivation = data["derivation"]
    moved = derivation["purchases_out_of_order"]
    return (f"{translate(derivation['order'])}; load.out_of_order={derivation['out_of_order']}"
            + (fill(_(" ({moved:,} purchases listed out of time order were sorted)"), moved=moved)
               if moved else ""))


def simulator_comparison_table(data: dict) -> pd.DataFrame:
    """Return the derived inputs against the simulator's own columns (one line when not simulated)."""
    records = (data.get("derivation") or {}).get("simulator_comparison")
    if not records:
        return pd.DataFrame([("all", N_("not compared: the inputs were not derived from the "
                                 "simulator's raw extract (load.source=raw without load.path)"))],
                            columns=["input", "why"]).set_index("input")
    return pd.DataFrame(records).set_index("input").round(4)



def describe_raw_source(data: dict, report, fingerprint: str) -> str:
    """Return the load page's opening sentences for the raw path: where from, what was derived."""
    from ..report.markup import code, sentence
    from ..report.translate import _

    if data.get("path"):
        origin = sentence(_("the bank's raw extract {path} (fingerprint {fingerprint})"),
                          path=code(data["path"]), fingerprint=fingerprint)
    else:
        origin = sentence(_("the built-in simulator's purchases written as a raw extract (seed "
                            "{seed}, fingerprint {fingerprint})"),
                          seed=data.get("simulator", {}).get("seed", "default"),
                          fingerprint=fingerprint)
    inputs = data["derivation"]["inputs"]
    derived = [name for name, found in inputs.items() if found["status"] == "derived"]
    absent = [name for name, found in inputs.items() if found["status"] == "absent"]
    return sentence(
        _("**{rows:,} purchases** were loaded from {origin} (**load path: raw**). {read:,} rows "
          "were read and {dropped:,} were removed by cleaning. The model inputs were derived "
          "from each card's earlier purchases: {derived} derived; {absent} absent (unknown, "
          "not invented)."), rows=data["rows"], origin=origin, read=report.rows_read,
        dropped=report.rows_read - report.rows_kept, derived=len(derived),
        absent=", ".join(absent) or _("none"))


def add_raw_arguments(parser) -> None:
    """The ``python -m cardfraud load`` options of the raw path."""
    parser.add_argument("--source", default="file", choices=["file", "raw"],
                        help="raw: derive the seven inputs from raw purchases (detected when "
                             "the file has none of them)")
    parser.add_argument("--cardholders", default=None, metavar="FILE",
                        help="card_id and the home (load.cardholders_path)")
    parser.add_argument("--cardholder-column", action="append", default=[],
                        metavar="NAME=HEADER", help="the cardholder file's header holding a "
                        "column, e.g. home_city=CIUDAD (repeatable; load.cardholder_columns)")
    parser.add_argument("--cities", default=None, metavar="FILE",
                        help="city table placing home cities (load.cities_path)")
    parser.add_argument("--codes", default=None, metavar="YAML",
                        help="the bank's codes, e.g. '{entry_mode: {\"051\": chip}}' (load.codes)")
    parser.add_argument("--out-of-order", default="refuse", choices=["refuse", "sort"],
                        help="a card's purchases listed out of time order (load.out_of_order)")


def raw_arguments(args, parser) -> dict:
    """Return the raw path's keyword arguments of ``load_transactions`` from the options."""
    import yaml

    codes = None
    if args.codes:
        try:
            codes = yaml.safe_load(args.codes)
        except yaml.YAMLError as exc:
            parser.error(f"--codes is not YAML: {str(exc).splitlines()[0]}")
    holder_columns = dict(pair.partition("=")[::2] for pair in args.cardholder_column)
    if any(not name.strip() or not header.strip() for name, header in holder_columns.items()):
        parser.error("--cardholder-column: write NAME=HEADER, e.g. home_city=CIUDAD")
    return {"source": args.source, "cardholders_path": args.cardholders,
            "cardholder_columns": {n.strip(): h.strip() for n, h in holder_columns.items()},
            "cities_path": args.cities, "codes": codes, "out_of_order": args.out_of_order}
