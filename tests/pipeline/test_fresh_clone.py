"""`make report` with no arguments, on a fresh clone, builds the site from simulated data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="needs git and a git checkout")
def test_make_report_on_a_fresh_clone(tmp_path):
    clone = tmp_path / "cardfraud"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    # a user's shell: no venv active, no tracking URI set (the pip cache may be reused)
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "MLFLOW_TRACKING_URI"}}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if ".venv" not in p)
    env["GET_QUARTO"] = "no"  # tests never download: no quarto-cli from PyPI
    for inherited in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "ARGS"):  # `make test ARGS=...`
        env.pop(inherited, None)
    done = subprocess.run(["make", "report"], cwd=clone, capture_output=True, text=True,
                          timeout=1200, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "environment ready in .venv" in done.stdout
    assert f"site: {clone}/reports/site/index.html" in done.stdout
    record = json.loads((clone / "reports" / "run.json").read_text())
    assert record["status"] == "ok" and record["data"]["source"] == "simulated"
    assert record["data"]["rows"] == 1_000_000
    assert (clone / "mlruns" / "mlflow.db").is_file()
    again = subprocess.run(["make", "-n", "report"], cwd=clone, capture_output=True, text=True,
                           env=env)
    assert "pip install" not in again.stdout, "a second make report must skip the install"
