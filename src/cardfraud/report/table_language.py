"""Tables in the reader's language: headers, row labels and words translated, numbers written
the language's way, while the data (its columns, its values) stays English.

:func:`cardfraud.report.markup.html_table` takes the formats of :func:`formats_in_language`
(the Styler then shows translated labels over English data, so a caller's ``subset=["status"]``
still works); a DataFrame shown as a cell's result is shown as :func:`frame_in_language`
(:func:`cardfraud.report.translate.use_language` sets that display). The words come from the
catalogue; the plain-language ones are listed in :mod:`.table_words`.
"""

from __future__ import annotations

import html
import re

import pandas as pd

from .locale_format import fill, localize_number_text
from .table_words import CANDIDATE_NAMES, COLUMN_HEADERS, KEY_PREFIXES, MODEL_WITH_HISTORY
from .translate import DEFAULT_LANGUAGE, current_language, translate

# a text cell that starts with a number written in English: "20,000", "1,234 (0.5 %)"
_LEADING_NUMBER = re.compile(r"^\d[\d,]*(?:\.\d+)?(?=\s|$)")


def _localized(fmt):
    """Return ``fmt`` (a format string or function) writing its number the language's way."""
    write = fmt.format if isinstance(fmt, str) else fmt
    return lambda value: localize_number_text(write(value))


def model_label(key: str, language: str | None = None) -> str:
    """Return a model key for a table or a sentence: the key itself in English, the model's
    name in another language (``hist_gradient_boosting+history``: ``gradient boosting (HGB) +
    historial``). Any other text is returned as it is."""
    language = language or current_language()
    candidate = key.removesuffix("+history") if isinstance(key, str) else key
    if language == DEFAULT_LANGUAGE or candidate not in CANDIDATE_NAMES:
        return key
    name = translate(CANDIDATE_NAMES[candidate], language)
    if candidate == key:
        return name
    return fill(translate(MODEL_WITH_HISTORY, language), model=name)


def key_words(key: str, language: str | None = None) -> str:
    """Return a data key (column, metric, model or feature set) in the words of ``language``:
    the key itself in English or when it has no words (``test_recall``: ``sensibilidad de
    prueba``; ``tag: feature_set``: ``etiqueta: conjunto de variables``)."""
    language = language or current_language()
    if language == DEFAULT_LANGUAGE or not isinstance(key, str):
        return key
    if translate(key, language) != key:  # a plain word of the catalogue: "recall"
        return translate(key, language)
    if key in COLUMN_HEADERS:
        return translate(COLUMN_HEADERS[key], language)
    if model_label(key, language) != key:
        return model_label(key, language)
    for prefix, template in KEY_PREFIXES.items():
        rest = key.removeprefix(prefix)
        if rest != key and key_words(rest, language) != rest:
            return fill(translate(template, language), name=key_words(rest, language))
    return key


def _words(value):
    """A text cell: its translation when catalogued, a data key's words (:func:`key_words`),
    else with a leading number (``20,000``, ``0 (dropped: 0)``) written the language's way;
    any other value as it is."""
    if not isinstance(value, str):
        return value
    shown = translate(value)
    if shown == value:
        shown = key_words(value)
    if shown == value and _LEADING_NUMBER.match(value):
        return _LEADING_NUMBER.sub(lambda m: localize_number_text(m.group(0)), value, count=1)
    return shown


def escaped_words(value):
    """A text cell or label the Styler has already HTML-escaped: its translation, escaped."""
    if not isinstance(value, str):
        return value
    plain = html.unescape(value)
    shown = _words(plain)
    return value if shown == plain else html.escape(shown)


def _default_float(value) -> str:
    """A float with no format of its own: six significant digits, separators from a million."""
    return f"{value:.6g}" if abs(value) < 1e6 else f"{value:,.0f}"


def formats_in_language(table: pd.DataFrame, formats: dict) -> dict:
    """Return Styler formats for every column: numbers the language's way, words translated."""
    shown = {}
    for column in table.columns:
        values = table[column]
        if pd.api.types.is_bool_dtype(values):
            continue
        if pd.api.types.is_integer_dtype(values):
            shown[column] = _localized("{:,}")
        elif pd.api.types.is_numeric_dtype(values):
            shown[column] = _localized(_default_float)
        elif pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            shown[column] = escaped_words  # the Styler escapes a cell before formatting it
    shown.update({column: _localized(fmt) for column, fmt in formats.items()})
    return shown


def frame_in_language(table: pd.DataFrame, na_rep: str = "–") -> pd.DataFrame:
    """Return a copy of a DataFrame for display: headers, labels and words translated, numbers
    written as text the language's way."""
    shown = table.copy()
    for column, write in formats_in_language(table, {}).items():
        write = _words if write is escaped_words else write  # pandas escapes what it shows
        shown[column] = table[column].map(lambda v, w=write: na_rep if _missing(v) else w(v))
    shown = shown.rename(columns=_words, index=_words)
    shown.columns = shown.columns.set_names([_words(n) for n in shown.columns.names])
    shown.index = shown.index.set_names([_words(n) for n in shown.index.names])
    return shown


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))
