"""Numbers and dates in the reader's language, without the system's locales (CI has none).

English keeps the report's formats (``1,000,000``, ``8.7 %``, ``2024-01-01``); Spanish (Colombia)
writes ``1.000.000``, ``8,7 %`` and ``1 de enero de 2024``. Every function takes the language,
default the one in use (:func:`cardfraud.report.translate.current_language`).
"""

from __future__ import annotations

import datetime as dt
import numbers
import re
import string

from .translate import DEFAULT_LANGUAGE, current_language

MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
             "septiembre", "octubre", "noviembre", "diciembre")
MONTHS_ES_SHORT = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov",
                   "dic")
_SEPARATORS = str.maketrans({",": ".", ".": ","})
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def localize_number_text(text: str, language: str | None = None) -> str:
    """Return an English-formatted number (``1,234.5``) written the language's way."""
    if (language or current_language()) == DEFAULT_LANGUAGE:
        return text
    text = _NUMBER.sub(lambda m: m.group(0).translate(_SEPARATORS), text)
    return re.sub(r"(?<=\d)%", " %", text)  # "8,70 %": Spanish puts a space before the sign


def format_value(value, spec: str = "", language: str | None = None) -> str:
    """Return ``format(value, spec)`` in the language's number format (``{:,}``, ``{:.1%}``)."""
    return localize_number_text(format(value, spec), language)


def format_number(value: float, decimals: int = 0, language: str | None = None) -> str:
    """Return a number with thousands separators: ``1,000,000`` / ``1.000.000``."""
    return format_value(value, f",.{decimals}f", language)


def format_percent(share: float | None, decimals: int = 1, language: str | None = None) -> str:
    """Return a 0-1 share as a percentage, ``8.7 %`` / ``8,7 %`` (n/a / n. d. when unknown)."""
    language = language or current_language()
    if share is None:
        return "n/a" if language == DEFAULT_LANGUAGE else "n. d."
    return localize_number_text(f"{100 * share:.{decimals}f} %", language)


def format_date(value, language: str | None = None) -> str:
    """Return a date (``date``, ``datetime`` or ISO text): ``2024-01-01`` / ``1 de enero de 2024``.

    Text that is not an ISO date is returned as it is.
    """
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    if isinstance(day, dt.datetime):
        day = day.date()
    if (language or current_language()) == DEFAULT_LANGUAGE:
        return day.isoformat()
    return f"{day.day} de {MONTHS_ES[day.month - 1]} de {day.year}"


def format_short_date(value, with_year: bool = False, language: str | None = None) -> str:
    """Return a date as a figure's tick writes it: ``2024-03-15`` / ``15 mar`` (``15 mar 2024``
    with the year)."""
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    if (language or current_language()) == DEFAULT_LANGUAGE:
        return f"{day:%Y-%m-%d}"
    shown = f"{day.day} {MONTHS_ES_SHORT[day.month - 1]}"
    return f"{shown} {day.year}" if with_year else shown


class _NumberFormatter(string.Formatter):
    """``str.format`` writing every number in the language in use (no escaping: plain text)."""

    def format_field(self, value, format_spec: str) -> str:
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            return format_value(value, format_spec)
        return format(value, format_spec)


def fill(template: str, /, *args, **values) -> str:
    """Fill a plain-text template (a figure title, a printed line) with numbers in the language."""
    return _NumberFormatter().format(template, *args, **values)
