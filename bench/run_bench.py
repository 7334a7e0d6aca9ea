#!/usr/bin/env python
"""Benchmark the whole pipeline on simulated data and print per-step seconds and peak memory.

    python bench/run_bench.py --rows 1000000 [--json bench/results/bench_1000000.json]

Runs run_all.py (every notebook and the render) into a temporary dir with a temporary MLflow
store, samples the resident memory of run_all and its kernels every 0.1 s, then re-runs the
first analysis' procedure (SMOTE on all rows, split, unscaled logistic regression with
max_iter=200 and a decision tree) on the same data and prints the ratio of our modeling time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
BUDGETS = {"total_seconds": 90, "peak_rss_gb": 3.0, "modeling_seconds": 45, "load_seconds": 10}


class PeakMemory(threading.Thread):
    """Poll a process tree and keep the largest resident set of any single process."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.root, self.interval, self.peak, self.peak_name = pid, interval, 0, ""
        self.done = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.root)
        except psutil.NoSuchProcess:
            return
        while not self.done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for proc in procs:
                try:
                    rss = proc.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                if rss > self.peak:
                    self.peak = rss
                    self.peak_name = "kernel" if "ipykernel" in " ".join(proc.cmdline()) else proc.name()
            time.sleep(self.interval)


def run_pipeline(rows: int, workdir: Path, extra: list[str]) -> dict:
    """Run run_all.py at ``rows`` simulated purchases; return wall time, peak RSS, run.json."""
    out = workdir / "out"
    command = [sys.executable, str(ROOT / "run_all.py"), "--output", str(out),
               "--set", f"load.simulator.rows={rows}",
               "--set", f"common.tracking_uri=sqlite:///{workdir}/mlflow.db", *extra]
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    monitor = PeakMemory(proc.pid)
    monitor.start()
    output, _ = proc.communicate()
    wall = time.perf_counter() - started
    monitor.done.set()
    monitor.join()
    if proc.returncode != 0:
        raise SystemExit(f"run_all failed ({proc.returncode}):\n{output[-3000:]}")
    record = json.loads((out / "run.json").read_text())
    return {"wall_seconds": round(wall, 2), "peak_rss_gb": round(monitor.peak / 1e9, 3),
            "peak_process": monitor.peak_name, "record": record, "out": out}


def first_analysis_seconds(transactions: Path, seed: int = 42) -> float:
    """Time the first analysis: SMOTE on all rows, then split, then LR (unscaled) and a tree."""
    import pandas as pd
    from imblearn.over_sampling import SMOTE
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeClassifier

    from cardfraud.data.schema import FEATURES, TARGET

    frame = pd.read_parquet(transactions, columns=FEATURES + [TARGET])
    started = time.perf_counter()
    x, y = SMOTE(random_state=seed).fit_resample(frame[FEATURES], frame[TARGET])
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=seed)
    for model in (LogisticRegression(max_iter=200), DecisionTreeClassifier(random_state=seed)):
        model.fit(x_train, y_train).predict(x_test)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print and save its figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures")
    parser.add_argument("--no-first-analysis", action="store_true")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    extra = [item for pair in (("--set", s) for s in args.overrides) for item in pair]
    with tempfile.TemporaryDirectory(prefix="cardfraud-bench-") as tmp:
        result = run_pipeline(args.rows, Path(tmp), extra)
        record = result.pop("record")
        steps = {s["name"]: s["seconds"] for s in record["steps"]}
        figures = {"rows": args.rows, "steps_seconds": steps,
                   "render_seconds": record.get("render_seconds"),
                   "steps_total_seconds": round(sum(steps.values()), 2),
                   "run_seconds": record.get("seconds"), **result, "budgets": BUDGETS}
        figures.pop("out")
        if not args.no_first_analysis:
            first = first_analysis_seconds(result["out"] / "artifacts" / "transactions.parquet")
            figures["first_analysis_seconds"] = round(first, 2)
            if "modeling" in steps:
                figures["modeling_over_first_analysis"] = round(steps["modeling"] / first, 2)
    print(f"rows: {args.rows:,}")
    for name, seconds in steps.items():
        print(f"  {name:<20} {seconds:7.1f} s")
    print(f"  {'render':<20} {figures['render_seconds'] or 0:7.1f} s")
    print(f"  {'total (wall)':<20} {figures['wall_seconds']:7.1f} s  (budget {BUDGETS['total_seconds']} s)")
    print(f"peak RSS: {figures['peak_rss_gb']:.2f} GB in {figures['peak_process']} "
          f"(budget {BUDGETS['peak_rss_gb']} GB)")
    if "first_analysis_seconds" in figures:
        print(f"first analysis procedure: {figures['first_analysis_seconds']:.1f} s; "
              f"modeling / first analysis = {figures.get('modeling_over_first_analysis')}")
    target = args.json or ROOT / "bench" / "results" / f"bench_{args.rows}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"figures written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
