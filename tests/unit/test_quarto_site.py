"""Quarto's pages open offline: HTML outputs as raw blocks, no page loading from the network."""

from __future__ import annotations

import nbformat
import pytest

from cardfraud.report.quarto_site import offline_problems, quarto_notebook, remote_resources


def notebook_with_html(html_text: str) -> nbformat.NotebookNode:
    output = nbformat.v4.new_output("execute_result", {"text/html": html_text,
                                                       "text/plain": "a table"}, execution_count=1)
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("df", outputs=[output])])


def test_html_outputs_reach_quarto_as_raw_html_so_it_adds_no_cdn_script():
    """Quarto loads require.js and jQuery from a CDN for any text/html output."""
    notebook = notebook_with_html("<table><tr><td>Bogotá</td></tr></table>")
    data = quarto_notebook(notebook).cells[0].outputs[0]["data"]
    assert "text/html" not in data
    assert data["text/markdown"] == "```{=html}\n<table><tr><td>Bogotá</td></tr></table>\n```"
    assert data["text/plain"] == "a table"
    assert "text/html" in notebook.cells[0].outputs[0]["data"]  # the run's notebook is untouched


def test_raw_html_fence_is_longer_than_any_backtick_run_inside():
    data = quarto_notebook(notebook_with_html("<td>````x</td>")).cells[0].outputs[0]["data"]
    assert data["text/markdown"].startswith("`````{=html}\n") and data["text/markdown"].endswith(
        "\n`````")


@pytest.mark.parametrize("page, found", [
    ('<script src="https://cdnjs.cloudflare.com/x/require.min.js"></script>',
     ["https://cdnjs.cloudflare.com/x/require.min.js"]),
    ('<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Source">',
     ["https://fonts.googleapis.com/css2?family=Source"]),
    ("<style>@import url('https://fonts.googleapis.com/css2?f=1');</style>",
     ["https://fonts.googleapis.com/css2?f=1"]),
    ('<div style="background: url(//cdn.example/x.png)"></div>', ["//cdn.example/x.png"]),
    ('<img src="http://example.com/a.png">', ["http://example.com/a.png"]),
    ('<a href="https://quarto.org">a link is not a load</a>', []),
    ('<img src="data:image/png;base64,AAAA"><script src="site_libs/q.js"></script>', []),
    ("<style>.x{background:url(data:image/png;base64,AA)}</style>", []),
])
def test_remote_resources_are_what_a_page_loads_from_the_network(page, found):
    assert remote_resources(page) == found


def test_offline_problems_name_the_page_and_the_url(tmp_path):
    (tmp_path / "index.html").write_text('<link href="https://fonts.example/f.css" rel="stylesheet">')
    (tmp_path / "load.html").write_text("<p>fine</p>")
    assert offline_problems(tmp_path) == ["index.html loads https://fonts.example/f.css"]
