"""Strings from the data, file names and parameters reach the pages as text, never as markup.

Each check renders what the package produces with the site's own Markdown renderer (nbconvert's
mistune) or the Styler's HTML, and reads it back: the only elements are the template's own, and
the reader sees the payload exactly as it was.
"""

from __future__ import annotations

import io
from html.parser import HTMLParser

import matplotlib
import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from cardfraud import markup

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
