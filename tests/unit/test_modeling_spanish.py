"""The modeling page's issue-15 sentences and words in Spanish; the scorer's reasons stay English."""

import pandas as pd

from cardfraud.modeling.bootstrap import intervals_sentence
from cardfraud.modeling.feature_sets import history_lift
from cardfraud.modeling.reason_words import reasons_text
from cardfraud.report.pdf import pdf_note
from cardfraud.report.translate import in_language

NAMES = ["distance_from_home", "purchases_last_1h", "minutes_since_previous", "used_pin_number"]
VALUES = [1250.0, 4.0, 2.0, 0.0]


def test_reasons_in_spanish_on_a_spanish_page():
    assert reasons_text(NAMES, VALUES, "es") == (
        "a 1.250 km del domicilio del tarjetahabiente; 4 compras en la última hora; "
        "2 minutos después de la compra anterior; sin PIN")


def test_the_scorers_reasons_stay_english_whatever_the_page_language():
    english = ("1,250 km from the cardholder's home; 4 purchases in the last hour; "
               "2 minutes after the previous purchase; no PIN")
    assert reasons_text(NAMES, VALUES) == english
    with in_language("es"):  # the registry page scores in a Spanish notebook: the API's words
        assert reasons_text(NAMES, VALUES) == english


def test_history_lift_in_spanish_with_colombian_numbers():
    comparison = pd.DataFrame({"average_precision": [0.84, 0.97],
                               "recall_at_budget": [0.119, 0.132]},
                              index=["hist_gradient_boosting", "hist_gradient_boosting+history"])
    with in_language("es"):
        text = history_lift(comparison, "hist_gradient_boosting+history")
    assert text == ("Con el historial de la tarjeta, el PR-AUC de prueba de gradient boosting "
                    "(HGB) sube de 0,84 a 0,97 y su sensibilidad en el presupuesto de alertas del "
                    "11,9 % al 13,2 %. El modelo elegido es gradient boosting (HGB) + historial "
                    "(variables base + historial).")


def test_intervals_sentence_in_spanish():
    found = {"average_precision": {"estimate": 0.966, "low": 0.945, "high": 0.979},
             "recall": {"estimate": 0.965, "low": 0.939, "high": 0.984}}
    bootstrap = {"resamples": 1000, "unit": "cards", "clusters": 1346, "chosen_model": "m",
                 "candidates": {"m": found}}
    with in_language("es"):
        text = intervals_sentence(bootstrap)
    assert text.startswith("m: PR-AUC 0,966 (IC 95 % 0,945-0,979), sensibilidad en el umbral "
                           "96,5 % (IC 95 % 93,9 %-98,4 %); 1.000 remuestreos bootstrap de las "
                           "1.346 tarjetas")


def test_pdf_line_in_spanish():
    with in_language("es"):
        assert "Este resumen en PDF para la junta directiva" in pdf_note({"engine": "chromium"})
        assert pdf_note({"engine": None, "reason": (
            "neither Quarto's PDF engine (typst or LaTeX) nor Chromium is installed")}) == (
            "*No hay PDF de este resumen: no está instalado ni el motor PDF de Quarto \\(typst o "
            "LaTeX\\) ni Chromium.*")


def test_backtest_figure_in_spanish_words_dates_and_numbers():
    import matplotlib.pyplot as plt

    from cardfraud.modeling.figures import plot_backtest

    windows = pd.DataFrame({"test_start": pd.date_range("2024-02-18", periods=3, freq="7D"),
                            "average_precision": [0.9, 0.95, 0.97],
                            "recall_at_budget": [0.1, 0.2, 0.15],
                            "period": ["training", "training", "held-out test"]})
    summary = pd.DataFrame({"mean": [0.94, 0.15]},
                           index=["average_precision", "recall_at_budget"])
    with in_language("es"):
        fig = plot_backtest(windows, summary, "m", 7)
        fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_title() == "Backtest semanal de m"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["18 de febrero", "25 de febrero",
                                                            "3 de marzo"]
    assert "0,2" in [t.get_text() for t in ax.get_yticklabels()]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "PR-AUC: media 0,940" in legend and "periodo de prueba reservado" in legend
    plt.close(fig)
