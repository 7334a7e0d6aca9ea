"""The site in Spanish: every markdown cell and marked string translated and current, numbers
and dates written the Colombian way, ``<html lang="es">``, English pages unchanged."""

from __future__ import annotations

import json
import shutil
import string

import nbformat
import pytest
from conftest import ROOT

from cardfraud.report.locale_format import (
    format_date,
    format_number,
    format_percent,
    format_value,
)
from cardfraud.report.markup import html_table, sentence
from cardfraud.report.notebook_translation import source_hash, translated_notebook
from cardfraud.report.site import build_site, quarto_project
from cardfraud.report.translate import (
    _,
    current_language,
    in_language,
    strings_catalogue,
    use_language,
)
from cardfraud.report.translation_check import (
    cli,
    marked_strings,
    notebook_gaps,
    string_gaps,
)
from cardfraud.runner.config import ConfigError
from cardfraud.runner.parameter_rules import check_parameter_values
from cardfraud.runner.steps import Step, discover_steps

NOTEBOOKS = [step.notebook for step in discover_steps()]


def describe(gaps) -> str:
    return "\n".join(f"{g.kind}: {g.where} (source: {g.source}) {g.english[:60]!r}" for g in gaps)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_markdown_cell_has_a_current_spanish_translation(notebook):
    gaps = [g for g in notebook_gaps([notebook], "es") if g.kind != "unused"]
    assert not gaps, "run python -m cardfraud translations --check:\n" + describe(gaps)


def test_every_marked_string_has_a_spanish_translation():
    gaps = [g for g in string_gaps("es") if g.kind == "missing"]
    assert not gaps, "run python -m cardfraud translations --check:\n" + describe(gaps)


def test_the_catalogues_hold_nothing_that_no_longer_exists():
    assert not [g for g in notebook_gaps(NOTEBOOKS, "es") + string_gaps("es") if g.kind == "unused"]


def fields(template: str) -> set[str]:
    return {f"{name}:{spec}" for _, name, spec, _ in string.Formatter().parse(template) if name is not None}


def test_a_translation_keeps_the_fields_and_formats_of_its_english():
    # a field renamed or dropped in Spanish would raise or lose a number at run time
    for english, spanish in strings_catalogue("es").items():
        assert fields(spanish) == fields(english), f"{english!r} -> {spanish!r}"


def test_a_changed_english_cell_is_stale_and_stays_english_in_the_run(tmp_path):
    copy = tmp_path / "02_eda.ipynb"
    notebook = nbformat.read(ROOT / "notebooks" / "02_eda.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if c.get("id") == "cell-04")
    cell.source += " A sentence added after the translation."
    nbformat.write(notebook, copy)
    gaps = notebook_gaps([copy], "es")
    assert [(g.kind, g.where, g.source) for g in gaps] == \
        [("stale", "02_eda.ipynb cell-04", source_hash(cell.source))]
    translated, untranslated = translated_notebook(copy, "es")
    assert untranslated == ["cell-04"]
    texts = {c.get("id"): c.source for c in translated.cells}
    assert texts["cell-04"] == cell.source
    assert texts["cell-00"].startswith("# 2. Análisis exploratorio")


def test_a_missing_cell_and_a_missing_string_are_listed_by_the_command(tmp_path, capsys):
    notebook = nbformat.read(ROOT / "notebooks" / "08_summary.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("## A new section", id="new-cell"))
    nbformat.write(notebook, tmp_path / "08_summary.ipynb")
    assert [(g.kind, g.where) for g in notebook_gaps([tmp_path / "08_summary.ipynb"], "es")] == \
        [("missing", "08_summary.ipynb new-cell")]
    package = tmp_path / "cardfraud"
    package.mkdir()
    (package / "page.py").write_text('print(_("A brand-new message"))\nN_("A label")\n_(name)\n')
    assert marked_strings(package) == {"A brand-new message": ["cardfraud/page.py:1"],
                                       "A label": ["cardfraud/page.py:2"]}
    assert {g.english for g in string_gaps("es", package) if g.kind == "missing"} == \
        {"A brand-new message", "A label"}
    assert cli(["--check"]) == 0  # the project's own catalogues are complete
    assert "es: 0 missing, 0 stale" in capsys.readouterr().out


def test_translated_notebook_changes_only_the_markdown():
    path = ROOT / "notebooks" / "05_modeling.ipynb"
    english = nbformat.read(path, as_version=4)
    spanish, untranslated = translated_notebook(path, "es")
    assert untranslated == []
    assert [c.source for c in spanish.cells if c.cell_type == "code"] == \
        [c.source for c in english.cells if c.cell_type == "code"]
    assert all(a.source != b.source for a, b in zip(spanish.cells, english.cells, strict=True)
               if a.cell_type == "markdown")
    assert "umbral de alerta" in spanish.cells[0].source
    assert translated_notebook(path, "en")[0] == english


@pytest.mark.parametrize("language,number,percent,date,spec", [
    ("en", "1,000,000", "8.7 %", "2024-01-01", "12.35%"),
    ("es", "1.000.000", "8,7 %", "1 de enero de 2024", "12,35 %"),
])
def test_numbers_and_dates_follow_the_language(language, number, percent, date, spec):
    assert format_number(1_000_000, language=language) == number
    assert format_percent(0.087, language=language) == percent
    assert format_date("2024-01-01T08:00:00", language=language) == date
    assert format_value(0.12345, ".2%", language=language) == spec
    assert format_date("2024-12-31", "es") == "31 de diciembre de 2024"


def test_sentences_and_tables_write_numbers_and_words_in_the_language():
    import pandas as pd

    template = "{rows:,} purchases analysed; fraud rate {rate:.2f} %."
    assert sentence(template, rows=1234567, rate=8.7) == "1,234,567 purchases analysed; fraud rate 8.70 %."
    table = pd.DataFrame({"purchases": [1234567], "fraud rate": [0.0871], "channel": ["online"]})
    with in_language("es"):
        assert sentence(_(template), rows=1234567, rate=8.7) == \
            "1.234.567 compras analizadas; tasa de fraude 8,70 %."
        page = html_table(table, {"fraud rate": "{:.2%}"}).to_html()
    assert current_language() == "en"
    assert "1.234.567" in page and "8,71 %" in page and "tasa de fraude" in page and "en línea" in page
    english = html_table(table, {"fraud rate": "{:.2%}"}).to_html()
    assert "1234567" in english and "8.71%" in english and "fraud rate" in english


def test_report_language_is_checked_before_any_notebook_starts():
    check_parameter_values({"report": {"language": "es"}}, "params.yaml")
    with pytest.raises(ConfigError, match=r"params.yaml: parameter report.language is the text "
                                          r"'fr'; allowed: one of en, es"):
        check_parameter_values({"report": {"language": "fr"}}, "params.yaml")
    with pytest.raises(ValueError, match="unknown report language 'fr'"):
        use_language("fr")


RECORD = {"run_id": "20261121T000000Z-abcd", "started_at": "2026-11-21T10:00:00+00:00",
          "data": {"source": "simulated", "rows": 1234, "fingerprint": "sha256:" + "f" * 64},
          "steps": [{"name": "summary", "notebook": "08_summary.ipynb", "status": "ok"}]}


def test_the_spanish_site_says_lang_es_and_the_english_one_is_unchanged(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Resumen\nTexto.")])
    for language in ("en", "es"):
        staging = tmp_path / language
        (staging / "executed").mkdir(parents=True)
        nbformat.write(notebook, staging / "executed" / "08_summary.ipynb")
        record = {**RECORD, "params": {"report": {"language": language}}}
        build_site(staging, record, [Step(8, "summary", staging / "executed" / "08_summary.ipynb")],
                   "nbconvert")
    spanish = (tmp_path / "es" / "site" / "index.html").read_text()
    english = (tmp_path / "en" / "site" / "index.html").read_text()
    assert '<html lang="es">' in spanish and "1.234 filas" in spanish and ">Resumen</a>" in spanish
    assert "construido con los cuadernos ejecutados" in spanish
    assert '<html lang="en">' in english and "1,234 rows" in english and ">Summary</a>" in english
    assert current_language() == "en"


def test_the_quarto_project_of_a_spanish_run_says_lang_es(tmp_path):
    from cardfraud.report.site import Page

    page = Page("summary", "index.html", "Resumen", nbformat.v4.new_notebook())
    assert "lang" not in quarto_project([page])
    with in_language("es"):
        project = quarto_project([page])
    assert project["lang"] == "es"
    assert project["website"]["title"] == "cardfraud: informe de fraude con tarjeta de crédito"
    assert project["website"]["navbar"]["left"] == [{"href": "index.ipynb", "text": "Resumen"}]


def test_the_translations_are_shipped_with_the_package():
    data = json.dumps(__import__("tomllib").loads((ROOT / "pyproject.toml").read_text())
                      ["tool"]["setuptools"]["package-data"]["cardfraud.report"])
    assert "translations/*/notebooks/*.yaml" in data and "translations/*/*.yaml" in data
    assert shutil.which  # the catalogues are read from the package dir, never the project's


def test_the_summary_links_and_statuses_are_catalogued():
    from cardfraud.report.summary import PAGE_LINK_WORDS
    from cardfraud.runner.contract import PAGE_LINKS

    assert set(PAGE_LINKS.values()) <= set(PAGE_LINK_WORDS)


def test_no_module_that_translates_rebinds_the_underscore():
    # ``x, _ = ...`` in a function that calls ``_("...")`` makes ``_`` local there: a crash in
    # Spanish only
    import ast

    from cardfraud.report.translation_check import PACKAGE_DIR

    for path in PACKAGE_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports_it = any(isinstance(n, ast.ImportFrom) and any(a.name == "_" for a in n.names)
                         for n in ast.walk(tree))
        bound = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "_"
                 and isinstance(n.ctx, ast.Store)]
        assert not (imports_it and bound), f"{path.name} binds _ at line(s) {bound}"


def test_a_notebook_in_spanish_shows_its_dataframes_in_spanish():
    import pandas as pd
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    frame = pd.DataFrame({"purchases": [20000], "fraud rate": [0.0859], "channel": ["online"]})
    html_of = shell.display_formatter.formatters["text/html"]
    try:
        use_language("es")
        shown = html_of(frame)
        assert "20.000" in shown and "0,0859" in shown and "en línea" in shown
        assert "tasa de fraude" in shown and "compras" in shown
        duplicated = pd.DataFrame([[1, 2]], columns=["purchases", "purchases"])
        assert html_of(duplicated).count("compras") == 2  # duplicated headers are no problem
    finally:
        use_language("en")
    assert html_of(frame) == frame._repr_html_()


def test_figures_have_spanish_titles_axes_and_tick_numbers():
    import matplotlib

    matplotlib.use("Agg")
    from conftest import make_transactions

    from cardfraud.eda.headlines import flag_fraud_rates, plot_flag_fraud_rates
    from cardfraud.report.concentration import concentration_figure

    frame = make_transactions(400, seed=2)
    with in_language("es"):
        figure = plot_flag_fraud_rates(flag_fraud_rates(frame), 0.087)
        ax = figure.axes[0]
        figure.canvas.draw()
        assert ax.get_title() == "Tasa de fraude por valor de cada marca (intervalos del 95 %)"
        assert ax.get_xlabel() == "tasa de fraude (%)"
        assert any(t.get_text().startswith("chip usado: sí") for t in ax.get_yticklabels())
        assert ax.get_legend().get_texts()[0].get_text() == "todas las compras (8,7 %)"
        assert all("." not in t.get_text() for t in ax.get_xticklabels())
        eda = {"fraud_rate_by_channel": {"online": 0.125, "onsite": 0.013},
               "fraud_rate_with_pin": 0.008, "fraud_rate_without_pin": 0.094,
               "fraud_rate_with_chip": 0.067, "fraud_rate_without_chip": 0.096}
        bars = concentration_figure({"eda": eda}).axes[0]
        assert [t.get_text() for t in bars.get_xticklabels()][:2] == ["presencial", "en línea"]
        assert bars.get_title() == "Proporción de compras que fueron fraude"
