"""The reasons of an alert in the fraud team's words: one short phrase per input and value.

``reason_text("distance_from_home", 1250)`` is "1,250 km from the cardholder's home". Every
base input and every card-history input (:mod:`cardfraud.modeling.history`) has its phrase;
an input unknown on the purchase (empty: a card without a home) says so; an input without a
phrase of its own is named with its value, so a model fitted on new inputs still explains
itself. The phrases never hold ";", which joins a purchase's reasons.
"""

from __future__ import annotations

import math
from collections.abc import Callable

REASON_SEPARATOR = "; "
# minutes_since_previous' cap (cardfraud.modeling.history.MINUTES_CAP): a card's first purchase
MINUTES_CAP = 30 * 24 * 60.0


def number_text(value: float) -> str:
    """A number as a reader writes it: 1,250 / 340 / 8.3 / 0.04 (thousands separators)."""
    size = abs(value)
    if size >= 10:
        return f"{value:,.0f}"
    if size >= 1:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2g}" if size > 0 else "0"
    return text[:-2] if text.endswith(".0") else text


def count_text(value: float, one: str, many: str) -> str:
    """A count with its noun: "1 purchase", "5 purchases", "1,200 purchases", "no purchase"."""
    count = int(round(value))
    if count == 0:
        return f"no {one}"
    return f"{count:,} {one if count == 1 else many}"


def percent_text(share: float) -> str:
    """A share (0.12) as a percentage: "12 %", "0.4 %"."""
    return f"{number_text(100 * share)} %"


def duration_text(minutes: float) -> str:
    """Minutes in the unit a reviewer reads: "3 minutes", "5.2 hours", "3 days"."""
    if minutes < 120:
        return count_text(minutes, "minute", "minutes") if minutes >= 1 else \
            f"{number_text(minutes)} minutes"
    if minutes < 48 * 60:
        return f"{number_text(minutes / 60)} hours"
    return f"{number_text(minutes / 1440)} days"


def _flag(when_one: str, when_zero: str) -> Callable[[float], str | None]:
    """A 0/1 input's phrase for each value (None for another value: named generically)."""
    return lambda value: {1: when_one, 0: when_zero}.get(value)


PHRASES: dict[str, Callable[[float], str | None]] = {
    "distance_from_home": lambda v: f"{number_text(v)} km from the cardholder's home",
    "distance_from_last_transaction":
        lambda v: f"{number_text(v)} km from the card's previous purchase",
    "ratio_to_median_purchase_price":
        lambda v: f"{number_text(v)} times the card's median purchase",
    "online_order": _flag("online purchase", "purchase in person"),
    "used_chip": _flag("chip used", "chip not used"),
    "used_pin_number": _flag("PIN used", "no PIN"),
    "repeat_retailer": _flag("merchant the card has used before", "new merchant for this card"),
    "purchases_last_1h":
        lambda v: count_text(v, "purchase", "purchases") + " in the last hour",
    "purchases_last_24h":
        lambda v: count_text(v, "purchase", "purchases") + " in the last 24 hours",
    "purchases_last_7d":
        lambda v: count_text(v, "purchase", "purchases") + " in the last 7 days",
    "amount_to_card_mean_7d": lambda v: f"amount {number_text(v)} times the card's 7-day mean",
    "amount_to_card_mean_30d": lambda v: f"amount {number_text(v)} times the card's 30-day mean",
    "minutes_since_previous": lambda v: "no earlier purchase in the last 30 days"
    if v >= MINUTES_CAP else f"{duration_text(v)} after the previous purchase",
    "speed_from_previous_kmh": lambda v: f"{number_text(v)} km/h from the previous purchase",
    "first_purchase_at_merchant": _flag("first purchase at this merchant",
                                        "card has bought at this merchant before"),
    "hour_of_day": lambda v: f"at {int(v)} h",
    "merchant_fraud_rate_30d":
        lambda v: f"merchant's fraud rate {percent_text(v)} over 30 days",
}
# what an input is called when its value is unknown on the purchase
NAMES = {
    "distance_from_home": "distance from the cardholder's home",
    "distance_from_last_transaction": "distance from the card's previous purchase",
    "ratio_to_median_purchase_price": "ratio to the card's median purchase",
    "online_order": "channel (online or in person)",
    "used_chip": "chip use",
    "used_pin_number": "PIN use",
    "repeat_retailer": "whether the card has used this merchant before",
    "minutes_since_previous": "time since the card's previous purchase",
    "speed_from_previous_kmh": "speed from the card's previous purchase",
    "merchant_fraud_rate_30d": "merchant's fraud rate over 30 days",
}


def input_name(name: str) -> str:
    """What the fraud team calls an input ("distance from the cardholder's home")."""
    return NAMES.get(name, name.replace("_", " "))


def reason_text(name: str, value: float | None) -> str:
    """The phrase for one input of one purchase: "8.3 times the card's median purchase".

    An empty value (NaN or None) reads "<input> unknown"; an input without a phrase, or a
    flag with a value other than 0/1, reads "<input> <value>".
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{input_name(name)} unknown"
    value = float(value)
    phrase = PHRASES.get(name)
    text = phrase(value) if phrase is not None else None
    return text if text is not None else f"{input_name(name)} {number_text(value)}"


def reasons_text(names: list[str], values: list[float]) -> str:
    """One purchase's reasons, most important first, joined by "; " ("" when none)."""
    return REASON_SEPARATOR.join(reason_text(n, v) for n, v in zip(names, values, strict=True))
