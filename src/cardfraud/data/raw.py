"""The raw path of the load step: the bank's own purchases, from which the seven inputs are derived.

A raw extract has ``card_id``, ``timestamp``, ``amount`` and ``fraud`` and, where the bank has
them, ``merchant_id``, ``latitude``/``longitude`` (or the provider's coordinates file), the
card-read mode ``entry_mode``, the ``verification`` method, the ``channel`` and the merchant
``category``, in the bank's codes (:mod:`cardfraud.data.codes`); homes come from
:mod:`cardfraud.data.cardholders`. ``load.source: raw`` selects this path; a file with none
of the seven inputs and the raw columns is detected as raw too.

Refused, in one line naming the file, the column and the rows: a missing raw column, an
amount of zero or below, a timestamp that is not a date, an unknown code, and (with
``load.out_of_order: refuse``, the default) a card whose purchases are not in time order in
the file: the file's order breaks ties between purchases at the same time, so a file whose
order contradicts its times is not trusted (``sort`` puts them in time order instead).
Rows without a card, time, amount or fraud label follow ``load.on_missing``. The derivations
are :mod:`cardfraud.data.derive`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..report.locale_format import fill
from ..report.translate import N_, _
from .cardholders import HOME_COLUMNS, resolve_homes
from .checks import (
    VALUE_BOUNDS,
    DataValidationError,
    check_bounds,
    require_columns,
    rows_text,
    to_timestamps,
)
from .cleaning import (
    CleaningReport,
    _check_two_classes,
    _handle_missing,
    _to_flag,
    no_channel_error,
    to_number,
)
from .codes import (
    CATEGORY,
    FLAG_MEANINGS,
    ONLINE_CATEGORY_SUFFIX,
    RAW_CODE_COLUMNS,
    code_tables,
    decode,
    flag_from_codes,
    online_from_category,
)
from .derive import derive_inputs
from .schema import (
    AMOUNT,
    CARD_ID,
    FEATURES,
    HOME_COORDINATES,
    LATITUDE,
    LONGITUDE,
    MERCHANT_ID,
    TARGET,
    TIMESTAMP,
    compact_dtypes,
)

RAW_REQUIRED = [CARD_ID, TIMESTAMP, AMOUNT, TARGET]
RAW_COLUMNS = [*RAW_REQUIRED, MERCHANT_ID, LATITUDE, LONGITUDE, *RAW_CODE_COLUMNS, *HOME_COLUMNS]
OUT_OF_ORDER = ("refuse", "sort")
TIE_RULE = N_("each card's purchases in time order; purchases at the same time in the file's "
            "order (the order the core system logged them)")
# what an input needs, said when the extract lacks it
INPUT_NEEDS = {
    "distance_from_home": N_("the purchase place (latitude/longitude or load.coordinates_path) "
                          "and the cardholders' homes (load.cardholders_path or home columns)"),
    "distance_from_last_transaction": N_("the purchase place (latitude/longitude or "
                                      "load.coordinates_path)"),
    "ratio_to_median_purchase_price": N_("amount"),
    "repeat_retailer": N_("merchant_id"),
    "used_chip": N_("the card-read mode (entry_mode)"),
    "used_pin_number": N_("the verification method (verification)"),
    # names load.codes' ONLINE_CATEGORY_SUFFIX key (a test checks the name)
    "online_order": N_("the channel (channel), or category with load.codes.online_category_suffix"),
}
HOW_DERIVED = {
    "distance_from_home": N_("km from the home to the purchase place (online: the connection)"),
    "distance_from_last_transaction": N_("km from the card's latest earlier purchase with a known "
                                      "place; first purchase: from the home"),
    "ratio_to_median_purchase_price": N_("amount over the median of the card's earlier amounts; "
                                      "first purchase: 1"),
    "repeat_retailer": N_("1 when the card bought at this merchant before"),
    "used_chip": N_("entry_mode chip, contactless or wallet_token"),
    "used_pin_number": N_("verification pin or otp_3ds"),
    "online_order": N_("channel online"),
}


@dataclass
class Derivation:
    """Which inputs the raw extract gave, how, and what is unknown, for the page and run.json."""

    inputs: dict = field(default_factory=dict)  # name -> {status, unknown_rows, how}
    homes: dict = field(default_factory=dict)
    codes: dict = field(default_factory=dict)  # code column -> the table used
    order: str = TIE_RULE
    out_of_order: str = "refuse"
    purchases_out_of_order: int = 0


def is_raw_extract(columns) -> bool:
    """True when the columns have none of the seven inputs and the raw card, time and amount."""
    columns = set(map(str, columns))
    return not columns & set(FEATURES) and {CARD_ID, TIMESTAMP, AMOUNT} <= columns


def check_raw_columns(frame: pd.DataFrame, source: str) -> None:
    """Raise naming the raw columns the file lacks, or the seven inputs it already has."""
    require_columns(frame, RAW_REQUIRED, source, lead="load.source is raw but the file lacks",
                    hint="map the bank's headers with load.columns; ")
    derived = [c for c in FEATURES if c in frame.columns]
    if derived:
        raise DataValidationError(
            f"{source}: load.source is raw but the file already has {', '.join(derived)}; the "
            f"raw path derives them: remove them, or set load.source=file to use the file's own")


def convert_raw_values(frame: pd.DataFrame, source: str, report: CleaningReport) -> None:
    """Convert amount, timestamp, coordinates and fraud in place; refuse amounts of zero or below."""
    decimal = frame.attrs.get("decimal", ".")
    frame[AMOUNT] = to_number(frame[AMOUNT], source, decimal)[0]
    check_bounds(frame[AMOUNT], source, VALUE_BOUNDS[AMOUNT])
    not_positive = (frame[AMOUNT] <= 0).to_numpy()
    if not_positive.any():
        rows = frame.index.to_numpy()[not_positive]
        raise DataValidationError(
            f"{source}: column 'amount' has amounts of zero or below at {rows_text(rows)} (e.g. "
            f"{frame[AMOUNT].to_numpy()[not_positive][0]:g}); a purchase's amount is above 0 "
            f"(leave refunds and reversals out of the extract)")
    frame[TIMESTAMP], converted = to_timestamps(frame[TIMESTAMP], source)
    if converted:
        report.converted_columns[TIMESTAMP] = "text to date and time"
    for column in (LATITUDE, LONGITUDE):
        if column in frame:
            frame[column] = to_number(frame[column], source, decimal)[0]
            check_bounds(frame[column], source, VALUE_BOUNDS[column])
    frame[TARGET], converted = _to_flag(frame[TARGET], source)
    if converted:
        report.converted_columns[TARGET] = "true/false to 0/1"
    outside = (frame[TARGET].notna() & ~frame[TARGET].isin([0.0, 1.0])).to_numpy()
    if outside.any():
        raise DataValidationError(f"{source}: column 'fraud' must be 0 or 1 but is not at "
                                  f"{rows_text(frame.index.to_numpy()[outside])}")


def purchases_out_of_order(frame: pd.DataFrame, source: str, rule: str) -> int:
    """Return how many purchases come before an earlier-listed one of their card; raise on refuse."""
    if rule not in OUT_OF_ORDER:
        raise ValueError(f"out_of_order must be one of {', '.join(OUT_OF_ORDER)}, not {rule!r}")
    cards = pd.factorize(frame[CARD_ID])[0]
    order = np.lexsort((np.arange(len(frame)), cards))  # each card's rows in file order
    times = frame[TIMESTAMP].to_numpy(dtype="datetime64[ns]")[order]
    same_card = cards[order][1:] == cards[order][:-1]
    back = np.flatnonzero(same_card & (times[1:] < times[:-1])) + 1
    if len(back) and rule == "refuse":
        rows, first = frame.index.to_numpy()[order], back[0]
        card = frame[CARD_ID].to_numpy()[order][first]
        raise DataValidationError(
            f"{source}: column 'timestamp' is out of order within card {card}: row "
            f"{rows[first] + 1} ({pd.Timestamp(times[first])}) comes after row "
            f"{rows[first - 1] + 1} ({pd.Timestamp(times[first - 1])}); {len(back):,} "
            f"purchase{'s' if len(back) > 1 else ''} out of order. Each card's purchases must "
            f"be in time order (the order breaks ties): sort the extract, or set "
            f"load.out_of_order=sort")
    return len(back)


def decode_flags(frame: pd.DataFrame, source: str, codes: dict | None,
                 derivation: Derivation) -> dict[str, np.ndarray]:
    """Return used_chip, used_pin_number and online_order where the codes allow them."""
    tables = code_tables(codes)
    flags = {}
    for name, (column, ones) in FLAG_MEANINGS.items():
        if column in frame:
            flags[name] = flag_from_codes(decode(frame[column], tables[column], source), ones)
            derivation.codes[column] = tables[column]
    suffix = (codes or {}).get(ONLINE_CATEGORY_SUFFIX)
    if "online_order" not in flags and suffix and CATEGORY in frame:
        flags["online_order"] = online_from_category(frame[CATEGORY], suffix)
        derivation.codes[CATEGORY] = f"online when the name ends in {suffix!r}"
    if "online_order" not in flags:
        raise no_channel_error(source)
    return flags


def _describe_inputs(inputs: dict[str, np.ndarray], derivation: Derivation) -> None:
    """Fill ``derivation.inputs``: derived (with unknown rows) or absent, and how."""
    for name in FEATURES:
        if name not in inputs:
            derivation.inputs[name] = {"status": "absent", "unknown_rows": None,
                                       "how": f"the extract lacks {INPUT_NEEDS[name]}"}
            continue
        unknown = int(np.isnan(inputs[name]).sum())
        how = HOW_DERIVED[name]
        if name == "online_order" and CATEGORY in derivation.codes:
            how = f"category {derivation.codes[CATEGORY]}"
        derivation.inputs[name] = {"status": "derived", "unknown_rows": unknown, "how": how}


def _clean_rows(frame: pd.DataFrame, source: str, report: CleaningReport, on_missing: str,
                duplicates: str) -> pd.DataFrame:
    """Drop (or refuse) rows without card, time, amount or label; count or drop duplicates."""
    frame, report = _handle_missing(frame, report, RAW_REQUIRED, on_missing)
    report.duplicate_rows = int(frame.duplicated().sum())
    if duplicates == "drop" and report.duplicate_rows:
        frame = frame.drop_duplicates()
        report.duplicate_rows_dropped = report.duplicate_rows
    if len(frame) == 0:
        raise DataValidationError(f"{source}: no rows left after dropping rows with missing values")
    return frame


def load_raw_extract(frame: pd.DataFrame, source: str, codes: dict | None = None,
                     cardholders_path=None, cities_path=None, columns: dict | None = None,
                     cardholder_columns: dict | None = None,
                     on_missing: str = "drop", duplicates: str = "keep",
                     out_of_order: str = "refuse",
                     join_coordinates: Callable | None = None
                     ) -> tuple[pd.DataFrame, CleaningReport, dict]:
    """Validate a raw extract and derive the inputs; return the frame, the report and the story.

    ``join_coordinates(frame, source) -> (frame, counts)`` joins the provider's coordinates (before the
    distances are derived). Returns the frame (derived inputs first, then the label and the
    context), the cleaning report and the derivation (:class:`Derivation` as a dict, plus the
    coordinates' counts under ``coordinates``).
    """
    check_raw_columns(frame, source)
    report = CleaningReport(source=source, rows_read=len(frame),
                            required_columns=fill(_("{columns} (raw extract: the seven inputs "
                                                    "are derived)"),
                                                  columns=", ".join(RAW_REQUIRED)))
    attrs = dict(frame.attrs)
    frame = frame.reset_index(drop=True)  # positions = the file's rows, for messages
    frame.attrs.update(attrs)
    convert_raw_values(frame, source, report)
    derivation = Derivation(out_of_order=out_of_order)
    flags = decode_flags(frame, source, codes, derivation)  # unknown codes: before any drop
    frame = _clean_rows(frame, source, report, on_missing, duplicates)
    flags = {name: values[frame.index.to_numpy()] for name, values in flags.items()}
    derivation.purchases_out_of_order = purchases_out_of_order(frame, source, out_of_order)
    coordinates = None
    if join_coordinates is not None:
        frame, coordinates = join_coordinates(frame, source)
    home_lat, home_lon, homes = resolve_homes(frame, source, cardholders_path, cities_path, columns,
                                              cardholder_columns)
    derivation.homes = homes.as_dict()
    inputs = derive_inputs(frame, home_lat, home_lon, flags)
    _describe_inputs(inputs, derivation)
    context = frame.drop(columns=[c for c in HOME_COLUMNS if c in frame]).reset_index(drop=True)
    derived = pd.DataFrame({name: inputs[name] for name in FEATURES if name in inputs})
    homes_known = pd.DataFrame(dict(zip(HOME_COORDINATES, (home_lat, home_lon), strict=True)))
    out = pd.concat([derived, context[[TARGET]], context.drop(columns=[TARGET]),
                     homes_known if np.isfinite(home_lat).any() else None], axis=1)
    _check_two_classes(out, source)
    report.extra_columns = [c for c in out.columns if c not in [*FEATURES, TARGET]]
    report.rows_kept = len(out)
    story = {**derivation.__dict__, "coordinates": coordinates}
    return compact_dtypes(out), report, story
