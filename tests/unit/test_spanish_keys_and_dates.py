"""Spanish pages name data keys, models and dates in Spanish; English pages keep them as they are."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from cardfraud.report.table_language import frame_in_language, key_words, model_label
from cardfraud.report.translate import in_language

SNAKE_CASE = re.compile(r"[a-z]+_[a-z_]+")


@pytest.mark.parametrize("key,spanish", [
    ("cv_average_precision", "PR-AUC en validación cruzada"),
    ("alerts_per_day", "alertas por día"),
    ("feature_set", "conjunto de variables"),
    ("fit_seconds", "segundos de ajuste"),
    ("test_recall", "sensibilidad de prueba"),
    ("test_average_precision", "PR-AUC de prueba"),
    ("tag: test_alerts_per_day", "etiqueta: alertas por día de prueba"),
    ("base+history", "base + historial"),
    ("logistic_regression", "regresión logística"),
    ("hist_gradient_boosting+history", "gradient boosting (HGB) + historial"),
    ("distance_from_home", "distancia al domicilio"),
])
def test_a_data_key_reads_in_spanish_and_stays_itself_in_english(key, spanish):
    with in_language("es"):
        assert key_words(key) == spanish
    assert key_words(key, "en") == key
    assert model_label("random_forest+history", "en") == "random_forest+history"


def test_a_spanish_table_shows_no_snake_case_header_and_keeps_its_data():
    table = pd.DataFrame({"feature_set": ["base+history"], "cv_average_precision": [0.93],
                          "fit_seconds": [1.5]},
                         index=pd.Index(["decision_tree+history"], name="candidate"))
    with in_language("es"):
        shown = frame_in_language(table)
    assert list(shown.columns) == ["conjunto de variables", "PR-AUC en validación cruzada",
                                   "segundos de ajuste"]
    assert list(shown.index) == ["árbol de decisión + historial"]
    assert shown.iloc[0, 0] == "base + historial" and shown.iloc[0, 1] == "0,93"
    assert not any(SNAKE_CASE.search(str(h)) for h in [*shown.columns, *shown.index])
    assert list(table.columns) == ["feature_set", "cv_average_precision", "fit_seconds"]


def test_every_context_column_message_is_in_spanish_even_when_the_column_is_missing():
    from cardfraud.data.context import context_columns_table

    for columns in ([], ["transaction_id", "timestamp", "card_id", "merchant_id", "amount",
                         "latitude", "longitude", "city"]):
        table = context_columns_table(columns)
        with in_language("es"):
            shown = frame_in_language(table)
        assert all(shown["análisis"].str.match(r"(se usa para|desactivado:) ")), shown
        assert "en el extracto" in shown.columns


@pytest.mark.parametrize("reason_of,spanish", [
    (["fraud"], "las compras no tienen card_id y timestamp"),
    (pd.DataFrame({"card_id": ["a", None], "timestamp": pd.to_datetime(["2024-01-01", None])}),
     "1 compras no tienen card_id y 1 compras no tienen timestamp"),
])
def test_the_history_is_unavailable_reason_is_in_spanish(reason_of, spanish):
    from cardfraud.modeling.feature_sets import history_unavailable_reason

    with in_language("es"):
        reason = history_unavailable_reason(reason_of)
    assert reason.startswith("Solo se usan las variables base: ") and spanish in reason
    assert history_unavailable_reason(reason_of).startswith("Only the base inputs are used: ")


def _date_ticks(language: str, start: str, days: int) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cardfraud.report.figures import draw_daily_counts_and_rate

    with in_language(language):
        fig, ax = plt.subplots()
        stamps = pd.date_range(start, periods=days)
        draw_daily_counts_and_rate(ax, stamps, [100] * days, [0.1] * days)
        fig.canvas.draw()
        ticks = [t.get_text() for t in ax.get_xticklabels()]
    plt.close(fig)
    return ticks


def test_a_spanish_date_axis_writes_spanish_month_names_without_system_locales():
    ticks = _date_ticks("es", "2024-11-20", 60)
    assert ticks[0] == "22 nov 2024" and "1 dic" in ticks and "1 ene 2025" in ticks
    english = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b")
    assert not any(english.search(t) for t in ticks)
    assert all(re.fullmatch(r"\d{1,2} [a-z]{3,4}( \d{4})?", t) for t in ticks), ticks


def test_an_english_date_axis_keeps_matplotlibs_dates():
    assert _date_ticks("en", "2024-11-20", 60)[:2] == ["2024-11-22", "2024-12-01"]


def test_the_date_formatter_puts_the_year_on_the_first_tick_and_on_a_new_year():
    import matplotlib.dates as mdates

    from cardfraud.report.figures import DateTicksInLanguage

    days = [mdates.date2num(pd.Timestamp(d)) for d in ("2024-12-15", "2025-01-01", "2025-08-31")]
    assert DateTicksInLanguage("es").format_ticks(days) == ["15 dic 2024", "1 ene 2025",
                                                            "31 ago"]


def test_what_each_absent_raw_input_needs_reads_in_spanish_and_names_real_settings():
    from cardfraud.data.codes import ONLINE_CATEGORY_SUFFIX
    from cardfraud.data.raw import INPUT_NEEDS
    from cardfraud.report.translate import translate

    assert f"load.codes.{ONLINE_CATEGORY_SUFFIX}" in INPUT_NEEDS["online_order"]
    with in_language("es"):
        spanish = {name: translate(needs) for name, needs in INPUT_NEEDS.items()}
    assert spanish["online_order"].startswith("el canal (channel), o la categoría")
    assert all(spanish[name] != INPUT_NEEDS[name] for name in INPUT_NEEDS
               if name not in ("ratio_to_median_purchase_price", "repeat_retailer"))
