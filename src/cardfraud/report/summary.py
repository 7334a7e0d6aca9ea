"""The executive summary for the presidency: plain words, few numbers, all from the run.

Every number here is read from the run's artifacts (``artifacts/results/*.json``, the test
predictions and the transactions); nothing is recomputed or re-estimated.
"""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet

from ..modeling.feature_sets import model_in_words
from ..runner.artifacts import (
    artifact_path,
    collect_results,
    data_fingerprint,
    transactions_path,
)
from ..runner.contract import (
    DATA_FINGERPRINT,
    PAGE_LINKS,
    SUMMARY_STEP,
    TEST_PREDICTIONS,
    page_file,
    page_link,
)
from .compromise import compromise_actions, compromise_text
from .markup import code, sentence


def read_run_results(output_dir=None) -> dict:
    """Return the saved results of every step but the summary, keyed by step name."""
    return {step: results for step, results in collect_results(output_dir).items()
            if step != SUMMARY_STEP}


def detail_pages(results: dict) -> list[tuple[str, str]]:
    """Return (link text, page) of every step that saved results, in step order."""
    order = list(PAGE_LINKS)
    steps = sorted(results, key=lambda s: (order.index(s) if s in order else len(order), s))
    return [(page_link(step), page_file(step)) for step in steps if step != SUMMARY_STEP]


def pct(share: float | None, digits: int = 1) -> str:
    """Format a 0-1 share as a percentage."""
    return "n/a" if share is None else f"{100 * share:.{digits}f} %"


def times(a: float, b: float) -> str:
    """Say how many times ``a`` is ``b``, in words."""
    return "n/a" if not b else f"{a / b:.0f} times" if a / b >= 2 else f"{a / b:.1f} times"


def analysed_text(results: dict) -> str:
    """One paragraph: what was analysed (purchases, period, source)."""
    data = results["load"]["data"]
    eda = results.get("eda", {})
    source = (sentence("the bank's extract {name}", name=code(data["path"].rsplit("/", 1)[-1]))
              if data["source"] == "file" else "the built-in transaction simulator")
    period = (sentence(" over {days} days ({start} to {end})", days=eda["days"],
                       start=eda["period_start"][:10], end=eda["period_end"][:10])
              if eda.get("days") else "")
    return sentence("We analysed **{rows:,} card purchases**{period}, from {source}. "
                    "**{rate}** of them were fraudulent.", rows=data["rows"], period=period,
                    source=source, rate=pct(results["load"]["fraud_rate"]))


def expected_frauds_text(results: dict) -> str:
    """Expected frauds per day (or per batch) from the channel simulation."""
    sim = results.get("channel_simulation")
    if not sim:
        return "The channel simulation did not run."
    per_day = sim.get("expected_frauds_per_day")
    if per_day:
        online, onsite = per_day["online"], per_day["onsite"]
        return (f"On a typical day of {sim['purchases_per_day']:,.0f} purchases, expect "
                f"**{online['low']:,.0f} to {online['high']:,.0f} online frauds** and "
                f"{onsite['low']:,.0f} to {onsite['high']:,.0f} onsite (90 % of days).")
    batch = sim["expected_frauds_per_batch"]
    return (f"In a batch of {sim['purchases']:,} purchases, expect "
            f"**{batch['online']['low']:,.0f} to {batch['online']['high']:,.0f} online frauds** and "
            f"{batch['onsite']['low']:,.0f} to {batch['onsite']['high']:,.0f} onsite (90 % of batches).")


def prevented_loss(output_dir=None, modeling: dict | None = None) -> dict | None:
    """Losses the model would have prevented on the test period, from its saved scores.

    Assumptions: a caught fraud saves its amount (or the cost of a missed fraud when there are
    no amounts); every alert is reviewed at the review cost. None when the scores are missing
    or were made from other data than the transactions (e.g. after ``--only load``).
    """
    predictions = artifact_path(TEST_PREDICTIONS, output_dir)
    if modeling is None or not predictions.is_file():
        return None
    if modeling.get(DATA_FINGERPRINT) != data_fingerprint(output_dir):
        return None
    scores = pd.read_parquet(predictions)
    alerts = scores["probability"].to_numpy() >= modeling["threshold"]
    caught = alerts & (scores["fraud"].to_numpy() == 1)
    costs = modeling["costs"]
    columns = pyarrow.parquet.read_schema(transactions_path(output_dir)).names
    currency = modeling.get("currency") or (modeling.get("costs") or {}).get("currency", "")
    if "amount" in columns:
        amounts = pd.read_parquet(transactions_path(output_dir), columns=["amount"])["amount"]
        saved = float(amounts.to_numpy()[scores["row"].to_numpy()[caught]].sum())
        basis = "a caught fraud saves its amount"
    else:
        saved = float(caught.sum() * costs["cost_missed_fraud"])
        basis = f"a caught fraud saves {costs['cost_missed_fraud']:,.0f} {currency}"
    review = float(alerts.sum() * costs["cost_review"])
    days = (modeling.get("split") or {}).get("test_days")
    return {"frauds_caught": int(caught.sum()), "alerts": int(alerts.sum()),
            "saved": saved, "review_cost": review, "net": saved - review, "test_days": days,
            "currency": currency,
            "assumptions": f"{basis}; each alert is reviewed at {costs['cost_review']:,.0f} {currency}"}


def model_text(results: dict, loss: dict | None) -> str:
    """The recommended model: share of fraud caught, alert volume, loss prevented."""
    modeling = results.get("modeling")
    if not modeling:
        return "The modeling step did not run."
    m = modeling["test_metrics"]
    alerts_share = (m["tp"] + m["fp"]) / modeling["test_rows"]
    per_day = f" (about {m['alerts_per_day']:,.0f} alerts a day)" if m.get("alerts_per_day") else ""
    text = sentence("The recommended model, **{model}**, catches **{recall} of frauds** while "
                    "sending **{alerts} of purchases** to review{per_day}; {precision} of its "
                    "alerts are real frauds. It was tested on purchases it never saw (PR-AUC "
                    "{pr_auc:.2f}).", model=model_in_words(modeling["best_model"]),
                    recall=pct(m["recall"], 0), alerts=pct(alerts_share), per_day=per_day,
                    precision=pct(m["precision"], 0), pr_auc=m["average_precision"])
    if m.get("recall_at_budget") is not None and modeling.get("alert_budget"):
        text += (f" If the review team can only take {pct(modeling['alert_budget'], 0)} of "
                 f"purchases, the top-scored ones catch {pct(m['recall_at_budget'], 0)} of frauds "
                 f"and {pct(m['precision_at_budget'], 0)} of those alerts are real frauds.")
    if modeling.get("threshold_warning"):
        text += sentence("\n\n**{warning}**", warning=modeling["threshold_warning"])
    if loss:
        span = f" in the {loss['test_days']} test days" if loss.get("test_days") else " on the test data"
        text += sentence(" It would have prevented an estimated **{net:,.0f} {currency}** of "
                         "losses, net of review costs,{span} ({caught:,} frauds caught; "
                         "assumptions: {assumptions}).", net=loss["net"],
                         currency=loss["currency"], span=span, caught=loss["frauds_caught"],
                         assumptions=loss["assumptions"])
    return text


def registry_text(results: dict) -> str:
    """Which version is in production and whether this run changed it."""
    reg = results.get("registry")
    if not reg:
        return "The registry step did not run: no model is in production from this run."
    champion = reg.get("champion_version")
    since = reg.get("champion_since") or (reg.get("decided_at") if reg.get("promotion_pending")
                                          else None)
    changed = "was promoted to champion" if reg.get("promoted") else "did not replace the champion"
    if champion is None:
        return sentence("No version of {model} is in production: this run's model {changed}. "
                        "Why: {reason}.", model=code(reg["model_name"]), changed=changed,
                        reason=reg.get("reason", "not recorded"))
    return sentence("Version **{champion}** of {model} is the champion in production{since}. "
                    "This run's model (version {version}) {changed}. Why: {reason}.",
                    champion=champion, model=code(reg["model_name"]),
                    since=" since " + since[:10] if since else "", version=reg.get("version"),
                    changed=changed, reason=reg.get("reason", "not recorded"))


def drift_text(results: dict) -> str:
    """The drift status in words."""
    mon = results.get("monitoring")
    if not mon:
        return "The monitoring step did not run."
    status = mon.get("overall_status", "n/a")
    word = {"ok": "no drift", "watch": "some drift to watch", "alert": "drift that needs action"}
    return sentence("Drift status: **{status}** ({word}). {recommendation}",
                    status=status.upper(), word=word.get(status, status),
                    recommendation=mon.get("recommendation", ""))


def next_actions(results: dict) -> list[str]:
    """What to do next, from the run's findings."""
    actions = []
    mon, eda, reg = results.get("monitoring", {}), results.get("eda", {}), results.get("registry", {})
    advice = {
        "retrain": "Retrain the model on recent purchases: its performance or its inputs moved.",
        "check_data_feed": "Check the data feed with the data engineers before trusting the "
                           "new extract: some columns look broken.",
        "investigate": "Have the fraud analysts look at the drifting features before the next run.",
        "watch": "Watch the drifting features in next month's monitoring run.",
    }
    if mon.get("action") in advice:
        actions.append(advice[mon["action"]])
    channel = eda.get("fraud_rate_by_channel", {})
    if channel and channel.get("online", 0) > 3 * channel.get("onsite", 0):
        actions.append("Require cardholder verification (one-time code or 3-D Secure) for "
                       "online purchases, where most fraud happens.")
    actions += compromise_actions(results)
    if (results.get("modeling") or {}).get("threshold_warning"):
        actions.append("Set the review cost (modeling.cost_review) in the currency and scale of "
                       "the purchase amounts and re-run modeling: the cost threshold is "
                       "degenerate.")
    if reg and not reg.get("promoted"):
        actions.append("Keep the current champion in production; the new candidate was not better.")
    elif reg:
        actions.append("Put the new champion in production behind its decision threshold and "
                       "staff the review team for its alert volume.")
    actions.append("Re-run this analysis monthly on the latest extract.")
    return actions


def board_summary(output_dir=None) -> dict:
    """Return the summary's sections (markdown) and the numbers they quote."""
    from . import concentration  # it uses this module's pct and times

    results = read_run_results(output_dir)
    loss = prevented_loss(output_dir, results.get("modeling"))
    return {
        "analysed": analysed_text(results),
        "concentration": concentration.concentration_text(results),
        "compromise": compromise_text(results),
        "expected_frauds": expected_frauds_text(results),
        "model": model_text(results, loss),
        "registry": registry_text(results),
        "drift": drift_text(results),
        "next_actions": next_actions(results),
        "loss": loss,
        "pages": detail_pages(results),
    }


def summary_markdown(summary: dict, part: str = "all") -> str:
    """Return the summary as markdown: ``situation`` (what and where), ``decisions`` (the rest).

    Links to every detailed page close the ``decisions`` part.
    """
    actions = "\n".join(f"{i}. {a}" for i, a in enumerate(summary["next_actions"], start=1))
    links = " · ".join(f"[{title}]({page})" for title, page in summary["pages"])
    situation = ["## What we analysed", summary["analysed"],
                 "## Where fraud concentrates", summary["concentration"],
                 "## Where cards were compromised", summary["compromise"]]
    decisions = ["## What to expect each day", summary["expected_frauds"],
                 "## The model we recommend", summary["model"],
                 "## In production", summary["registry"],
                 "## Is the data still like the data the model learned from?", summary["drift"],
                 "## What to do next", actions,
                 "## The details", links]
    chosen = {"situation": situation, "decisions": decisions, "all": situation + decisions}[part]
    return "\n\n".join(chosen)


def summary_results(summary: dict) -> dict:
    """The summary's own results for run.json: the loss estimate and the actions."""
    return {"loss_prevented": summary["loss"], "next_actions": summary["next_actions"]}
