"""Strings from the data, file names and parameters reach the pages as text, never as markup.

Each check renders what the package produces with the site's own Markdown renderer (nbconvert's
mistune) or the Styler's HTML, and reads it back: the only elements are the template's own, and
the reader sees the payload exactly as it was.
"""

from __future__ import annotations

import io
from html.parser import HTMLParser

import matplotlib
import numpy as np
import pandas as pd
import pytest
from conftest import make_transactions
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from cardfraud.report import markup

matplotlib.use("Agg")

PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(document.domain)</script>",
    "a`<img src=x onerror=alert(9)>`b.csv",
    "``double`` and ` single",
    "*bold* and **strong** and _under_",
    "col | with | pipes",
    "[link](javascript:alert(1))",
    "![image](x.png)",
    "$x$ and $\\frac{a}{b}$",
    "&lt;already an entity&gt; & more",
    "- not a list",
    "1. not a list either",
    "# not a heading",
    "> not a quote",
    "line one\n\n<script>alert(2)</script>",
    "    four spaces, not code",
    "<https://example.org> and www.example.org",
    "{.class} ^sup^ ~~strike~~ @citation \\backslash",
]


class Rendered(HTMLParser):
    """The tags and visible text (entities decoded) of an HTML fragment."""

    def __init__(self, fragment: str):
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes, self.chunks = [], [], []
        self.feed(fragment)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data):
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks).strip()


def render(markdown: str) -> Rendered:
    return Rendered(markdown2html_mistune(markdown))


def literal(payload: str) -> str:
    """What the reader should see: the payload with its whitespace runs collapsed."""
    return " ".join(payload.split())


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escaped_text_renders_as_the_payload_itself(payload):
    page = render(markup.escape(payload))
    assert page.tags == ["p"], page.tags
    assert page.text == literal(payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_code_span_shows_the_payload_with_its_backticks(payload):
    page = render(markup.code(payload))
    assert page.tags == ["p", "code"], page.tags
    assert page.text == literal(payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_sentence_escapes_values_and_keeps_the_template_markup(payload):
    text = markup.sentence("**{rows:,} purchases** in {city} from {path} ({rate:.1%})",
                           rows=12345, city=payload, path=markup.code(payload), rate=0.0312)
    page = render(text)
    assert page.tags == ["p", "strong", "code"], page.tags
    assert literal(page.text) == f"12,345 purchases in {literal(payload)} from {literal(payload)} (3.1%)"


def test_sentence_formats_numbers_with_their_spec_and_escapes_nested_fields():
    top = {"city": "<b>Cali</b>", "frauds": 1234}
    text = markup.sentence("Top: {top[city]} ({top[frauds]:,} frauds, {share:.2f})", top=top,
                           share=0.5)
    assert text == "Top: &lt;b&gt;Cali&lt;/b&gt; (1,234 frauds, 0.50)"


def test_safe_markdown_is_not_escaped_twice():
    inner = markup.sentence("**{n}** in {city}", n=3, city="*x*")
    assert markup.sentence("{inner}.", inner=inner) == "**3** in \\*x\\*."
    assert markup.escape(inner) is inner


@pytest.mark.parametrize("payload", PAYLOADS)
def test_pipe_and_markup_stay_inside_their_markdown_table_cell(payload):
    table = "\n".join(["| place | rate |", "|---|---|",
                       markup.sentence("| {city} | {rate:.1%} |", city=payload, rate=0.25)])
    page = render(table)
    assert page.tags.count("td") == 2 and "img" not in page.tags and "script" not in page.tags
    assert literal(payload) in page.text and "25.0%" in page.text


def test_bullet_list_escapes_plain_items_and_keeps_safe_ones():
    items = ["<img src=x onerror=alert(1)>", markup.sentence("**{n}** frauds", n=4)]
    page = render(markup.bullet_list(items))
    assert page.tags == ["ul", "li", "li", "strong"]
    assert "<img src=x onerror=alert(1)>" in page.text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_html_table_escapes_cells_headers_and_index(payload):
    frame = pd.DataFrame({payload: [payload, "Cali"], "fraud rate": [0.25, 0.5]},
                         index=pd.Index([payload, "b"], name=payload))
    frame.columns.name = payload
    for hide_index in (True, False):
        html = markup.html_table(frame, {"fraud rate": "{:.1%}"}, hide_index=hide_index).to_html()
        page = Rendered(html)
        assert set(page.tags) <= {"style", "table", "thead", "tbody", "tr", "th", "td"}, page.tags
        assert not [name for name, _ in page.attributes if name.startswith("on")]
        assert literal(payload) in " ".join(page.text.split()) and "25.0%" in page.text


@pytest.mark.parametrize("text", ["a $\\undefinedsymbol$ b", "$x$", "costs in $", "$\\frac{1}"])
def test_figure_text_draws_dollars_literally(text):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    label = ax.set_title(markup.figure_text(text))
    fig.savefig(io.BytesIO(), format="png")  # mathtext that cannot be parsed raises here
    plt.close(fig)
    assert label.get_text().replace("\\$", "$") == text


# --- every page-producing function of the package -----------------------------------------

NASTY = ["a`<img src=x onerror=alert(9)>`b.csv",
         "<script>alert(1)</script> *x* | y [l](javascript:alert(2)) $x$"]
PAGE_TAGS = {"p", "strong", "em", "code", "ul", "ol", "li", "h1", "h2", "table", "thead",
             "tbody", "tr", "th", "td", "a"}


def assert_shown_as_text(markdown: str, payload: str) -> None:
    """The Markdown renders with the template's own elements only and shows the payload."""
    page = render(markdown)
    assert set(page.tags) <= PAGE_TAGS, f"markup from the data: {set(page.tags) - PAGE_TAGS}"
    # the only link is the anchor nbconvert adds to a heading of the template
    assert all(name in {"id", "class", "href"} for name, _ in page.attributes), page.attributes
    assert all(value.startswith("#") for name, value in page.attributes if name == "href")
    assert literal(payload) in literal(page.text)


def eda_results_with(city: str, band: str) -> dict:
    return {"rows": 100, "fraud_rate": 0.1,
            "fraud_rate_by_channel": {"online": 0.2, "onsite": 0.01},
            "fraud_rate_with_pin": 0.01, "fraud_rate_without_pin": 0.2,
            "fraud_rate_with_chip": 0.05, "fraud_rate_without_chip": 0.15,
            "fraud_rate_by_distance_band": [{"band": band, "rate": 0.3, "purchases": 50}],
            "hot_spots": [{"city": city, "purchases": 40, "frauds": 12, "rate": 0.3}],
            "period_start": "2024-01-01", "period_end": "2024-01-31", "days": 31}


def geo_results_with(city: str) -> dict:
    point = {"suspected_point": "P1", "merchant_id": city, "kind": "shop", "department": city,
             "city": city, "longitude": -74.1, "latitude": 4.7,
             "window_start": "2024-01-03T10:00:00", "window_end": "2024-01-20T18:00:00",
             "cards_visited": 40, "cards_defrauded": 12, "cards_at_risk": 5, "q_value": 0.001}
    return {"missing_columns": {"maps": [], "cpp": []}, "maps": True, "cpp": True,
            "parameters": {"fdr": 0.05}, "departments": [], "hot_spot_count": 1,
            "hot_spots": [{"hot_spot": "H1", "city": city, "department": city, "purchases": 40,
                           "frauds": 12, "fraud_rate": 0.3}],
            "suspected_point_count": 1, "suspected_points": [point], "cards_at_risk": 5}


@pytest.mark.parametrize("payload", NASTY)
def test_headline_sentences_show_cities_and_bands_as_text(payload):
    from cardfraud.eda.headlines import summary_sentences
    from cardfraud.geo.step import summary_sentences as geo_sentences

    assert_shown_as_text(summary_sentences(eda_results_with("Cali", payload)), payload)
    assert_shown_as_text(geo_sentences(geo_results_with(payload)), payload)


@pytest.mark.parametrize("payload", NASTY)
def test_summary_shows_file_names_cities_currency_and_model_name_as_text(payload):
    from cardfraud.report import concentration, summary

    results = {"load": {"data": {"source": "file", "path": f"/data/{NASTY[0]}", "rows": 100},
                        "fraud_rate": 0.1},
               "eda": eda_results_with(payload, payload),
               "georeferencing": geo_results_with(payload),
               "modeling": {"best_model": payload, "test_rows": 100, "alert_budget": None,
                            "test_metrics": {"recall": 0.8, "precision": 0.5, "tp": 8, "fp": 8,
                                             "average_precision": 0.7}},
               "registry": {"model_name": payload, "champion_version": 2, "version": 2,
                            "promoted": True, "reason": payload},
               "monitoring": {"overall_status": "watch", "recommendation": payload}}
    loss = {"net": 1000.0, "currency": payload, "test_days": None, "frauds_caught": 8,
            "assumptions": f"a caught fraud saves 10 {payload}"}
    assert_shown_as_text(summary.analysed_text(results), NASTY[0])
    for text in (concentration.concentration_text(results), summary.compromise_text(results),
                 summary.model_text(results, loss), summary.registry_text(results),
                 summary.drift_text(results)):
        assert_shown_as_text(text, payload)


@pytest.mark.parametrize("payload", NASTY)
def test_load_page_names_the_extract_as_text(payload):
    from cardfraud.data.cleaning import CleaningReport
    from cardfraud.data.load_step import describe_source
    from cardfraud.report.markup import plain_text

    data = {"source": "file", "path": f"/data/{payload}", "fingerprint": "sha256:" + "f" * 64,
            "rows": 10}
    text = describe_source(data, CleaningReport(source=payload, rows_read=12, rows_kept=10))
    assert_shown_as_text(text, payload)
    assert f"/data/{payload}" in plain_text(text)  # the command line shows it unchanged


@pytest.mark.parametrize("payload", NASTY)
def test_monitoring_sentences_show_the_extract_and_advice_as_text(payload):
    from cardfraud.monitoring.status import status_summary
    from cardfraud.monitoring.window import MonitoringWindow, describe_window

    description = {"note": f"the extract {payload}", "current_period": ["2024-01-01", payload],
                   "reference_period": None, "current_rows": 10, "reference_rows": 90,
                   "reference_kind": "training purchases", "overlap_excluded_rows": 0,
                   "current_has_labels": True, "current_is_test_set": False}
    window = MonitoringWindow(pd.DataFrame(), pd.DataFrame(), description)
    assert_shown_as_text(describe_window(window), payload)
    assert_shown_as_text(status_summary({"overall_status": "watch", "recommendation": payload}),
                         payload)


@pytest.mark.parametrize("payload", NASTY)
def test_site_banner_and_overview_show_the_run_as_text(payload):
    from cardfraud.report.site import overview_notebook, run_banner

    record = {"run_id": payload, "started_at": "2026-01-01T10:00:00",
              "data": {"source": payload, "rows": 5, "fingerprint": payload},
              "steps": [{"name": payload, "notebook": payload, "status": "ok", "seconds": 1.5}]}
    assert_shown_as_text(run_banner(record), payload)
    overview = overview_notebook(record).cells[0].source
    assert_shown_as_text(overview, payload)
    assert render(overview).tags.count("td") == 4  # a | in a name does not add a cell


@pytest.mark.parametrize("payload", NASTY)
def test_hot_spot_table_escapes_the_city(payload):
    from cardfraud.geo.boundaries import department_index, load_boundaries
    from cardfraud.geo.hot_spots import hot_spots
    from cardfraud.report import figures as plots

    frame = make_transactions(rows=600, seed=3)
    frame["city"] = np.where(np.arange(600) < 60, payload, "Cali")
    frame["latitude"] = np.where(np.arange(600) < 60, 4.7, 6.2)
    frame["longitude"] = np.where(np.arange(600) < 60, -74.1, -75.6)
    frame["fraud"] = (np.arange(600) < 40).astype(int)
    country = load_boundaries()
    spots = hot_spots(frame, department_index(country, frame["longitude"], frame["latitude"]),
                      country, min_purchases=1)
    assert len(spots) == 1
    html = plots.style_table(spots).to_html()
    page = Rendered(html)
    assert not {"img", "script", "a"} & set(page.tags) and literal(payload) in page.text


def test_map_draws_a_city_whose_name_is_broken_mathtext():
    import matplotlib.pyplot as plt
    import pandas as pd

    from cardfraud.geo.boundaries import load_boundaries
    from cardfraud.geo.maps import plot_suspects_and_hot_spots

    spots = pd.DataFrame({"hot_spot": ["H1", "H2"], "longitude": [-74.1, -75.6],
                          "latitude": [4.7, 6.2], "city": [r"a $\undefinedsymbol$ b", "$x$"]})
    points = pd.DataFrame(columns=["suspected_point", "kind", "longitude", "latitude", "city"])
    fig = plot_suspects_and_hot_spots(spots, points, load_boundaries())
    fig.savefig(io.BytesIO(), format="png")
    labels = {t.get_text() for ax in fig.axes for t in ax.texts}
    plt.close(fig)
    assert r"H1 a \$\undefinedsymbol\$ b" in labels


# --- the site's last check ----------------------------------------------------------------

@pytest.mark.parametrize("page, found", [
    ("<p>&lt;img src=x onerror=alert(1)&gt; shown as text</p>", []),
    ('<meta charset="utf-8"><style>td{}</style><img src="data:image/png;base64,AAAA">', []),
    ("<img src=x onerror=alert(1)>", ["<img onerror=...>"]),
    ("<svg><script>alert(1)</script></svg>", ["<script>"]),
    ('<a href=" JaVa&#x09;script:alert(1)">x</a>', ["<a href=javascript:...>"]),
    ('<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', ["<meta http-equiv=...>"]),
    ('<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
     ["<iframe>", "<iframe srcdoc=...>"]),
])
def test_active_content_finds_what_would_run_script(page, found):
    assert markup.active_content(page) == found


def test_site_refuses_to_publish_a_page_that_would_run_script(tmp_path):
    import nbformat

    from cardfraud.report.site import RenderError, build_site
    from cardfraud.runner.steps import Step

    raw = nbformat.v4.new_output("display_data", {"text/html": "<img src=x onerror=alert(1)>",
                                                  "text/plain": "x"})
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 1. Load"),
        nbformat.v4.new_code_cell("show()", outputs=[raw])])
    path = tmp_path / "executed" / "01_load.ipynb"
    path.parent.mkdir()
    nbformat.write(notebook, path)
    record = {"run_id": "20260101T000000Z-abcd", "started_at": "2026-01-01T00:00:00",
              "data": {"source": "file", "rows": 1, "fingerprint": "sha256:ff"}, "steps": []}
    with pytest.raises(RenderError, match=r"load\.html would run script .*onerror"):
        build_site(tmp_path, record, [Step(1, "load", path)], "nbconvert")
    assert not list((tmp_path / "site").glob("load.html"))
