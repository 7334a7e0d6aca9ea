"""Exploratory analysis of the transactions: who is defrauded, how, where and when.

Every function takes the cleaned transactions (``artifacts/transactions.parquet``) and works on
real extracts (the 8 card_transdata columns) as well as on simulated data, which also has
coordinates (``latitude``/``longitude``, ``city``) and ``timestamp``. Rates are fractions
(0-1) with 95 % Wilson intervals. Figures are drawn from binned aggregates of all rows (fast at
1,000,000 rows) except the two-feature scatter, which uses a seeded sample.

Correlations and the strongest pair are in ``correlations``; fraud by distance from home and
over the days in ``where_when``; maps and hot spots in the georeferencing step (``cardfraud.geo``).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..data.partly_unknown import unknown_counts
from ..data.schema import (
    CONTINUOUS_FEATURES,
    FLAG_FEATURES,
    TARGET,
    unknown_input_text,
    unknown_inputs,
)
from ..report import figures as plots
from ..report.locale_format import fill, format_date, format_value
from ..report.markup import sentence
from ..report.translate import N_, _, translate
from ..runner.artifacts import transactions_path
from .distributions import log_histograms, plot_continuous_distributions  # noqa: F401 (moved)

CHANNELS = ("onsite", "online")
FLAG_NAMES = {"repeat_retailer": "repeat retailer", "used_chip": "chip used",
              "used_pin_number": "PIN used", "online_order": "online order"}
NO_TIMESTAMPS_TEXT = N_("This extract has no timestamps (no timestamp column), so there is no "
                         "view of purchases and fraud rate per day.")


def __getattr__(name: str):  # NO_TIMESTAMPS_MESSAGE: the message in the language of the page
    if name == "NO_TIMESTAMPS_MESSAGE":
        return translate(NO_TIMESTAMPS_TEXT)
    raise AttributeError(name)


def read_loaded_transactions(output_dir=None) -> pd.DataFrame:
    """Return the transactions the load step handed on, or raise naming the step to run.

    A pandas run hands on one Parquet file (a pandas frame is returned); a Spark run a folder
    of Parquet, returned as a Spark DataFrame in the session the load results name
    (:func:`cardfraud.engines.spark_load.read_handed_on`).
    """
    path = transactions_path(output_dir)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run the load step first "
                                "(python run_all.py --only load)")
    if path.is_dir():
        from ..engines.spark_load import read_handed_on
        from ..runner.artifacts import load_step_results

        return read_handed_on(path, load_step_results("load", output_dir)["data"].get("engine"))
    return pd.read_parquet(path)


@dataclass
class PurchaseFacts:
    """The whole data's headline counts, what the scope sentence and the results are built on.

    Counted from a pandas frame by :func:`purchase_facts`, from a Spark DataFrame by
    :func:`cardfraud.engines.spark_eda_counts.purchase_facts` (the same numbers).
    """

    rows: int
    frauds: int
    fraud_rate: float
    fraud_rate_by_channel: dict[str, float | None]  # None: no purchase in the channel
    inputs_unknown: list[str]  # inputs the extract cannot give
    inputs_partly_unknown: dict[str, int]  # input -> purchases with it unknown, where any
    has_coordinates: bool
    has_timestamps: bool


def purchase_facts(transactions: pd.DataFrame) -> PurchaseFacts:
    """Return the headline counts of the purchases (pandas)."""
    fraud = transactions[TARGET].to_numpy()
    channel = purchase_channel(transactions)
    return PurchaseFacts(
        len(transactions), int(fraud.sum()), float(fraud.mean()),
        {c: float(fraud[channel == c].mean()) if (channel == c).any() else None
         for c in CHANNELS},
        unknown_inputs(transactions), unknown_counts(transactions),
        has_coordinates(transactions), has_timestamps(transactions))


def data_scope(transactions: pd.DataFrame) -> str:
    """Return one sentence on what the data holds and which sections it allows."""
    return scope_sentence(purchase_facts(transactions))


def scope_sentence(facts: PurchaseFacts) -> str:
    """Return one sentence on what the data holds and which sections it allows (from counts)."""
    extras = [name for name, present in (("coordinates", facts.has_coordinates),
                                         ("timestamps", facts.has_timestamps)) if present]
    text = fill(_("{rows:,} purchases, {frauds:,} of them fraudulent ({share:.2%})."),
                rows=facts.rows, frauds=facts.frauds, share=facts.frauds / facts.rows)
    if len(extras) == 2:
        return text + _(" They carry coordinates and timestamps, so every section applies.")
    if extras:  # "coordinates" or "timestamps", words of the catalogue (report.table_words)
        return text + fill(_(" They carry {what} only; sections needing the other are skipped."),
                           what=translate(extras[0]))
    return text + _(" They have the card_transdata columns only (no coordinates, no timestamps), "
                    "so the per-day section is skipped and the georeferencing page has no maps.")


def has_coordinates(transactions: pd.DataFrame) -> bool:
    """Return True when the purchases carry latitude and longitude (at least one purchase)."""
    return ({"latitude", "longitude"} <= set(transactions.columns)
            and bool(transactions["latitude"].notna().any()))


def has_timestamps(transactions: pd.DataFrame) -> bool:
    """Return True when the purchases carry a timestamp."""
    return "timestamp" in transactions.columns


def purchase_channel(transactions: pd.DataFrame) -> np.ndarray:
    """Return each purchase's channel: ``online`` when online_order is 1, else ``onsite``.

    Without online_order (unknown), every purchase's channel is ``unknown``.
    """
    if "online_order" not in transactions:
        return np.full(len(transactions), "unknown")
    return np.where(transactions["online_order"].to_numpy() == 1, "online", "onsite")


def wilson_interval(frauds, purchases, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Return the Wilson score interval (low, high) of the fraud rate frauds / purchases."""
    frauds, purchases = np.asarray(frauds, float), np.asarray(purchases, float)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = frauds / purchases
        centre = (rate + z * z / (2 * purchases)) / (1 + z * z / purchases)
        half = z * np.sqrt(rate * (1 - rate) / purchases + z * z / (4 * purchases ** 2))
        half = half / (1 + z * z / purchases)
    # the exact ends at 0 and 1 frauds-per-purchase, not a rounding hair away from them
    low = np.where(frauds == 0, 0.0, np.clip(centre - half, 0, 1))
    high = np.where(frauds == purchases, 1.0, np.clip(centre + half, 0, 1))
    return low, high


def with_fraud_rates(table: pd.DataFrame) -> pd.DataFrame:
    """Add fraud rate and its 95 % interval to a table with ``purchases`` and ``frauds``."""
    table = table.copy()
    table["purchases"] = table["purchases"].astype("int64")
    table["frauds"] = table["frauds"].astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        table["fraud rate"] = table["frauds"] / table["purchases"]
    table["95% CI low"], table["95% CI high"] = wilson_interval(table["frauds"], table["purchases"])
    return table


def class_balance(transactions: pd.DataFrame) -> pd.DataFrame:
    """Return purchases and share of purchases per class (legitimate, fraud)."""
    counts = np.bincount(transactions[TARGET].to_numpy(), minlength=2)
    return pd.DataFrame({"class": ["legitimate", "fraud"], "purchases": counts,
                         "share of purchases": counts / counts.sum()})


def continuous_summary(transactions: pd.DataFrame, tail_quantile: float = 0.999) -> pd.DataFrame:
    """Return median, mean, tail quantile, max, skewness, excess kurtosis and tail count."""
    rows = []
    for feature in [c for c in CONTINUOUS_FEATURES if c in transactions]:
        values = transactions[feature]
        cut = float(values.quantile(tail_quantile))
        rows.append({"feature": feature, "median": values.median(), "mean": values.mean(),
                     f"p{tail_quantile * 100:g}": cut, "max": values.max(),
                     "skewness": values.skew(), "kurtosis": values.kurt(),
                     f"purchases beyond p{tail_quantile * 100:g}": int((values > cut).sum()),
                     "purchases unknown": int(values.isna().sum())})
    return continuous_summary_table(rows)


def continuous_summary_table(rows: list[dict]) -> pd.DataFrame:
    """Return the summary table from one row per feature; 'purchases unknown' only if any."""
    table = pd.DataFrame(rows)  # statistics of the known values; unknown ones counted apart
    return table if table.empty or table["purchases unknown"].any() else table.drop(
        columns="purchases unknown")


def flag_fraud_rates(transactions: pd.DataFrame) -> pd.DataFrame:
    """Return purchases, frauds and fraud rate (95 % CI) for each value of the four flags."""
    fraud = transactions[TARGET].to_numpy()
    rows = []
    for flag in [c for c in FLAG_FEATURES if c in transactions]:  # unknown ones left out
        values = transactions[flag].to_numpy()
        purchases = np.bincount(values, minlength=2)
        frauds = np.bincount(values, weights=fraud, minlength=2)
        for value in (0, 1):
            rows.append({"flag": FLAG_NAMES[flag], "value": "yes" if value else "no",
                         "purchases": purchases[value], "frauds": frauds[value]})
    return with_fraud_rates(pd.DataFrame(rows))


def plot_flag_fraud_rates(flag_rates: pd.DataFrame, overall_rate: float):
    """Figure: fraud rate with its 95 % interval for each flag value."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    labels = [f"{translate(flag)}: {translate(value)}"
              for flag, value in zip(flag_rates["flag"], flag_rates["value"], strict=True)]
    plots.draw_rates_with_intervals(ax, labels, flag_rates["fraud rate"],
                                    flag_rates["95% CI low"], flag_rates["95% CI high"])
    ax.axvline(overall_rate, color="grey", linestyle="--", linewidth=1,
               label=fill(_("all purchases ({rate:.1%})"), rate=overall_rate))
    ax.legend(loc="best")
    plots.label_axes(ax, _("Fraud rate by flag value (95 % intervals)"), _("fraud rate (%)"),
                     translate("flag"))
    fig.tight_layout()
    return fig


def period(daily: pd.DataFrame) -> dict:
    """Return the first and last day (ISO dates) and the number of calendar days covered."""
    start, end = daily["day"].min(), daily["day"].max()
    return {"period_start": start.date().isoformat(), "period_end": end.date().isoformat(),
            "days": int((end - start).days) + 1}


def _rate_of(table: pd.DataFrame, **where) -> float | None:
    """Return the fraud rate of the rows matching ``where``; None when they hold no purchase."""
    mask = np.logical_and.reduce([table[k] == v for k, v in where.items()])
    row = table[mask]
    return float(row["frauds"].sum() / row["purchases"].sum()) if row["purchases"].sum() else None


def _records(table: pd.DataFrame, columns: dict) -> list[dict]:
    """Return table rows as plain dicts with the columns renamed."""
    return table[list(columns)].rename(columns=columns).to_dict(orient="records")


def eda_results(transactions: pd.DataFrame, flag_rates: pd.DataFrame, bands: pd.DataFrame,
                pair: tuple[str, str, float], daily: pd.DataFrame | None = None) -> dict:
    """Return the headline numbers of the EDA for run.json and the executive summary."""
    return results_from_facts(purchase_facts(transactions), flag_rates, bands, pair, daily)


def results_from_facts(facts: PurchaseFacts, flag_rates: pd.DataFrame, bands: pd.DataFrame,
                       pair: tuple[str, str, float], daily: pd.DataFrame | None = None) -> dict:
    """Return the EDA's headline numbers from the purchases' counts and the EDA's tables."""
    results = {
        "rows": facts.rows, "frauds": facts.frauds, "fraud_rate": facts.fraud_rate,
        "fraud_rate_by_channel": dict(facts.fraud_rate_by_channel),
        "inputs_unknown": list(facts.inputs_unknown),
        "inputs_partly_unknown": dict(facts.inputs_partly_unknown),
        "fraud_rate_with_pin": _rate_of(flag_rates, flag="PIN used", value="yes"),
        "fraud_rate_without_pin": _rate_of(flag_rates, flag="PIN used", value="no"),
        "fraud_rate_with_chip": _rate_of(flag_rates, flag="chip used", value="yes"),
        "fraud_rate_without_chip": _rate_of(flag_rates, flag="chip used", value="no"),
        "fraud_rate_by_distance_band": _records(bands, {
            "band": "band", "from km": "from_km", "purchases": "purchases", "frauds": "frauds",
            "fraud rate": "rate"}) if bands is not None else None,
        "strongest_pair": {"features": [pair[0], pair[1]], "correlation": pair[2]},
        "has_coordinates": facts.has_coordinates,
        "has_timestamps": facts.has_timestamps,
    }
    if daily is not None:
        results.update(period(daily))
    return results


def summary_sentences(results: dict) -> str:
    """Return the headline results as a short markdown list in the fraud team's words."""
    channel = results["fraud_rate_by_channel"]
    unknown = set(results.get("inputs_unknown", []))
    lines = [fill(_("- {rows:,} purchases; fraud rate {rate:.2%}."), rows=results["rows"],
                  rate=results["fraud_rate"])]
    lines.append(fill(_("- Channel: {unknown}."), unknown=unknown_input_text("online_order"))
                 if "online_order" in unknown else
                 fill(_("- Online {online} vs onsite {onsite}."), online=_pct(channel["online"]),
                      onsite=_pct(channel["onsite"])))
    for word, key, column in (("PIN", "pin", "used_pin_number"), (_("chip"), "chip", "used_chip")):
        lines.append(fill("- {word}: {unknown}.", word=word, unknown=unknown_input_text(column))
                     if column in unknown else
                     fill(_("- With {word} {with_it} vs without {without}."), word=word,
                          with_it=_pct(results[f"fraud_rate_with_{key}"]),
                          without=_pct(results[f"fraud_rate_without_{key}"])))
    if results["fraud_rate_by_distance_band"] is None:
        lines.append(fill(_("- Distance from home: {unknown}."),
                          unknown=unknown_input_text("distance_from_home")))
    else:
        worst = max(results["fraud_rate_by_distance_band"], key=lambda b: b["rate"] or 0)
        lines.append(sentence(_("- Highest fraud rate by distance from home: {band} ({rate} of "
                                "{purchases:,} purchases)."), band=worst["band"],
                              rate=_pct(worst["rate"]), purchases=worst["purchases"]))
    if "period_start" in results:
        lines.append(sentence(_("- Period: {start} to {end} ({days} days)."),
                              start=format_date(results["period_start"]),
                              end=format_date(results["period_end"]), days=results["days"]))
    return "\n".join(lines)


def _pct(rate: float | None) -> str:
    """Format a 0-1 rate as a percentage, or 'n/a' when there were no purchases."""
    return "n/a" if rate is None or not np.isfinite(rate) else format_value(rate, ".2%")
