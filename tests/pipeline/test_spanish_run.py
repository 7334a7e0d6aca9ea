"""A smoke run with ``report.language=es``: every page in Spanish, numbers the Colombian way."""

from __future__ import annotations

import html
import html.parser
import json
import re

import pytest


@pytest.mark.slow
def test_a_spanish_run_writes_every_page_in_spanish(spanish_smoke_run):
    out, done, _ = spanish_smoke_run  # the session's one Spanish smoke run (tests/conftest.py)
    assert "without a current es translation" not in done.stdout + done.stderr  # all translated
    record = json.loads((out / "run.json").read_text())
    assert record["params"]["report"]["language"] == "es"
    pages = {p.name: p.read_text() for p in (out / "site").glob("*.html")}
    assert len(pages) == 8 and all('<html lang="es">' in text for text in pages.values())
    home = html.unescape(re.sub(r"<[^>]+>", "", pages["index.html"]))
    rows, rate = record["data"]["rows"], 100 * record["load"]["fraud_rate"]
    assert f"{rows:,}".replace(",", ".") + " compras con tarjeta" in home
    assert f"{rate:.1f} %".replace(".", ",") in home
    for heading in ("Qué analizamos", "Dónde se concentra el fraude", "El modelo que recomendamos",
                    "Qué hacer ahora"):
        assert heading in home
    assert "We analysed" not in home and "What to do next" not in home
    eda = html.unescape(re.sub(r"<[^>]+>", "", pages["eda.html"]))
    assert "Análisis exploratorio" in eda and "Balance de clases" in eda
    assert "tasa de fraude" in eda and "Class balance" not in eda


# an English data key left as a header: snake_case (cv_average_precision, tag: test_recall) or a
# model key (logistic_regression, hist_gradient_boosting+history)
ENGLISH_KEY = re.compile(r"[a-z]+_[a-z_]+|\b(?:base|logistic|tree|boosting|forest)\+history\b")


class _HeaderCells(html.parser.HTMLParser):
    """Collects the text of every ``<th>`` of a page."""

    def __init__(self):
        super().__init__()
        self.headers, self._open = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "th":
            self._open = []

    def handle_data(self, data):
        if self._open is not None:
            self._open.append(data)

    def handle_endtag(self, tag):
        if tag == "th" and self._open is not None:
            self.headers.append("".join(self._open).strip())
            self._open = None


@pytest.mark.slow
def test_no_table_of_a_spanish_page_has_an_english_data_key_as_header(spanish_smoke_run):
    out, *_rest = spanish_smoke_run  # the session's one Spanish smoke run (tests/conftest.py)
    english = {}
    headers = 0
    for page in sorted((out / "site").glob("*.html")):
        cells = _HeaderCells()
        cells.feed(page.read_text())
        headers += len(cells.headers)
        found = sorted({h for h in cells.headers if ENGLISH_KEY.search(h)})
        if found:
            english[page.name] = found
    assert headers > 300  # every page's tables were read
    assert not english, f"English data keys as table headers: {english}"
    modeling = html.unescape((out / "site" / "modeling.html").read_text())
    assert "<th" in modeling and "gradient boosting (HGB) + historial" in modeling
    assert "PR-AUC en validación cruzada" in modeling and "alertas por día" in modeling
