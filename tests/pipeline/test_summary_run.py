"""The home page of a smoke run quotes run.json's numbers exactly."""

from __future__ import annotations

import html
import json
import re

import pytest


@pytest.mark.slow
def test_home_page_numbers_equal_run_json(smoke_run):
    out, _, _ = smoke_run
    record = json.loads((out / "run.json").read_text())
    page = html.unescape(re.sub(r"<[^>]+>", "", (out / "site" / "index.html").read_text()))
    assert f"{record['data']['rows']:,} card purchases" in page
    assert f"{100 * record['load']['fraud_rate']:.1f} %" in page
    channel = record["eda"]["fraud_rate_by_channel"]
    assert f"{100 * channel['online']:.1f} % against {100 * channel['onsite']:.1f} %" in page
    metrics = record["modeling"]["test_metrics"]
    assert f"{100 * metrics['recall']:.0f} % of frauds" in page
    assert f"Version {record['registry']['champion_version']} of" in page
    assert f"since {record['registry']['champion_since'][:10]}" in page
    assert record["monitoring"]["overall_status"].upper() in page
    loss = record["summary"]["loss_prevented"]
    assert f"{loss['net']:,.0f}" in page
