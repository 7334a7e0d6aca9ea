"""The load step: pick the source (simulator or file), validate, clean, profile, hand on.

Writes ``artifacts/transactions.parquet`` and ``artifacts/data_profile.json`` and the step's
results (``data``: source, rows, fingerprint) merged into run.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import asdict

import pandas as pd

from ..engines import is_spark_frame
from ..report.locale_format import fill
from ..report.markup import code, plain_text, sentence
from ..report.translate import _, translate
from ..runner.artifacts import (
    artifact_path,
    save_step_results,
    transactions_path,
    write_json_atomic,
)
from ..runner.atomic_write import atomic_path
from ..runner.contract import DATA_PROFILE
from . import raw_source
from .checks import DataValidationError
from .cleaning import CleaningReport, validate_transactions
from .column_mapping import apply_column_mapping, mapping_argument
from .context import context_columns_report, context_columns_table
from .coordinates import provider_coordinates_join
from .files import file_fingerprint, read_transactions
from .raw import is_raw_extract
from .schema import CONTINUOUS_FEATURES, REQUIRED_COLUMNS, TARGET, compact_dtypes, inputs_record

COLUMN_MEANINGS = {
    "distance_from_home": "km from the cardholder's home to where the purchase happened",
    "distance_from_last_transaction": "km from the cardholder's previous purchase",
    "ratio_to_median_purchase_price": "purchase amount over the cardholder's median amount",
    "repeat_retailer": "1 when the merchant is one the cardholder has bought from before",
    "used_chip": "1 when an EMV cryptogram was present (chip onsite, tokenized wallet online)",
    "used_pin_number": "1 when the cardholder was verified (PIN onsite, one-time code online)",
    "online_order": "1 for an online (card-not-present) purchase, 0 for onsite",
    "fraud": "1 when the purchase was confirmed fraudulent",
    "transaction_id": "the purchase's id in the core system (joins the provider's coordinates)",
    "timestamp": "date and time of the purchase",
    "card_id": "the card used",
    "merchant_id": "the merchant (shop or online store) paid",
    "amount": "purchase amount",
    "latitude": "where the purchase happened, degrees north",
    "longitude": "where the purchase happened, degrees east",
    "city": "the city of the purchase",
    "home_latitude": "the cardholder's home, degrees north (simulated data)",
    "home_longitude": "the cardholder's home, degrees east (simulated data)",
    "captured_at": "when the geolocation provider captured the point",
    "accuracy_m": "the provider's accuracy of the point, metres",
    **raw_source.RAW_COLUMN_MEANINGS,
}


def simulator_fingerprint(simulator_params: dict) -> str:
    """Return ``sha256:<hex>`` of the simulator parameters and seed (the data's identity)."""
    canonical = json.dumps(simulator_params, sort_keys=True, default=str)
    return f"sha256:{hashlib.sha256(canonical.encode()).hexdigest()}"


def load_transactions(
    source: str = "simulated",
    path: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    on_missing: str = "drop",
    duplicates: str = "keep",
    simulator: dict | None = None,
    thousands: str | None = None,
    columns: dict | None = None,
    coordinates_path: str | None = None,
    allow_missing_inputs: bool = False,
    cardholders_path: str | None = None,
    cardholder_columns: dict | None = None,
    cities_path: str | None = None,
    codes: dict | None = None,
    out_of_order: str = "refuse",
    engine: str = "pandas",
    spark: dict | None = None,
    output_dir=None,
) -> tuple[pd.DataFrame, CleaningReport, dict]:
    """Load the transactions from a file (when ``path`` is given) or the simulator.

    ``engine``/``spark`` are ``common.engine``/``common.spark``: on Spark the purchases are
    read and validated by :func:`cardfraud.engines.spark_load.load_on_spark` (a Spark
    DataFrame is returned; ``output_dir`` holds the chunked simulator's folder).

    ``columns`` maps canonical names to the extract's own headers (``load.columns``);
    ``coordinates_path`` names the geolocation provider's file, joined on ``transaction_id``.
    ``source="raw"`` (or a file with no inputs and the raw columns) derives the inputs from
    raw purchases (:mod:`cardfraud.data.raw`), homes and the bank's ``codes``.
    ``allow_missing_inputs``: a file may lack some of the seven inputs (they stay absent).

    Returns:
        The clean frame, the cleaning report and ``data`` = {source (simulated, file or raw),
        path, rows, fingerprint, ``coordinates`` (the join's counts), ``derivation`` (raw)}.
    """
    if engine == "spark":
        from ..engines import engine_settings
        from ..engines.spark_load import load_on_spark

        return load_on_spark(
            engine_settings({"engine": engine, "spark": spark or {}}), source, path, sep,
            decimal, on_missing, duplicates, simulator, output_dir, thousands=thousands,
            columns=columns, coordinates_path=coordinates_path,
            allow_missing_inputs=allow_missing_inputs, cardholders_path=cardholders_path,
            cardholder_columns=cardholder_columns, cities_path=cities_path, codes=codes)
    raw_options = {"codes": codes, "cardholders_path": cardholders_path, "columns": columns,
                   "cardholder_columns": cardholder_columns, "cities_path": cities_path,
                   "on_missing": on_missing, "duplicates": duplicates, "out_of_order": out_of_order}
    join = provider_coordinates_join(coordinates_path)
    if path:
        read = apply_column_mapping(read_transactions(path, sep=sep, decimal=decimal,
                                                      thousands=thousands), columns, str(path))
        if source == "raw" or is_raw_extract(read.columns):
            frame, report, data = raw_source.raw_from_file(read, path, raw_options, join)
            join = None  # joined before the distances were derived
        else:
            frame, report = validate_transactions(read, str(path), on_missing=on_missing,
                                                  duplicates=duplicates,
                                                  allow_missing_inputs=allow_missing_inputs)
            data = {"source": "file", "path": str(os.path.abspath(path)),
                    "fingerprint": file_fingerprint(path), "columns": dict(columns or {})}
    elif source == "raw":
        params = dict(simulator or {})
        frame, report, data = raw_source.raw_from_simulator(params, raw_options,
                                                            simulator_fingerprint(params))
    elif source == "simulated":
        from ..simulator.simulate import simulate

        params = dict(simulator or {})
        raw = simulate(**params)
        report = CleaningReport(source="simulator", rows_read=len(raw), rows_kept=len(raw))
        report.extra_columns = [c for c in raw.columns if c not in REQUIRED_COLUMNS]
        frame = compact_dtypes(raw)
        data = {"source": "simulated", "simulator": params,
                "fingerprint": simulator_fingerprint(params)}
    else:
        raise DataValidationError(
            f"load.source is {source!r} and no load.path is given: set load.path=FILE "
            f"(CSV or Parquet) or load.source=simulated"
        )
    if join:
        frame, data["coordinates"] = join(frame, report.source)
    data["rows"] = len(frame)
    return frame, report, data


def data_profile(frame: pd.DataFrame, report: CleaningReport, data: dict) -> dict:
    """Return the data profile: rows, columns, missing, duplicates, class balance, statistics."""
    if is_spark_frame(frame):
        from ..engines.spark_load import spark_data_profile

        return spark_data_profile(frame, report, data)
    frauds = int(frame[TARGET].sum())
    continuous = [c for c in CONTINUOUS_FEATURES if c in frame]  # an extract may lack some
    stats = frame[continuous].describe(percentiles=[0.1, 0.5, 0.9, 0.99]).T
    return {
        **inputs_record(frame),
        "data": data,
        "rows": len(frame),
        "columns": {c: str(t) for c, t in frame.dtypes.items()},
        "extra_columns": list(report.extra_columns),
        "cleaning": asdict(report),
        "class_balance": {"legitimate": len(frame) - frauds, "fraud": frauds,
                          "fraud_rate": frauds / len(frame)},
        "flag_shares": {c: float(frame[c].mean()) for c in REQUIRED_COLUMNS[3:] if c in frame},
        "summary_statistics": stats.round(4).to_dict(orient="index"),
        "context_columns": context_columns_report(frame.columns),
    }


def write_load_outputs(frame: pd.DataFrame, profile: dict, output_dir=None) -> dict:
    """Write the cleaned parquet, the profile and the step results; return the paths."""
    target = transactions_path(output_dir)
    if is_spark_frame(frame):  # a folder written by the executors
        from ..engines.spark_load import write_handed_on

        write_handed_on(frame, target)
    else:
        with atomic_path(target) as tmp:
            frame.to_parquet(tmp, index=False)
    profile_path = write_json_atomic(artifact_path(DATA_PROFILE, output_dir), profile)
    save_step_results(
        "load",
        {"data": profile["data"], "rows": profile["rows"],
         "fraud_rate": profile["class_balance"]["fraud_rate"],
         "rows_dropped_missing": profile["cleaning"]["missing_rows_dropped"],
         "duplicate_rows": profile["cleaning"]["duplicate_rows"],
         "coordinates": profile["data"].get("coordinates"),
         "context_columns": profile["context_columns"], **inputs_record(frame.columns)},
        output_dir,
    )
    return {"transactions": str(target), "profile": str(profile_path)}


def handed_on_transactions(frame, output_dir=None):
    """Return the purchases the page goes on showing: a pandas frame as it is; on Spark the
    folder just handed on, read back, once the chunked simulator's folder is deleted (it would
    otherwise be a second copy of the data in the output dir)."""
    if not is_spark_frame(frame):
        return frame
    from ..eda.headlines import read_loaded_transactions
    from ..engines.spark_load import remove_simulated_purchases

    remove_simulated_purchases(output_dir)
    return read_loaded_transactions(output_dir)


def describe_source(data: dict, report: CleaningReport) -> str:
    """Return two sentences, in a risk manager's words, on where the data came from."""
    fingerprint = code(f"{data['fingerprint'][:19]}…")
    if data["source"] == "raw":
        return raw_source.describe_raw_source(data, report, fingerprint)
    if data["source"] == "file":
        origin = sentence(_("the extract {path} (fingerprint {fingerprint})"),
                          path=code(data["path"]), fingerprint=fingerprint)
    else:
        origin = sentence(_("the built-in transaction simulator (seed {seed}, fingerprint "
                            "{fingerprint})"), seed=data.get("simulator", {}).get("seed", "default"),
                          fingerprint=fingerprint)
    return sentence(_("**{rows:,} purchases** were loaded from {origin} (**load path: {kind}**: "
                      "the seven inputs as given). {read:,} rows were read and {dropped:,} were "
                      "removed by cleaning."), rows=data["rows"], origin=origin, kind=data["source"],
                    read=report.rows_read, dropped=report.rows_read - report.rows_kept)


def schema_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Return one row per column: type, meaning, and whether the analysis requires it."""
    types = (list(dict(frame.dtypes).values()) if is_spark_frame(frame)  # Spark's type names
             else [str(t) for t in frame.dtypes])
    return pd.DataFrame({
        "column": frame.columns,
        "type": types,
        "required": [c in REQUIRED_COLUMNS for c in frame.columns],
        "meaning": [COLUMN_MEANINGS.get(c, "context carried along (not a model input)")
                    for c in frame.columns],
    }).set_index("column")


def data_quality_table(report: CleaningReport) -> pd.DataFrame:
    """Return the data-quality checks and what was found or done for each."""
    missing = ", ".join(f"{c}: {n}" for c, n in report.missing_by_column.items()) or _("none")
    converted = (", ".join(f"{c} ({translate(how)})" for c, how in report.converted_columns.items())
                 or _("none"))
    rows = [
        ("rows read", f"{report.rows_read:,}"),
        ("required columns present", report.required_columns),
        ("rows with missing values", f"{report.rows_with_missing:,} ({missing})"),
        ("rows dropped for missing values", f"{report.missing_rows_dropped:,}"),
        ("duplicated rows", fill(_("{n:,} (dropped: {dropped:,})"), n=report.duplicate_rows,
                                 dropped=report.duplicate_rows_dropped)),
        ("columns converted", converted),
        ("infinite, negative or out-of-range numbers", "none"),
        ("flags outside 0/1", "none"),
        ("extra columns kept", ", ".join(report.extra_columns) or "none"),
        ("rows kept for analysis", f"{report.rows_kept:,}"),
    ]
    return pd.DataFrame(rows, columns=["check", "result"]).set_index("check")


def coordinates_table(data: dict) -> pd.DataFrame:
    """Return what the join of the provider's coordinates found (one line when there was none)."""
    found = data.get("coordinates")
    if not found:
        return pd.DataFrame([("coordinates file", "none (load.coordinates_path is not set)")],
                            columns=["check", "result"]).set_index("check")
    orphans = f"{found['orphan_coordinates']:,}"
    if found["orphan_examples"]:
        orphans += f" (e.g. ids {', '.join(found['orphan_examples'])})"
    rows = [
        ("coordinates file", found["path"]),
        ("coordinate rows read", f"{found['rows']:,}"),
        ("purchases matched", f"{found['matched']:,}"),
        ("purchases without coordinates (kept)", f"{found['without_coordinates']:,}"),
        ("orphan coordinates (ids in no purchase, not joined)", orphans),
        (f"matched points outside the country ({found['country_check']}; counted, kept)",
         f"{found['outside_country']:,}"),
    ]
    return pd.DataFrame(rows, columns=["check", "result"]).set_index("check")


def purchases_sample(frame, rows: int = 8) -> pd.DataFrame:
    """Return a few purchases to show on the page (seeded; on Spark a bounded sample)."""
    if is_spark_frame(frame):
        from ..engines.spark_load import sample_of_purchases

        return sample_of_purchases(frame, rows)
    return frame.sample(n=min(rows, len(frame)), random_state=0)


def class_balance_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Return purchases and share for legitimate and fraudulent purchases."""
    if is_spark_frame(frame):
        from ..engines.spark_eda import class_balance

        counts = class_balance(frame)["purchases"].reset_index(drop=True)
    else:
        counts = frame[TARGET].value_counts().reindex([0, 1], fill_value=0)
    return pd.DataFrame({
        "class": ["legitimate", "fraud"],
        "purchases": counts.to_numpy(),
        "share %": (100 * counts / counts.sum()).round(2).to_numpy(),
    }).set_index("class")


def cli(argv: list[str] | None = None) -> int:
    """``python -m cardfraud load --input FILE``: validate an extract and print its profile."""
    parser = argparse.ArgumentParser(prog="cardfraud load", description=cli.__doc__)
    parser.add_argument("--input", required=True, help="CSV or Parquet extract to validate")
    parser.add_argument("--sep", default=None, help="CSV separator (guessed when omitted)")
    parser.add_argument("--decimal", default=None, help="CSV decimal mark (guessed when omitted)")
    parser.add_argument("--thousands", default=None,
                        help="CSV thousands separator, e.g. '.' for 1.234,5 (default: none)")
    parser.add_argument("--on-missing", default="drop", choices=["drop", "fail"])
    parser.add_argument("--column", action="append", default=[], metavar="NAME=HEADER",
                        help="the file's header holding a column, e.g. card_id=NUM_TARJETA "
                             "(repeatable; load.columns)")
    parser.add_argument("--coordinates", default=None, metavar="FILE",
                        help="the geolocation provider's file (transaction_id, latitude, "
                             "longitude), joined on transaction_id (load.coordinates_path)")
    raw_source.add_raw_arguments(parser)
    args = parser.parse_args(argv)
    try:
        frame, report, data = load_transactions(path=args.input, sep=args.sep,
                                                decimal=args.decimal, on_missing=args.on_missing,
                                                thousands=args.thousands,
                                                columns=mapping_argument(args.column, parser),
                                                coordinates_path=args.coordinates,
                                                **raw_source.raw_arguments(args, parser))
    except DataValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(plain_text(describe_source(data, report)))
    print(data_quality_table(report).to_string())
    if data["source"] == "raw":
        print(raw_source.derivation_table(data).to_string())
        print(raw_source.homes_table(data).to_string())
    print(coordinates_table(data).to_string())
    print(context_columns_table(frame.columns).to_string())
    print(class_balance_table(frame).to_string())
    return 0
