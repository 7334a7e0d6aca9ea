"""The board pack: the smoke run's summary.pdf, read back with pypdf, quotes run.json.

A4, one to two pages, the summary's headings and key figures (purchases analysed, fraud rate,
the recommended model's recall and PR-AUC, the champion), the figure embedded, the run id;
the home page links it. Where the run could print no PDF, the home page says why in one line.
"""

from __future__ import annotations

import html
import json
import re

import pytest

pytestmark = pytest.mark.slow

A4_POINTS = (595.3, 841.9)
# the summary's headings, by report language (the site's `report.language`)
HEADINGS = {
    "en": ["Credit-card fraud: summary for the board", "What we analysed",
           "Where fraud concentrates", "Where cards were compromised", "What to expect each day",
           "The model we recommend", "In production",
           "Is the data still like the data the model learned from?", "What to do next"],
    "es": ["Fraude con tarjeta de crédito: resumen para la presidencia", "Qué analizamos",
           "Dónde se concentra el fraude", "Dónde se comprometieron las tarjetas",
           "Qué esperar cada día", "El modelo que recomendamos", "En producción",
           "¿Los datos se siguen pareciendo a los datos con los que aprendió el modelo?",
           "Qué hacer ahora"],
}
PDF_LINK = {"en": "This summary as a PDF for the board (A4)",
            "es": "Este resumen en PDF para la junta directiva (A4)"}
NO_PDF = {"en": "No PDF of this summary: ", "es": "No hay PDF de este resumen: "}
# report language -> the fixture of its executed smoke run
SMOKE_RUNS = {"en": "smoke_run", "es": "spanish_smoke_run"}
# the key figures' words, by language: purchases, frauds caught, the champion's version
WORDS = {"en": ("{} card purchases", "{} % of frauds", "Version {} of"),
         "es": ("{} compras con tarjeta", "el {} % de los fraudes", "La versión {} de")}


def in_language(number_text: str, language: str) -> str:
    """An English-written number (``20,000``, ``8.6``) as the language writes it."""
    if language == "en":
        return number_text
    return number_text.translate(str.maketrans({",": ".", ".": ","}))


def model_named(key: str, language: str) -> str:
    """The chosen model as the summary names it (e.g. with the card's history), in ``language``."""
    from cardfraud.modeling.feature_sets import model_in_words
    from cardfraud.report.translate import in_language as pages_in

    with pages_in(language):
        return model_in_words(key)


def key_figures(record: dict, language: str) -> list[str]:
    """The numbers of run.json the PDF must quote, written as the summary writes them."""
    metrics = record["modeling"]["test_metrics"]
    purchases, caught, version = WORDS[language]
    status = record["monitoring"]["overall_status"]
    return [purchases.format(in_language(f"{record['data']['rows']:,}", language)),
            in_language(f"{100 * record['load']['fraud_rate']:.1f}", language) + " %",
            caught.format(f"{100 * metrics['recall']:.0f}"),
            "PR-AUC " + in_language(f"{metrics['average_precision']:.2f}", language),
            model_named(record["modeling"]["best_model"], language),
            version.format(record["registry"]["champion_version"]),
            status.upper(),  # the status code, as the summary writes it in both languages
            record["run_id"]]


def flat(text: str) -> str:
    """Text with line breaks and runs of spaces as single spaces (PDF lines wrap anywhere)."""
    return re.sub(r"\s+", " ", text.replace("\u00ad", ""))


@pytest.mark.parametrize("language", sorted(SMOKE_RUNS))
def test_summary_pdf_is_a4_one_to_two_pages_and_quotes_run_json(request, language):
    import pypdf

    out, _, _ = request.getfixturevalue(SMOKE_RUNS[language])
    record = json.loads((out / "run.json").read_text())
    pdf = record["report"]["pdf"]
    home = html.unescape(re.sub(r"<[^>]+>", "", (out / "site" / "index.html").read_text()))
    if not pdf["engine"]:
        assert home.count(NO_PDF[language]) == 1 and not (out / "site" / "summary.pdf").exists()
        pytest.skip(f"this machine printed no PDF: {pdf['reason']}")
    assert pdf["file"] == "summary.pdf" and PDF_LINK[language] in home
    reader = pypdf.PdfReader(out / "site" / "summary.pdf")
    assert 1 <= len(reader.pages) <= 2
    for page in reader.pages:
        size = (float(page.mediabox.width), float(page.mediabox.height))
        assert size == pytest.approx(A4_POINTS, abs=2), f"page size {size} is not A4"
    text = flat(" ".join(page.extract_text() for page in reader.pages))
    for heading in HEADINGS[language]:
        assert heading in text, f"heading {heading!r} missing from the PDF"
    for figure in key_figures(record, language):
        assert figure in text, f"{figure!r} (run.json) missing from the PDF"
    assert "\u00b6" not in text, "a heading's anchor mark (¶) is printed"
    images = sum(len(page.images) for page in reader.pages)
    assert images >= 1, "the summary's figure is not in the PDF"
    assert NO_PDF[language] not in home
