"""Benchmark the modeling step phase by phase (seconds per phase and the total).

Runs the same package functions as notebooks/05_modeling.ipynb, with the ``modeling``
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

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from timing import PhaseTimer  # noqa: E402

from cardfraud.data.cleaning import load_file
from cardfraud.data.schema import model_features
from cardfraud.modeling import figures as model_plots
from cardfraud.modeling import tracking
from cardfraud.modeling.candidates import cross_validate_candidates, fit_final_models
from cardfraud.modeling.holdout import split_transactions
from cardfraud.modeling.metrics import (
    evaluate_on_test,
    first_analysis_rerun,
    permutation_importance_table,
)
from cardfraud.modeling.results import save_modeling_results, step_settings
from cardfraud.modeling.thresholds import choose_thresholds
from cardfraud.runner.artifacts import save_figure, transactions_path  # noqa: E402
from cardfraud.runner.config import read_params  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the project dir: bench/ lies in it

phase = PhaseTimer(width=22)


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
    """Run every phase of the modeling step and return its results."""
    with phase("read data"):
        frame = pd.read_parquet(transactions_path(output_dir))
    with phase("split"):
        split = split_transactions(frame, p["split"], p["test_days"], p["test_share"], seed)
    with phase("cross-validation"):
        cv = cross_validate_candidates(
            frame, split, p["candidates"], p["grids"], p["resampling"], p["cv_folds"],
            p["cv_sample_rows"], p["selection_metric"], seed)
    with phase("thresholds"):
        thresholds, curves = choose_thresholds(
            frame, cv, p["cost_missed_fraud"], p["cost_review"], p["target_recall"])
    with phase("refit best"):
        fitted = fit_final_models(frame, split, cv)
    with phase("test evaluation"):
        test = evaluate_on_test(frame, split, fitted, cv, thresholds, p["alert_budget"],
                                         p["cost_missed_fraud"], p["cost_review"])
    with phase("importance"):
        importance = permutation_importance_table(
            fitted.pipelines[fitted.best], frame, split, p["importance_rows"], seed)
    with phase("figures"):
        best = fitted.best
        figures = {
            "modeling_pr_roc": model_plots.plot_pr_roc(test, best),
            "modeling_confusion_matrices": model_plots.plot_confusion_matrices(test),
            "modeling_cost_curve": model_plots.plot_cost_curve(
                curves[best], thresholds.loc[best, "threshold"],
                thresholds.loc[best, "threshold_target_recall"], p["target_recall"], best,
                int(thresholds.loc[best, "validation_rows"]), p.get("currency", "COP")),
            "modeling_calibration": model_plots.plot_calibration(test, best),
            "modeling_importance": model_plots.plot_permutation_importance(
                importance, best, p["importance_rows"]),
        }
        paths = {name: save_figure(fig, name, output_dir) for name, fig in figures.items()}
        plt.close("all")
    with phase("mlflow logging"):
        settings = step_settings(frame, split, cv, p["alert_budget"],
                                          p["cost_missed_fraud"], p["cost_review"],
                                          p["target_recall"], p.get("currency", "COP"))
        shared = ["modeling_pr_roc", "modeling_confusion_matrices"]
        best_only = [name for name in paths if name not in shared]
        runs = tracking.track_candidates(
            p["experiment_name"], tracking.SQLITE_PREFIX + str(output_dir / "mlruns" / "mlflow.db"),
            cv, fitted, thresholds, test, model_features(frame.iloc[split.train_rows[:5]]),
            settings, shared, best_only, run_id="bench", output_dir=output_dir)
    with phase("hand-over files"):
        results = save_modeling_results(frame, split, cv, fitted, thresholds, test,
                                                 runs, settings, output_dir)
    with phase("first analysis rerun"):
        first_analysis_rerun(frame, split, p["first_analysis_rows"], seed)
    return results


def time_notebook(params_file: Path, output_dir: Path) -> float:
    """Execute the notebook with papermill into the output dir; return wall seconds."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "papermill", str(PROJECT_ROOT / "notebooks" /
                    "05_modeling.ipynb"), str(output_dir / "05_modeling.ipynb"), "-k", "cardfraud",
                    "-f", str(params_file), "-p", "output_dir", str(output_dir),
                    "-p", "tracking_uri", tracking.SQLITE_PREFIX + str(output_dir / "nb.db")],
                   check=True, capture_output=True)
    return time.perf_counter() - started


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
    if args.notebook:
        notebook_params = output_dir / "notebook_params.yaml"
        import yaml

        notebook_params.write_text(yaml.safe_dump({**params["modeling"], "seed": args.seed}))
        print(f"{'notebook (papermill)':<22} {time_notebook(notebook_params, output_dir):7.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
