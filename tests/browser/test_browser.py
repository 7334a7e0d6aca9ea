"""The site in a real browser: headless Chromium opens every page of the smoke run.

Fails on a broken link or image, a JavaScript console error, or any request to a non-local
URL; saves screenshots of the home page and the modeling page and checks they are not blank.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest
from helpers import is_remote, requested_urls

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def is_blank(png: Path) -> bool:
    """True when nearly every pixel of the screenshot has the same colour."""
    import matplotlib.image

    pixels = matplotlib.image.imread(png)[..., :3]
    distinct = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    return len(distinct) < 20 or pixels.std() < 0.02


def test_every_page_loads_offline_without_errors(smoke_run, browser, tmp_path):
    out, _, _ = smoke_run
    site = out / "site"
    pages = sorted(site.glob("*.html"))
    assert len(pages) >= 2
    browser.get("about:blank")
    for page in pages:
        browser.get_log("performance")  # drop what earlier pages logged
        browser.get(page.as_uri())
        errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, f"{page.name}: console errors {errors}"
        remote = [u for u in requested_urls(browser) if is_remote(u)]
        assert not remote, f"{page.name}: requests leave the machine: {remote}"
        for href in browser.execute_script(
                "return [...document.querySelectorAll('a[href]')].map(a => a.href)"):
            parsed = urlparse(href)
            if parsed.scheme == "file":
                assert Path(unquote(parsed.path)).is_file(), f"{page.name}: broken link {href}"
            else:
                assert parsed.scheme in {"", "data"}, f"{page.name}: link leaves the site: {href}"
        broken = browser.execute_script(
            "return [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
            ".map(i => i.src.slice(0, 80))")
        assert not broken, f"{page.name}: broken images {broken}"

    for name in ("index.html", "modeling.html"):
        if not (site / name).exists():
            continue
        browser.get((site / name).as_uri())
        shot = tmp_path / f"{name}.png"
        browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000 and not is_blank(shot), f"{name} screenshot is blank"
