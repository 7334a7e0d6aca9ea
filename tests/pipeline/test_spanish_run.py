"""A smoke run with ``report.language=es``: every page in Spanish, numbers the Colombian way."""

from __future__ import annotations

import html
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
