#!/usr/bin/env python
"""Scale figures of a whole run on Spark: every notebook and the site, at 10M, 30M, 100M purchases.

For each ``--rows`` it runs ``run_all.py --set common.engine=spark`` (the load step's chunked
simulator writes the purchases; every later step reads them on Spark) into a temporary dir with
a temporary MLflow store, and prints, from the run record and from sampling the process tree
every 0.2 s:

- seconds in all and per step, and seconds per million purchases;
- the peak resident memory of each kind of process (the run_all and kernel pythons, the JVM
  that is driver and executors in local mode, the executors' python workers) and of all of
  them together, overall and per step.

Growth is checked against the first size: the issue asks for 100M within 12 times 10M.

    .venv/bin/python bench/bench_spark_run.py --rows 10000000 30000000 --json bench/results/spark_run.json
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
STEP_LINE = re.compile(r"\[\d+/\d+\] (\w+): running")


def process_kind(proc: psutil.Process) -> str:
    """Return which part of a Spark run a process is: jvm, python_workers, kernel or run_all."""
    line = " ".join(proc.cmdline())
    if "java" in proc.name() or "/java" in line:
        return "jvm"
    if "pyspark" in line or "daemon" in line or "worker" in line:
        return "python_workers"
    if "ipykernel" in line:
        return "kernel"
    return "run_all" if "run_all" in line else "other"


class PeakOfTree(threading.Thread):
    """Sample a process tree; keep the peak resident memory of each kind and of all together,
    overall and per step (``step`` names the step running)."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peaks, self.done = pid, interval, {}, threading.Event()
        self.step, self.step_peaks, self.others = "start", {}, {}

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.done.is_set():
            totals: dict[str, int] = {}
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for proc in procs:
                try:
                    kind = process_kind(proc)
                    rss = proc.memory_info().rss
                    totals[kind] = totals.get(kind, 0) + rss
                    if kind == "other":  # say what they are: name and command, peak each
                        name = " ".join(proc.cmdline())[:120] or proc.name()
                        self.others[name] = max(self.others.get(name, 0), rss)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            totals["all"] = sum(totals.values())
            for kind, rss in totals.items():
                self.peaks[kind] = max(self.peaks.get(kind, 0), rss)
            step = self.step_peaks.setdefault(self.step, {})
            for kind, rss in totals.items():
                step[kind] = max(step.get(kind, 0), rss)
            time.sleep(self.interval)


def failed_cell_trace(out: Path) -> str:
    """The python frames of the failed cell of a failed run (the temporary folder goes with
    the run): which of the package's calls the failure came from."""
    import nbformat

    lines = []
    for notebook in sorted((out / "runs").glob("*/executed/*.ipynb")):
        for cell in nbformat.read(notebook, as_version=4).cells:
            for shown in cell.get("outputs", []):
                if shown.get("output_type") == "error":
                    frames = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in shown["traceback"]]
                    lines += [f"\n{notebook.name}, failed cell:"] + [
                        frame.splitlines()[0] for frame in frames
                        if "cardfraud" in frame or "File " in frame][-12:]
    return "\n".join(lines)


def run_on_spark(rows: int, workdir: Path, master: str, driver_memory: str,
                 extra: list[str]) -> dict:
    """Run the whole chain on Spark at ``rows`` purchases; return its figures."""
    out = workdir / "out"
    command = [sys.executable, str(ROOT / "run_all.py"), "--output", str(out),
               "--set", "common.engine=spark", "--set", f"common.spark.master={master}",
               "--set", f"common.spark.conf={{spark.driver.memory: {driver_memory}}}",
               "--set", f"load.simulator.rows={rows}",
               "--set", f"common.tracking_uri=sqlite:///{workdir}/mlflow.db", *extra]
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    monitor = PeakOfTree(proc.pid)
    monitor.start()
    lines = []
    for line in proc.stdout:  # "[5/8] modeling: running ..." tells the step now running
        lines.append(line)
        started_step = STEP_LINE.match(line)
        if started_step:
            monitor.step = started_step.group(1)
        elif line.startswith("site:") and monitor.step != "site":
            monitor.step = "site"
    proc.wait()
    output = "".join(lines)
    wall = time.perf_counter() - started
    monitor.done.set()
    monitor.join()
    if proc.returncode != 0:
        output += failed_cell_trace(out)
        logs = sorted((out / "runs").glob("*/spark.log"))  # the JVM's own output
        if logs:
            output += f"\n{logs[-1]}, last lines:\n" + "".join(
                logs[-1].read_text(errors="replace").splitlines(keepends=True)[-40:])
        steps_done = [line.strip() for line in lines if ": done in " in line]
        raise SystemExit(f"run_all failed ({proc.returncode}) after {wall:.0f} s; "
                         f"steps done: {steps_done}; peak GB per step so far: "
                         f"{ {s: {k: round(v / 1e9, 2) for k, v in p.items()} for s, p in monitor.step_peaks.items()} }\n"
                         f"{output[-4000:]}")
    record = json.loads((out / "run.json").read_text())
    steps = {step["name"]: round(step.get("seconds", 0.0), 1) for step in record["steps"]}
    steps["render"] = round(record.get("render_seconds") or 0.0, 1)
    return {"rows": rows, "master": master, "driver_memory": driver_memory,
            "total_seconds": round(wall, 1),
            "seconds_per_million": round(wall / (rows / 1e6), 2), "steps_seconds": steps,
            "peak_gb": {kind: round(rss / 1e9, 2) for kind, rss in monitor.peaks.items()},
            "peak_gb_per_step": {step: {kind: round(rss / 1e9, 2) for kind, rss in peaks.items()}
                                 for step, peaks in monitor.step_peaks.items()},
            "other_processes_gb": {name: round(rss / 1e9, 2)
                                   for name, rss in sorted(monitor.others.items(),
                                                           key=lambda item: -item[1])[:8]},
            "site_pages": len(list((out / "site").rglob("*.html"))),
            "test_pr_auc": ((record.get("modeling") or {}).get("test_metrics") or {}).get(
                "average_precision")}


def main(argv: list[str] | None = None) -> int:
    """Run the whole chain on Spark at each size; print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    extra = [item for pair in (("--set", s) for s in args.overrides) for item in pair]
    results = []
    for rows in args.rows:
        with tempfile.TemporaryDirectory(prefix="cardfraud-spark-run-") as tmp:
            figures = run_on_spark(rows, Path(tmp), args.master, args.driver_memory, extra)
        if results:
            first = results[0]
            figures["growth_vs_first"] = round(figures["total_seconds"] / first["total_seconds"], 2)
            figures["rows_vs_first"] = rows / first["rows"]
        print(json.dumps(figures, indent=2), flush=True)
        results.append(figures)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
