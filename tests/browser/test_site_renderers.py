"""The site from both renderers, in a real browser: the real Quarto and nbconvert.

Each smoke run publishes its site with one renderer; the other builds it again (``build_site``
on copies of its executed notebooks): nbconvert, and Quarto when a real one is found (on PATH,
or where ``../shared/tools/quarto/setup.sh`` puts it; skipped otherwise, with the reason). Each page is
opened in headless Chromium from disk: no broken link or image, no request off the machine,
no console error, a navigation linking every page, the run id. The two sites have the same
pages, navigation and figures.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from helpers import find_quarto, is_remote, requested_urls

from cardfraud.report.site import build_site
from cardfraud.runner.steps import discover_steps

pytestmark = [pytest.mark.slow, pytest.mark.browser]

RENDERERS = ["nbconvert", "quarto"]
# a page's resources are its file or embedded (data:); chrome:// is the browser's own new tab
LOCAL_SCHEMES = {"file", "data", "about", "blob", "chrome", "chrome-untrusted"}
# report language -> the fixture of its executed smoke run, and the footer naming the renderer
SMOKE_RUNS = {"en": "smoke_run", "es": "spanish_smoke_run"}
FOOTER = {"en": {"nbconvert": "rendered with nbconvert", "quarto": "rendered with Quarto"},
          "es": {"nbconvert": "generado con nbconvert", "quarto": "generado con Quarto"}}


def render_copy(out: Path, folder: Path, renderer: str, quarto: str | None) -> Path:
    """Build the smoke run's site again with ``renderer`` into ``folder/site``."""
    for name in ("executed", "artifacts"):
        shutil.copytree(out / name, folder / name)
    record = json.loads((out / "run.json").read_text())
    with pytest.MonkeyPatch.context() as patch:
        if renderer == "quarto":
            patch.setenv("PATH", f"{Path(quarto).parent}{os.pathsep}{os.environ['PATH']}")
        assert build_site(folder, record, discover_steps(), renderer) == renderer
    (folder / "run.json").write_text(json.dumps(record))
    return folder / "site"


@pytest.fixture(scope="module", params=sorted(SMOKE_RUNS))
def sites(request, tmp_path_factory) -> dict:
    """renderer -> the smoke run's site made by it (Quarto's only when a real one is found).

    One smoke run per report language; ``language`` and ``run`` (its run.json) come along.
    """
    out, _, _ = request.getfixturevalue(SMOKE_RUNS[request.param])
    quarto = find_quarto()
    made = {"language": request.param, "run": json.loads((out / "run.json").read_text())}
    for renderer in RENDERERS:
        if renderer == "quarto" and not quarto:
            continue
        if renderer == made["run"]["report"]["renderer"]:
            made[renderer] = out / "site"  # the site the run published: not rendered again
            continue
        made[renderer] = render_copy(
            out, tmp_path_factory.mktemp(f"site-{request.param}-{renderer}"), renderer, quarto)
    return made


def site_of(sites: dict, renderer: str) -> Path:
    if renderer not in sites:
        pytest.skip("no real Quarto: not on PATH nor at ~/.cache/quarto-offline/bin/quarto "
                    "(bash ../shared/tools/quarto/setup.sh installs one)")
    return sites[renderer]


NAV_LINKS = """return [...new Set([...document.querySelectorAll('nav a[href], header a[href]')]
  .map(a => a.href.split('#')[0].split('/').pop()).filter(h => h.endsWith('.html')))]"""
IMAGES = "return [...document.images].map(i => i.getAttribute('src'))"


def open_page(browser, page: Path) -> dict:
    """Open a page from disk; return its console errors, requests, links, images, nav, text."""
    browser.get_log("performance")  # drop what earlier pages logged
    browser.get_log("browser")
    browser.get(page.as_uri())
    return {
        "errors": [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"],
        "requests": requested_urls(browser),
        "links": browser.execute_script(
            "return [...document.querySelectorAll('a[href]')].map(a => a.href)"),
        "broken_images": browser.execute_script(
            "return [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
            ".map(i => i.src.slice(0, 80))"),
        "nav": browser.execute_script(NAV_LINKS),
        "images": browser.execute_script(IMAGES),
        "text": browser.find_element("tag name", "body").text,
    }


@pytest.fixture(scope="module")
def opened(sites, browser) -> dict:
    """(renderer, page name) -> what the browser saw on it."""
    return {(renderer, page.name): open_page(browser, page)
            for renderer in RENDERERS if renderer in sites
            for page in sorted(sites[renderer].glob("*.html"))}


@pytest.mark.parametrize("renderer", RENDERERS)
def test_every_page_opens_offline_with_navigation_and_run_id(sites, opened, renderer):
    site = site_of(sites, renderer)
    pages = sorted(p.name for p in site.glob("*.html"))
    assert "index.html" in pages and len(pages) >= 8
    run_id = sites["run"]["run_id"]
    for name in pages:
        seen = opened[(renderer, name)]
        assert not seen["errors"], f"{renderer} {name}: console errors {seen['errors']}"
        remote = [u for u in seen["requests"] if is_remote(u)]
        assert not remote, f"{renderer} {name}: requests leave the machine: {remote}"
        elsewhere = [u[:80] for u in seen["requests"] if urlparse(u).scheme not in LOCAL_SCHEMES]
        assert not elsewhere, f"{renderer} {name}: requests not to a file: {elsewhere}"
        for href in seen["links"]:
            parsed = urlparse(href)
            if parsed.scheme == "file":
                assert Path(unquote(parsed.path)).is_file(), f"{renderer} {name}: broken {href}"
            else:
                assert parsed.scheme in {"", "data"}, f"{renderer} {name}: link leaves: {href}"
        assert not seen["broken_images"], f"{renderer} {name}: broken {seen['broken_images']}"
        assert set(seen["nav"]) >= set(pages), f"{renderer} {name}: nav lacks pages"
        assert run_id in seen["text"], f"{renderer} {name}: no run id"
        assert FOOTER[sites["language"]][renderer] in seen["text"], f"{renderer} {name}: footer"
    assert sites["run"]["report"]["renderer"] in RENDERERS


def image_digests(site: Path, sources: list[str]) -> list[str]:
    """Return the sha256 of each image's bytes (a data: URI decoded, or the file)."""
    digests = []
    for src in sources:
        if src.startswith("data:"):
            data = base64.b64decode(src.split(",", 1)[1])
        else:
            data = (site / unquote(src)).read_bytes()
        digests.append(hashlib.sha256(data).hexdigest())
    return sorted(digests)


def test_both_renderers_give_the_same_pages_navigation_and_figures(sites, opened):
    quarto_site = site_of(sites, "quarto")
    nbconvert_site = sites["nbconvert"]
    pages = sorted(p.name for p in nbconvert_site.glob("*.html"))
    assert sorted(p.name for p in quarto_site.glob("*.html")) == pages
    figures = 0
    for name in pages:
        nb_seen, q_seen = opened[("nbconvert", name)], opened[("quarto", name)]
        assert q_seen["nav"] == nb_seen["nav"], f"{name}: navigation differs"
        nb_images = image_digests(nbconvert_site, nb_seen["images"])
        assert image_digests(quarto_site, q_seen["images"]) == nb_images, f"{name}: figures differ"
        figures += len(nb_images)
    assert figures >= 15  # the smoke run's pages show their figures
    assert (quarto_site / "summary.pdf").is_file() == (nbconvert_site / "summary.pdf").is_file()
