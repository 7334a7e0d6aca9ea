"""The bank's purchase flow: purchases, validation by channel, final state (fraud or not).

A purchase is validated onsite (card present: chip and PIN) when ``online_order`` is 0 and
online (card not present) when it is 1; its final state is the ``fraud`` label. This module
counts the stages for ``n`` purchases drawn from the data, simulates many batches of ``n``
purchases (Monte Carlo from the counts, fast at any size) and asks what mandatory
authentication would have met. ``python -m cardfraud flow`` prints the same numbers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.checks import DataValidationError
from ..data.cleaning import load_file
from ..data.schema import TARGET
from ..eda.headlines import CHANNELS
from ..report.locale_format import fill
from ..report.translate import _, translate
from ..runner.artifacts import resolve_output_dir
from ..runner.contract import ARTIFACTS_FOLDER, TRANSACTIONS

STAGES = ["purchases", "validated onsite", "validated online", "fraudulent onsite",
          "fraudulent online"]
# the four end states of a purchase, in the order the Monte Carlo draws them
CELLS = [("onsite", 0), ("onsite", 1), ("online", 0), ("online", 1)]
INTERVAL_LEVEL = 0.90


def draw_purchases(transactions: pd.DataFrame, purchases: int, seed: int = 42) -> pd.DataFrame:
    """Return ``purchases`` rows drawn at random (seeded) from the data.

    Drawn without replacement when ``purchases`` is at most the number of rows (so all rows
    give the data's exact counts), with replacement otherwise.
    """
    if purchases < 1:
        raise ValueError(f"purchases must be a positive whole number, not {purchases}")
    rng = np.random.default_rng(seed)
    rows = len(transactions)
    if purchases <= rows:
        picked = rng.choice(rows, size=purchases, replace=False)
    else:
        picked = rng.integers(0, rows, size=purchases)
    return transactions.iloc[np.sort(picked)]


def describe_draw(purchases: int, data_rows: int, seed: int) -> str:
    """Return one sentence on how the purchases were drawn from the data."""
    if purchases == data_rows:
        how = _("every purchase of the data (the counts are the data's exact counts)")
    elif purchases < data_rows:
        how = fill(_("{n:,} of the data's {rows:,} purchases, drawn without replacement"),
                   n=purchases, rows=data_rows)
    else:
        how = fill(_("{n:,} purchases drawn with replacement from the data's {rows:,} (more "
                     "purchases asked for than the data holds)"), n=purchases, rows=data_rows)
    return fill(_("The flow below follows {how}; random seed {seed}."), how=how, seed=seed)


def cell_counts(transactions: pd.DataFrame) -> np.ndarray:
    """Return purchase counts of onsite-legitimate, onsite-fraud, online-legitimate, online-fraud."""
    code = transactions["online_order"].to_numpy().astype(int) * 2 + transactions[TARGET].to_numpy()
    return np.bincount(code, minlength=4)


def stage_counts(purchases: pd.DataFrame) -> pd.DataFrame:
    """Return the count and share of purchases at each stage of the flow."""
    return stage_table(cell_counts(purchases), len(purchases))


def stage_table(cells, purchases: int) -> pd.DataFrame:
    """Return the count and share of purchases at each stage from the four end-state counts."""
    onsite_legit, onsite_fraud, online_legit, online_fraud = cells
    counts = [purchases, onsite_legit + onsite_fraud, online_legit + online_fraud,
              onsite_fraud, online_fraud]
    return pd.DataFrame({"stage": STAGES, "purchases": np.asarray(counts, dtype="int64"),
                         "share of purchases": np.asarray(counts) / max(purchases, 1)})


def draw_cell_counts(cells, purchases: int, seed: int = 42) -> np.ndarray:
    """Return the end-state counts of ``purchases`` purchases drawn from data with ``cells``.

    The draw of :func:`draw_purchases` (same seed, same numpy positions, without replacement
    up to the data's rows, with replacement beyond) made on the purchases lined up by end
    state: only counts are needed, never rows, and no row order, so a pandas frame and a Spark
    DataFrame with the same purchases give the same counts for the same seed. Every purchase
    is as likely to be drawn as in :func:`draw_purchases`, so the counts follow the same
    distribution, and they are the data's exact counts when every purchase is drawn.
    """
    if purchases < 1:
        raise ValueError(f"purchases must be a positive whole number, not {purchases}")
    cells = np.asarray(cells, dtype=np.int64)
    rng = np.random.default_rng(seed)
    rows = int(cells.sum())
    if purchases <= rows:
        picked = rng.choice(rows, size=purchases, replace=False)
    else:
        picked = rng.integers(0, rows, size=purchases)
    return np.bincount(np.searchsorted(np.cumsum(cells), picked, side="right"), minlength=4)


def simulate_batches(transactions: pd.DataFrame, purchases: int, runs: int = 10_000,
                     seed: int = 42) -> pd.DataFrame:
    """Simulate ``runs`` batches of ``purchases`` new purchases; return purchases and frauds.

    Each run draws the four end-state shares from their Dirichlet posterior given the data's
    counts (so a small data set gives wider intervals), then the batch's counts from a
    multinomial with those shares. Only counts are drawn, never rows, so 1,000,000 rows and
    10,000 runs take milliseconds.
    """
    return simulate_batches_from_counts(cell_counts(transactions), purchases, runs, seed)


def simulate_batches_from_counts(cells, purchases: int, runs: int = 10_000,
                                 seed: int = 42) -> pd.DataFrame:
    """Simulate ``runs`` batches of ``purchases`` purchases from the data's end-state counts
    (:func:`cell_counts`); see :func:`simulate_batches`."""
    if purchases < 1 or runs < 1:
        raise ValueError(f"purchases and runs must be positive, not {purchases} and {runs}")
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.asarray(cells) + 0.5, size=runs)
    draws = rng.multinomial(purchases, shares)
    return pd.DataFrame({
        "purchases onsite": draws[:, 0] + draws[:, 1], "frauds onsite": draws[:, 1],
        "purchases online": draws[:, 2] + draws[:, 3], "frauds online": draws[:, 3],
        "frauds": draws[:, 1] + draws[:, 3]})


def batch_intervals(batches: pd.DataFrame, level: float = INTERVAL_LEVEL) -> pd.DataFrame:
    """Return expected frauds per batch and the central ``level`` interval, per channel."""
    tail = (1 - level) / 2
    rows = []
    for channel, column in (("onsite", "frauds onsite"), ("online", "frauds online"),
                            ("all channels", "frauds")):
        low, high = np.quantile(batches[column], [tail, 1 - tail])
        rows.append({"channel": channel, "expected frauds": float(batches[column].mean()),
                     "low": int(np.floor(low)), "high": int(np.ceil(high))})
    return pd.DataFrame(rows)


def interval_sentences(intervals: pd.DataFrame, purchases: int,
                       level: float = INTERVAL_LEVEL) -> list[str]:
    """Return one plain sentence per channel: 'on a day of n purchases, expect X to Y ...'."""
    sentences = []
    which = {"all channels": _("frauds across both channels"), "onsite": _("onsite frauds"),
             "online": _("online frauds")}
    for row in intervals.to_dict(orient="records"):
        sentences.append(fill(_("On a day of {purchases:,} purchases, expect {low:,} to {high:,} "
                                "{which} ({level:.0%} interval; {mean:,.1f} on average)."),
                              purchases=purchases, low=row["low"], high=row["high"],
                              which=which.get(row["channel"], f"{row['channel']} frauds"),
                              level=level, mean=row["expected frauds"]))
    return sentences


def per_day_sentence(per_day: float) -> str:
    """Return the sentence giving the data's average purchases per day."""
    return fill(_("The data averages {n:,.0f} purchases per day."), n=per_day)


def purchases_per_day(transactions: pd.DataFrame) -> float:
    """Return the average purchases per calendar day over the data's period."""
    days = transactions["timestamp"].dt.normalize()
    span = int((days.max() - days.min()).days) + 1
    return len(transactions) / span


def _interval_dict(intervals: pd.DataFrame) -> dict:
    """Return {onsite|online|all: {mean, low, high}} from an intervals table."""
    return {("all" if row["channel"] == "all channels" else row["channel"]):
            {"mean": row["expected frauds"], "low": row["low"], "high": row["high"]}
            for row in intervals.to_dict(orient="records")}


def flow_results(stages: pd.DataFrame, intervals: pd.DataFrame, runs: int, seed: int,
                 data_rows: int, what_if: pd.DataFrame | None = None,
                 per_day: float | None = None, day_intervals: pd.DataFrame | None = None) -> dict:
    """Return the headline numbers of the channel simulation for run.json and the summary."""
    counts = {stage.replace(" ", "_"): int(value)
              for stage, value in zip(stages["stage"], stages["purchases"], strict=True)}
    results = {
        "purchases": counts["purchases"], "runs": int(runs), "seed": int(seed),
        "data_rows": int(data_rows), "drawn_with_replacement": counts["purchases"] > data_rows,
        "stage_counts": counts, "interval_level": INTERVAL_LEVEL,
        "expected_frauds_per_batch": _interval_dict(intervals),
    }
    if what_if is not None:
        results["what_if"] = [
            {"rule": row["rule"], "channel": row["channel"], "unknown": row["unknown"]}
            if isinstance(row.get("unknown"), str) else
            {"rule": row["rule"], "channel": row["channel"],
             "fraud_rate_with": row["fraud rate with"], "fraud_rate_without": row["fraud rate without"],
             "share_of_channel_fraud_met": row["share of channel fraud met"],
             "share_of_all_fraud_met": row["share of all fraud met"],
             "share_of_legitimate_challenged": row["share of legitimate challenged"]}
            for row in what_if.to_dict(orient="records")]
    if per_day is not None and day_intervals is not None:
        results["purchases_per_day"] = float(per_day)
        results["expected_frauds_per_day"] = _interval_dict(day_intervals)
    return results


def summary_sentences(results: dict) -> str:
    """Return the step's headline results as a short markdown list."""
    stages, n = results["stage_counts"], results["purchases"]
    lines = [fill(_("- Of {n:,} purchases, {onsite:.1%} were validated onsite and {online:.1%} "
                    "online; {fraud_onsite:,} onsite and {fraud_online:,} online purchases were "
                    "fraudulent."), n=n, onsite=stages["validated_onsite"] / n,
                  online=stages["validated_online"] / n, fraud_onsite=stages["fraudulent_onsite"],
                  fraud_online=stages["fraudulent_online"])]
    for channel in CHANNELS:
        batch = results["expected_frauds_per_batch"][channel]
        template = (_("- On a day of {n:,} purchases, expect {low:,} to {high:,} onsite frauds "
                      "({level:.0%} interval).") if channel == "onsite" else
                    _("- On a day of {n:,} purchases, expect {low:,} to {high:,} online frauds "
                      "({level:.0%} interval)."))
        lines.append(fill(template, n=n, low=batch["low"], high=batch["high"],
                          level=results["interval_level"]))
    if "purchases_per_day" in results:
        day = results["expected_frauds_per_day"]["all"]
        lines.append(fill(_("- A day of the data (about {n:,.0f} purchases) brings {low:,} to "
                            "{high:,} frauds."), n=results["purchases_per_day"], low=day["low"],
                          high=day["high"]))
    for rule in results.get("what_if", []):
        name = translate(rule["rule"])
        name, channel = name[0].upper() + name[1:], translate(rule["channel"])
        if "unknown" in rule:
            lines.append(f"- {name} {channel}: {translate(rule['unknown'])}.")
            continue
        lines.append(fill(_("- {rule} {channel} would have met {met:.1%} of {channel} fraud "
                            "({all:.1%} of all fraud) and challenged {challenged:.1%} of "
                            "legitimate {channel} purchases."), rule=name, channel=channel,
                          met=rule["share_of_channel_fraud_met"], all=rule["share_of_all_fraud_met"],
                          challenged=rule["share_of_legitimate_challenged"]))
    return "\n".join(lines)


def default_data_path() -> Path:
    """Return the transactions of the last run: ``reports/artifacts/transactions.parquet``."""
    return resolve_output_dir(None) / ARTIFACTS_FOLDER / TRANSACTIONS.file


def _positive_int(text: str) -> int:
    """Parse a positive whole number for argparse."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of ``python -m cardfraud flow``."""
    parser = argparse.ArgumentParser(
        prog="python -m cardfraud flow",
        description="Purchase flow through the channels: stage counts of N purchases drawn from "
                    "the data and the 90 % interval of frauds per batch of N purchases.")
    parser.add_argument("--purchases", type=_positive_int, default=None, metavar="N",
                        help="purchases to draw (default: every row of the data)")
    parser.add_argument("--data", metavar="FILE", default=None,
                        help="CSV or Parquet extract (default: the last run's "
                             "reports/artifacts/transactions.parquet)")
    parser.add_argument("--runs", type=_positive_int, default=10_000,
                        help="simulated batches (default: 10000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    return parser


def format_stage_counts(stages: pd.DataFrame) -> str:
    """Return the stage-count table as aligned text."""
    return stages.to_string(index=False, formatters={
        "purchases": "{:,}".format, "share of purchases": "{:.2%}".format})


def cli(argv: list[str] | None = None) -> int:
    """Print stage counts and fraud intervals for N purchases; return the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage and the error
        return int(exc.code or 0)
    path = Path(args.data) if args.data else default_data_path()
    if args.data is None and not path.exists():
        print(f"error: {path} not found: run `python run_all.py` first or pass --data FILE",
              file=sys.stderr)
        return 2
    try:
        transactions, _report = load_file(path)
    except DataValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from .page import purchase_flow  # the notebook's first section, imported on use

    counted = purchase_flow(transactions, args.purchases, args.runs, args.seed)
    purchases = counted.purchases
    how = "without" if purchases <= len(transactions) else "with"
    print(f"Purchase flow: {purchases:,} purchases drawn {how} replacement (seed {args.seed}) "
          f"from {path} ({len(transactions):,} rows)\n")
    print(format_stage_counts(counted.stages) + "\n")
    print(f"Monte Carlo over {args.runs:,} batches of {purchases:,} purchases:")
    for sentence in interval_sentences(counted.intervals, purchases):
        print(f"  {sentence}")
    return 0
