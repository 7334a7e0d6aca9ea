"""Benchmark the modeling step phase by phase (seconds per phase and the total).

Runs ``run_modeling``, the one call of notebooks/05_modeling.ipynb, with the ``modeling``
section of a params file, on simulated transactions (``--rows``) or an extract (``--data``).
MLflow logs into the output dir, never into the project's mlruns/.

    .venv/bin/python bench/bench_modeling.py --rows 1000000
    .venv/bin/python bench/bench_modeling.py --data ../shared/data/card_transdata_head50k.csv
    .venv/bin/python bench/bench_modeling.py --rows 200000 --notebook   # also time papermill
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
from timing import PhaseTimer  # noqa: E402

from cardfraud.data.cleaning import load_file  # noqa: E402
from cardfraud.modeling import tracking  # noqa: E402
from cardfraud.modeling.page import run_modeling  # noqa: E402
from cardfraud.runner.artifacts import transactions_path  # noqa: E402
from cardfraud.runner.config import read_params  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the project dir: bench/ lies in it

phase = PhaseTimer(width=22, cpu=True)


def prepare_data(args, output_dir: Path) -> None:
    """Write transactions.parquet into the output dir (simulated or from an extract)."""
    target = transactions_path(output_dir)
    if args.data:
        frame, _ = load_file(args.data)
    else:
        from cardfraud.simulator.simulate import simulate

        frame = simulate(rows=args.rows, seed=args.seed)
    frame.to_parquet(target, index=False)


def run_step(p: dict, output_dir: Path, seed: int) -> dict:
    """Run the modeling step as the notebook does (its one call), timing each phase."""
    with phase("read data"):
        frame = pd.read_parquet(transactions_path(output_dir))
    page = run_modeling(
        frame, output_dir, run_id="bench", seed=seed,
        tracking_uri=tracking.SQLITE_PREFIX + str(output_dir / "mlruns" / "mlflow.db"),
        **p, phase=phase)
    return page.results


def time_notebook(params_file: Path, output_dir: Path) -> float:
    """Execute the notebook with papermill into the output dir; return wall seconds."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "papermill", str(PROJECT_ROOT / "notebooks" /
                    "05_modeling.ipynb"), str(output_dir / "05_modeling.ipynb"), "-k", "cardfraud",
                    "-f", str(params_file), "-p", "output_dir", str(output_dir),
                    "-p", "tracking_uri", tracking.SQLITE_PREFIX + str(output_dir / "nb.db")],
                   check=True, capture_output=True)
    return time.perf_counter() - started


def print_over_time(results: dict) -> None:
    """Print the backtest's mean and sd per window, card precision@k and the bootstrap CIs."""
    backtest = results.get("backtest") or {}
    if backtest.get("ran"):
        for name, row in backtest["summary"].items():
            std = "n/a" if row["std"] is None else f"{row['std']:.4f}"
            print(f"backtest {name}: mean {row['mean']:.4f} sd {std} over "
                  f"{row['windows']} weekly windows")
    else:
        print(f"backtest: {backtest.get('note', 'not run')}")
    k = (results.get("card_precision") or {}).get("k")
    if k is not None:
        print(f"card precision@k (k = {k} cards a day): "
              f"{results['test_metrics']['card_precision_at_k']:.4f}")
    bootstrap = results.get("bootstrap") or {}
    for name, found in (bootstrap.get("candidates") or {}).items():
        ap, recall = found["average_precision"], found["recall"]
        print(f"bootstrap ({bootstrap['unit']}, {bootstrap['resamples']}) {name}: PR-AUC "
              f"{ap['estimate']:.4f} [{ap['low']:.4f}, {ap['high']:.4f}], recall "
              f"{recall['estimate']:.4f} [{recall['low']:.4f}, {recall['high']:.4f}]")


def main(argv: list[str] | None = None) -> int:
    """Parse options, prepare the data, time the phases."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="simulated rows")
    parser.add_argument("--data", help="a CSV or Parquet extract instead of simulated rows")
    parser.add_argument("--params", default=str(PROJECT_ROOT / "params" / "default.yaml"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output", help="output dir (default: a temporary dir)")
    parser.add_argument("--notebook", action="store_true", help="also time the notebook")
    parser.add_argument("--reuse-data", action="store_true",
                        help="keep the transactions.parquet already in --output")
    args = parser.parse_args(argv)
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    params = read_params(args.params)
    if "modeling" not in params:
        print(f"error: {args.params} has no 'modeling' section", file=sys.stderr)
        return 2
    output_dir = Path(args.output or tempfile.mkdtemp(prefix="bench_modeling_")).resolve()
    if not (args.reuse_data and transactions_path(output_dir).exists()):
        prepare_data(args, output_dir)
    rows = len(pd.read_parquet(transactions_path(output_dir), columns=["fraud"]))
    print(f"data: {args.data or 'simulated'}, {rows:,} rows; output: {output_dir}")
    results = run_step(params["modeling"], output_dir, args.seed)
    phase.print_total()
    metrics = results["test_metrics"]
    print(f"best model {results['best_model']}: test average_precision "
          f"{metrics['average_precision']:.4f}, roc_auc {metrics['roc_auc']:.4f}, "
          f"threshold {results['threshold']:.4f}")
    print_over_time(results)
    if args.notebook:
        notebook_params = output_dir / "notebook_params.yaml"
        import yaml

        notebook_params.write_text(yaml.safe_dump({**params["modeling"], "seed": args.seed}))
        print(f"{'notebook (papermill)':<22} {time_notebook(notebook_params, output_dir):7.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
