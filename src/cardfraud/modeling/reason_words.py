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

from ..report.locale_format import localize_number_text
from ..report.translate import DEFAULT_LANGUAGE, N_, translate
from .history import MINUTES_CAP  # minutes_since_previous at its cap: a card's first purchase

REASON_SEPARATOR = "; "


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


def phrase_in(template: str, language: str = DEFAULT_LANGUAGE, **numbers: float) -> str:
    """A phrase template (marked ``N_``) in ``language``, its numbers written as a reader does."""
    shown = {name: localize_number_text(number_text(v), language) for name, v in numbers.items()}
    return translate(template, language).format(**shown)


def count_text(value: float, one: str, many: str, none: str,
               language: str = DEFAULT_LANGUAGE) -> str:
    """A count with its noun: "1 purchase", "5 purchases", "1,200 purchases", "no purchase".

    ``one``, ``many`` and ``none`` are templates (``many`` holds ``{count}``)."""
    count = int(round(value))
    if count == 0:
        return phrase_in(none, language)
    return phrase_in(one, language) if count == 1 else phrase_in(many, language, count=count)


def percent_text(share: float, language: str = DEFAULT_LANGUAGE) -> str:
    """A share (0.12) as a percentage: "12 %", "0.4 %"."""
    return f"{localize_number_text(number_text(100 * share), language)} %"


def duration_text(minutes: float, language: str = DEFAULT_LANGUAGE) -> str:
    """Minutes in the unit a reviewer reads: "3 minutes", "5.2 hours", "3 days"."""
    if minutes < 120:
        if minutes >= 1:
            return count_text(minutes, N_("1 minute"), N_("{count} minutes"),
                              N_("{count} minutes"), language)
        return phrase_in(N_("{count} minutes"), language, count=minutes)
    if minutes < 48 * 60:
        return phrase_in(N_("{count} hours"), language, count=minutes / 60)
    return phrase_in(N_("{count} days"), language, count=minutes / 1440)


Phrase = Callable[[float, str], "str | None"]


def _flag(when_one: str, when_zero: str) -> Phrase:
    """A 0/1 input's phrase for each value (None for another value: named generically)."""
    return lambda value, language: (
        None if value not in (0, 1) else phrase_in(when_one if value == 1 else when_zero, language))


def _number(template: str) -> Phrase:
    """An input's phrase with its value in ``{number}``."""
    return lambda value, language: phrase_in(template, language, number=value)


def _count(one: str, many: str, none: str) -> Phrase:
    """An input counting purchases: its phrase for none, one and many."""
    return lambda value, language: count_text(value, one, many, none, language)


PHRASES: dict[str, Phrase] = {
    "distance_from_home": _number(N_("{number} km from the cardholder's home")),
    "distance_from_last_transaction": _number(N_("{number} km from the card's previous purchase")),
    "ratio_to_median_purchase_price": _number(N_("{number} times the card's median purchase")),
    "online_order": _flag(N_("online purchase"), N_("purchase in person")),
    "used_chip": _flag(N_("chip used"), N_("chip not used")),
    "used_pin_number": _flag(N_("PIN used"), N_("no PIN")),
    "repeat_retailer": _flag(N_("merchant the card has used before"),
                             N_("new merchant for this card")),
    "purchases_last_1h": _count(N_("1 purchase in the last hour"),
                                N_("{count} purchases in the last hour"),
                                N_("no purchase in the last hour")),
    "purchases_last_24h": _count(N_("1 purchase in the last 24 hours"),
                                 N_("{count} purchases in the last 24 hours"),
                                 N_("no purchase in the last 24 hours")),
    "purchases_last_7d": _count(N_("1 purchase in the last 7 days"),
                                N_("{count} purchases in the last 7 days"),
                                N_("no purchase in the last 7 days")),
    "amount_to_card_mean_7d": _number(N_("amount {number} times the card's 7-day mean")),
    "amount_to_card_mean_30d": _number(N_("amount {number} times the card's 30-day mean")),
    "minutes_since_previous": lambda value, language: translate(
        N_("no earlier purchase in the last 30 days"), language) if value >= MINUTES_CAP
    else translate(N_("{duration} after the previous purchase"), language).format(
        duration=duration_text(value, language)),
    "speed_from_previous_kmh": _number(N_("{number} km/h from the previous purchase")),
    "first_purchase_at_merchant": _flag(N_("first purchase at this merchant"),
                                        N_("card has bought at this merchant before")),
    "hour_of_day": lambda value, language: translate(N_("at {hour} h"), language).format(
        hour=int(value)),
    "merchant_fraud_rate_30d": lambda value, language: translate(
        N_("merchant's fraud rate {share} over 30 days"), language).format(
        share=percent_text(value, language)),
}

NAMES = {
    "distance_from_home": N_("distance from the cardholder's home"),
    "distance_from_last_transaction": N_("distance from the card's previous purchase"),
    "ratio_to_median_purchase_price": N_("ratio to the card's median purchase"),
    "online_order": N_("channel (online or in person)"),
    "used_chip": N_("chip use"),
    "used_pin_number": N_("PIN use"),
    "repeat_retailer": N_("whether the card has used this merchant before"),
    "minutes_since_previous": N_("time since the card's previous purchase"),
    "speed_from_previous_kmh": N_("speed from the card's previous purchase"),
    "merchant_fraud_rate_30d": N_("merchant's fraud rate over 30 days"),
}


def input_name(name: str, language: str = DEFAULT_LANGUAGE) -> str:
    """What the fraud team calls an input ("distance from the cardholder's home")."""
    return translate(NAMES[name], language) if name in NAMES else name.replace("_", " ")


def reason_text(name: str, value: float | None, language: str = DEFAULT_LANGUAGE) -> str:
    """The phrase for one input of one purchase: "8.3 times the card's median purchase".

    An empty value (NaN or None) reads "<input> unknown"; an input without a phrase, or a
    flag with a value other than 0/1, reads "<input> <value>". ``language``: the page's (the
    scorer's answers stay English).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return translate(N_("{input} unknown"), language).format(input=input_name(name, language))
    value = float(value)
    phrase = PHRASES.get(name)
    text = phrase(value, language) if phrase is not None else None
    if text is not None:
        return text
    return f"{input_name(name, language)} {localize_number_text(number_text(value), language)}"


def reasons_text(names: list[str], values: list[float], language: str = DEFAULT_LANGUAGE) -> str:
    """One purchase's reasons, most important first, joined by "; " ("" when none)."""
    return REASON_SEPARATOR.join(reason_text(n, v, language)
                                 for n, v in zip(names, values, strict=True))
