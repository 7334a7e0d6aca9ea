"""Safe markup: the one way strings from the data, a file name or a parameter reach a page.

A city, a column name, a file name or a currency can hold ``<img src=x onerror=...>``, a
backtick, ``*``, ``|``, ``[link](javascript:...)`` or ``$...$``. Every page-producing place
in the package inserts such strings through these functions, never by concatenating them into
Markdown or HTML by hand:

- :func:`sentence` fills a Markdown template; every value that is not a number is escaped.
- :func:`escape` escapes one value as Markdown text; :func:`code` shows it as inline code;
  :func:`join` and :func:`bullet_list` put escaped pieces together.
- :func:`html_table` renders a DataFrame as a Styler whose cells and headers are escaped.
- :func:`figure_text` keeps a string from being read as mathtext in a matplotlib figure.
- :func:`plain_text` turns such Markdown back into text for the command line.
- :func:`active_content` is the site's last check: what in a finished page would run script.

The output renders the same through nbconvert's Markdown (mistune) and Quarto's (pandoc).
DataFrames shown as a cell's own result are escaped by pandas (``to_html`` escapes by default).
"""

from __future__ import annotations

import html
import numbers
import re
import string
from html.parser import HTMLParser

import pandas as pd

from .locale_format import format_value
from .table_language import escaped_words, formats_in_language
from .translate import DEFAULT_LANGUAGE, current_language, translate

# Markdown punctuation that can open emphasis, code, links, tables, math, strike-through,
# pandoc's superscripts, spans and citations, or an autolink (``https:``); escaped with a
# backslash. HTML specials (``<``, ``>``, ``&``) become entities instead.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#!|~$^@:])")
# at the start of a value, these begin a list item, an ordered list or a thematic break
_LIST_MARKER = re.compile(r"^(\s*)([-+=])")
_ORDERED_MARKER = re.compile(r"^(\s*\d+)([.)])(?=\s|$)")
_WHITESPACE = re.compile(r"\s+")


class SafeMarkdown(str):
    """Markdown already made safe (by this module); :func:`sentence` inserts it unchanged."""


def escape(value) -> SafeMarkdown:
    """Return ``value`` as Markdown that displays it literally, with no markup of its own.

    HTML specials become entities, Markdown punctuation gets a backslash, and line breaks and
    runs of spaces become one space (a value never starts a new block). Already safe
    :class:`SafeMarkdown` is returned as it is.
    """
    if isinstance(value, SafeMarkdown):
        return value
    text = _WHITESPACE.sub(" ", str(value))
    text = html.escape(text, quote=False)
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    text = _LIST_MARKER.sub(r"\1\\\2", text, count=1)
    text = _ORDERED_MARKER.sub(r"\1\\\2", text, count=1)
    return SafeMarkdown(text)


def code(value) -> SafeMarkdown:
    """Return ``value`` as an inline code span that shows it literally (backticks included).

    The fence is one backtick longer than the longest run inside, as CommonMark allows, so a
    file name such as ``a`<img>`b.csv`` cannot close the span early. Not for a Markdown table
    cell, where a ``|`` inside code still splits the cell: use :func:`escape` there.
    """
    text = _WHITESPACE.sub(" ", str(value))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return SafeMarkdown(f"{fence}{pad}{text}{pad}{fence}")


class _EscapingFormatter(string.Formatter):
    """``str.format`` that escapes every field except numbers and safe :class:`SafeMarkdown`.

    Numbers are written in the language in use (``{rows:,}``: 1,000 or 1.000).
    """

    def format_field(self, value, format_spec: str) -> str:
        if isinstance(value, SafeMarkdown):
            return format(str(value), format_spec)
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            return format_value(value, format_spec)
        return escape(format(value, format_spec))


_FORMATTER = _EscapingFormatter()


def sentence(template: str, /, *args, **values) -> SafeMarkdown:
    """Fill a Markdown ``template`` (``str.format`` syntax) with escaped values.

    The template is the package's own text and may use Markdown (``**bold**``); numbers keep
    their format spec (``{rows:,}``) in the language's format; every other value is escaped with :func:`escape` unless
    it is already :class:`SafeMarkdown` (from :func:`code`, :func:`escape` or :func:`sentence`).
    """
    return SafeMarkdown(_FORMATTER.format(template, *args, **values))


def join(separator: str, items) -> SafeMarkdown:
    """Join Markdown pieces with the package's own ``separator``; plain strings are escaped.

    ``str.join`` would return a plain string, which :func:`sentence` would escape again.
    """
    return SafeMarkdown(separator.join(escape(item) for item in items))


def bullet_list(items) -> SafeMarkdown:
    """Return Markdown pieces as a bulleted list, one per line; plain strings are escaped."""
    return join("\n", (SafeMarkdown(f"- {escape(item)}") for item in items))


def html_table(table: pd.DataFrame, formats: dict | None = None, na_rep: str = "–",
               hide_index: bool = True):
    """Return a Styler of ``table`` whose cells, column headers and index are HTML-escaped.

    Args:
        formats: column -> format string or function, as for ``Styler.format``.
        hide_index: leave the row labels out (tables whose index is a plain row number).
    """
    table = table.copy(deep=False)
    label = None
    if current_language() != DEFAULT_LANGUAGE:  # data stays English: only what is shown changes
        formats, label = formats_in_language(table, formats or {}), escaped_words
        table.index = table.index.set_names([translate(n) for n in table.index.names])
        table.columns = table.columns.set_names([translate(n) for n in table.columns.names])
    # the Styler escapes labels but not the names of the index and of the columns
    table.index = table.index.set_names(_escaped_names(table.index.names))
    table.columns = table.columns.set_names(_escaped_names(table.columns.names))
    styler = table.style.format(formats or {}, na_rep=na_rep, escape="html")
    styler = styler.format_index(label, escape="html", axis=1).format_index(label, escape="html",
                                                                            axis=0)
    return styler.hide(axis="index") if hide_index else styler


def plain_text(markdown: str) -> str:
    """Return Markdown from this module as terminal text: escapes undone, bold marks dropped."""
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", str(markdown).replace("**", ""))
    return html.unescape(text)


def _escaped_names(names) -> list:
    """Return index or column names HTML-escaped (None stays None)."""
    return [None if name is None else html.escape(str(name)) for name in names]


def figure_text(value) -> str:
    """Return ``value`` for a figure's title, label or annotation, never read as mathtext."""
    return str(value).replace("$", r"\$")


ACTIVE_TAGS = {"script", "iframe", "frame", "object", "embed", "applet", "base", "form"}
SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:text/html")


class _ActiveContent(HTMLParser):
    """Collect the elements, event handlers and script links of an HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ACTIVE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            url = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            if name.startswith("on") or name in {"http-equiv", "srcdoc"}:
                self.found.append(f"<{tag} {name}=...>")
            elif url.startswith(SCRIPT_SCHEMES):
                self.found.append(f"<{tag} {name}={url[:11]}...>")

    handle_startendtag = handle_starttag


def active_content(page: str) -> list[str]:
    """Return what in an HTML page would run script; empty for text, tables and images.

    Looks for script-like elements, ``on*`` event handlers, ``http-equiv`` refreshes and
    ``javascript:`` (or ``vbscript:``, ``data:text/html``) links in any attribute.
    """
    parser = _ActiveContent()
    parser.feed(page)
    parser.close()
    return parser.found
