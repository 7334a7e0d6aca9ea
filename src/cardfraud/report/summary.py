"""The executive summary for the presidency: plain words, few numbers, all from the run.

Every number here is read from the run's artifacts (``artifacts/results/*.json``, the test
predictions and the transactions); nothing is recomputed or re-estimated.
"""

from __future__ import annotations

from pathlib import Path

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
from .locale_format import format_date, format_percent
from .markup import code, sentence
from .translate import N_, _, translate

# shown through translate(): the summary's links (runner.contract.PAGE_LINKS) and statuses
PAGE_LINK_WORDS = (N_("the data and its quality"), N_("where fraud concentrates"),
                   N_("where fraud happens on the map"), N_("purchases through the channels"),
                   N_("how the models were compared"), N_("the model in production"),
                   N_("is today's data like the training data"))
STATUS_WORDS = (N_("OK"), N_("WATCH"), N_("ALERT"))


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
    """Format a 0-1 share as a percentage (in the language in use: 8.7 % or 8,7 %)."""
    return format_percent(share, digits)


def times(a: float, b: float) -> str:
    """Say how many times ``a`` is ``b``, in words."""
    if not b:
        return format_percent(None)
    return sentence(_("{n:.0f} times") if a / b >= 2 else _("{n:.1f} times"), n=a / b)


def analysed_text(results: dict) -> str:
    """One paragraph: what was analysed (purchases, period, source)."""
    data = results["load"]["data"]
    eda = results.get("eda", {})
    source = (sentence(_("the bank's extract {name}"), name=code(data["path"].rsplit("/", 1)[-1]))
              if data["source"] == "file" else _("the built-in transaction simulator"))
    period = (sentence(_(" over {days} days ({start} to {end})"), days=eda["days"],
                       start=format_date(eda["period_start"]), end=format_date(eda["period_end"]))
              if eda.get("days") else "")
    return sentence(_("We analysed **{rows:,} card purchases**{period}, from {source}. "
                      "**{rate}** of them were fraudulent."), rows=data["rows"], period=period,
                    source=source, rate=pct(results["load"]["fraud_rate"]))


def expected_frauds_text(results: dict) -> str:
    """Expected frauds per day (or per batch) from the channel simulation."""
    sim = results.get("channel_simulation")
    if not sim:
        return _("The channel simulation did not run.")
    per_day = sim.get("expected_frauds_per_day")
    if per_day:
        online, onsite = per_day["online"], per_day["onsite"]
        return sentence(_("On a typical day of {purchases:,.0f} purchases, expect **{online_low:,.0f} "
                          "to {online_high:,.0f} online frauds** and {onsite_low:,.0f} to "
                          "{onsite_high:,.0f} onsite (90 % of days)."),
                        purchases=sim["purchases_per_day"], online_low=online["low"],
                        online_high=online["high"], onsite_low=onsite["low"],
                        onsite_high=onsite["high"])
    batch = sim["expected_frauds_per_batch"]
    return sentence(_("In a batch of {purchases:,} purchases, expect **{online_low:,.0f} to "
                      "{online_high:,.0f} online frauds** and {onsite_low:,.0f} to "
                      "{onsite_high:,.0f} onsite (90 % of batches)."),
                    purchases=sim["purchases"], online_low=batch["online"]["low"],
                    online_high=batch["online"]["high"], onsite_low=batch["onsite"]["low"],
                    onsite_high=batch["onsite"]["high"])


def _alerts_and_caught(predictions: Path, threshold: float, output_dir=None) -> dict:
    """Alerts, caught frauds and their amount (None without amounts) from a pandas run's
    test scores and transactions."""
    scores = pd.read_parquet(predictions)
    alerts = scores["probability"].to_numpy() >= threshold
    caught = alerts & (scores["fraud"].to_numpy() == 1)
    amount = None
    if "amount" in pyarrow.parquet.read_schema(transactions_path(output_dir)).names:
        amounts = pd.read_parquet(transactions_path(output_dir), columns=["amount"])["amount"]
        amount = float(amounts.to_numpy()[scores["row"].to_numpy()[caught]].sum())
    return {"alerts": int(alerts.sum()), "caught": int(caught.sum()), "caught_amount": amount}


def _spark_alerts_and_caught(predictions: Path, threshold: float, output_dir=None) -> dict:
    """The same counts from a Spark run's folder of test scores, summed on the executors."""
    from ..engines.spark_summary import alerts_and_caught
    from ..runner.artifacts import load_step_results

    engine = load_step_results("load", output_dir)["data"].get("engine")
    return alerts_and_caught(predictions, threshold, engine)


def prevented_loss(output_dir=None, modeling: dict | None = None) -> dict | None:
    """Losses the model would have prevented on the test period, from its saved scores.

    Assumptions: a caught fraud saves its amount (or the cost of a missed fraud when there are
    no amounts); every alert is reviewed at the review cost. None when the scores are missing
    or were made from other data than the transactions (e.g. after ``--only load``).
    """
    predictions = artifact_path(TEST_PREDICTIONS, output_dir)
    if modeling is None or not predictions.exists():
        return None
    if modeling.get(DATA_FINGERPRINT) != data_fingerprint(output_dir):
        return None
    counts = (_spark_alerts_and_caught(predictions, modeling["threshold"], output_dir)
              if predictions.is_dir() else _alerts_and_caught(predictions, modeling["threshold"],
                                                              output_dir))
    costs = modeling["costs"]
    currency = modeling.get("currency") or (modeling.get("costs") or {}).get("currency", "")
    if counts["caught_amount"] is not None:
        saved = counts["caught_amount"]
        basis = _("a caught fraud saves its amount")
    else:
        saved = float(counts["caught"] * costs["cost_missed_fraud"])
        basis = sentence(_("a caught fraud saves {cost:,.0f} {currency}"),
                         cost=costs["cost_missed_fraud"], currency=currency)
    review = float(counts["alerts"] * costs["cost_review"])
    days = (modeling.get("split") or {}).get("test_days")
    return {"frauds_caught": counts["caught"], "alerts": counts["alerts"],
            "saved": saved, "review_cost": review, "net": saved - review, "test_days": days,
            "currency": currency,
            "assumptions": sentence(_("{basis}; each alert is reviewed at {cost:,.0f} {currency}"),
                                    basis=basis, cost=costs["cost_review"], currency=currency)}


def model_text(results: dict, loss: dict | None) -> str:
    """The recommended model: share of fraud caught, alert volume, loss prevented."""
    modeling = results.get("modeling")
    if not modeling:
        return _("The modeling step did not run.")
    m = modeling["test_metrics"]
    alerts_share = (m["tp"] + m["fp"]) / modeling["test_rows"]
    per_day = (sentence(_(" (about {alerts:,.0f} alerts a day)"), alerts=m["alerts_per_day"])
               if m.get("alerts_per_day") else "")
    text = sentence(_("The recommended model, **{model}**, catches **{recall} of frauds** while "
                      "sending **{alerts} of purchases** to review{per_day}; {precision} of its "
                      "alerts are real frauds. It was tested on purchases it never saw (PR-AUC "
                      "{pr_auc:.2f})."), model=model_in_words(modeling["best_model"]),
                    recall=pct(m["recall"], 0), alerts=pct(alerts_share), per_day=per_day,
                    precision=pct(m["precision"], 0), pr_auc=m["average_precision"])
    text += holds_over_time_text(modeling)
    if m.get("recall_at_budget") is not None and modeling.get("alert_budget"):
        text += sentence(_(" If the review team can only take {budget} of purchases, the "
                           "top-scored ones catch {recall} of frauds and {precision} of those "
                           "alerts are real frauds."), budget=pct(modeling["alert_budget"], 0),
                         recall=pct(m["recall_at_budget"], 0),
                         precision=pct(m["precision_at_budget"], 0))
    if modeling.get("threshold_warning"):
        text += sentence("\n\n**{warning}**", warning=translate(modeling["threshold_warning"]))
    if loss:
        span = (sentence(_(" in the {days} test days"), days=loss["test_days"])
                if loss.get("test_days") else _(" on the test data"))
        text += sentence(_(" It would have prevented an estimated **{net:,.0f} {currency}** of "
                           "losses, net of review costs,{span} ({caught:,} frauds caught; "
                           "assumptions: {assumptions})."), net=loss["net"],
                         currency=loss["currency"], span=span, caught=loss["frauds_caught"],
                         assumptions=loss["assumptions"])
    return text


def holds_over_time_text(modeling: dict) -> str:
    """One sentence: the test PR-AUC's 95 % interval and the weekly backtest's mean (or '')."""
    found = (modeling.get("bootstrap") or {}).get("candidates", {}).get(modeling["best_model"])
    if not found:
        return ""
    ap = found["average_precision"]
    text = sentence(_(" Allowing for chance, its PR-AUC lies between {low:.2f} and {high:.2f} "
                      "(95 % interval)"), low=ap["low"], high=ap["high"])
    backtest = (modeling.get("backtest") or {}).get("summary", {}).get("average_precision")
    if backtest and backtest.get("std") is not None:
        text += sentence(_(", and retrained week after week it scored {mean:.2f} ± {std:.2f} "
                           "over {weeks} weeks"), mean=backtest["mean"], std=backtest["std"],
                         weeks=backtest["windows"])
    return text + "."


def registry_text(results: dict) -> str:
    """Which version is in production and whether this run changed it."""
    reg = results.get("registry")
    if not reg:
        return _("The registry step did not run: no model is in production from this run.")
    champion = reg.get("champion_version")
    since = reg.get("champion_since") or (reg.get("decided_at") if reg.get("promotion_pending")
                                          else None)
    changed = (_("was promoted to champion") if reg.get("promoted")
               else _("did not replace the champion"))
    reason = translate(reg.get("reason") or _("not recorded"))
    if champion is None:
        return sentence(_("No version of {model} is in production: this run's model {changed}. "
                          "Why: {reason}."), model=code(reg["model_name"]), changed=changed,
                        reason=reason)
    return sentence(_("Version **{champion}** of {model} is the champion in production{since}. "
                      "This run's model (version {version}) {changed}. Why: {reason}."),
                    champion=champion, model=code(reg["model_name"]),
                    since=sentence(_(" since {date}"), date=format_date(since)) if since else "",
                    version=reg.get("version"), changed=changed, reason=reason)


def drift_text(results: dict) -> str:
    """The drift status in words."""
    mon = results.get("monitoring")
    if not mon:
        return _("The monitoring step did not run.")
    status = mon.get("overall_status", "n/a")
    word = {"ok": _("no drift"), "watch": _("some drift to watch"),
            "alert": _("drift that needs action")}
    return sentence(_("Drift status: **{status}** ({word}). {recommendation}"),
                    status=translate(status.upper()), word=word.get(status, status),
                    recommendation=translate(mon.get("recommendation", "")))


def next_actions(results: dict) -> list[str]:
    """What to do next, from the run's findings."""
    actions = []
    mon, eda, reg = results.get("monitoring", {}), results.get("eda", {}), results.get("registry", {})
    advice = {
        "retrain": _("Retrain the model on recent purchases: its performance or its inputs moved."),
        "check_data_feed": _("Check the data feed with the data engineers before trusting the "
                             "new extract: some columns look broken."),
        "investigate": _("Have the fraud analysts look at the drifting features before the next "
                         "run."),
        "watch": _("Watch the drifting features in next month's monitoring run."),
    }
    if mon.get("action") in advice:
        actions.append(advice[mon["action"]])
    channel = eda.get("fraud_rate_by_channel", {})
    if channel and channel.get("online", 0) > 3 * channel.get("onsite", 0):
        actions.append(_("Require cardholder verification (one-time code or 3-D Secure) for "
                         "online purchases, where most fraud happens."))
    actions += compromise_actions(results)
    if (results.get("modeling") or {}).get("threshold_warning"):
        actions.append(_("Set the review cost (modeling.cost_review) in the currency and scale of "
                         "the purchase amounts and re-run modeling: the cost threshold is "
                         "degenerate."))
    if reg and not reg.get("promoted"):
        actions.append(_("Keep the current champion in production; the new candidate was not "
                         "better."))
    elif reg:
        actions.append(_("Put the new champion in production behind its decision threshold and "
                         "staff the review team for its alert volume."))
    actions.append(_("Re-run this analysis monthly on the latest extract."))
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
    links = " · ".join(f"[{translate(title)}]({page})" for title, page in summary["pages"])
    situation = ["## " + _("What we analysed"), summary["analysed"],
                 "## " + _("Where fraud concentrates"), summary["concentration"],
                 "## " + _("Where cards were compromised"), summary["compromise"]]
    decisions = ["## " + _("What to expect each day"), summary["expected_frauds"],
                 "## " + _("The model we recommend"), summary["model"],
                 "## " + _("In production"), summary["registry"],
                 "## " + _("Is the data still like the data the model learned from?"),
                 summary["drift"],
                 "## " + _("What to do next"), actions,
                 "## " + _("The details"), links]
    chosen = {"situation": situation, "decisions": decisions, "all": situation + decisions}[part]
    return "\n\n".join(chosen)


def summary_results(summary: dict) -> dict:
    """The summary's own results for run.json: the loss estimate and the actions."""
    return {"loss_prevented": summary["loss"], "next_actions": summary["next_actions"]}
