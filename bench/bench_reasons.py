"""Benchmark the reasons of an alert: purchases explained per second for each candidate.

Fits each candidate (the modeling step's pipelines, default settings) on ``--fit-rows``
simulated purchases, then times, on ``--rows`` other purchases: scoring alone
(``predict_proba``) and the reasons (SHAP values, top three, words;
:func:`cardfraud.modeling.reasons.purchase_reasons`), one thread as in the modeling step.
Prints rows/s and what 1,000,000 purchases would take, all of them or the alerts only
(``--alert-share`` of them: the share ``score --reasons alerts`` explains).

    .venv/bin/python bench/bench_reasons.py --rows 20000
    .venv/bin/python bench/bench_reasons.py --rows 2000 --gaps   # with the gap filler
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from cardfraud.data.schema import TARGET, model_features
from cardfraud.modeling.candidates import CANDIDATES, make_pipeline, prediction_pipeline
from cardfraud.modeling.reasons import purchase_reasons


def rate(rows: int, seconds: float) -> str:
    """Rows per second, readable."""
    return f"{rows / seconds:>12,.0f}"


def main(argv: list[str] | None = None) -> int:
    """Parse options, simulate, fit every candidate and print its rows/s."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="purchases explained")
    parser.add_argument("--fit-rows", type=int, default=100_000, help="purchases fitted on")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--alert-share", type=float, default=0.01,
                        help="share of purchases held for review, for the 1M estimate")
    parser.add_argument("--gaps", action="store_true",
                        help="leave 5 %% of distances from home unknown (the gap filler)")
    parser.add_argument("--candidates", nargs="*", default=list(CANDIDATES))
    args = parser.parse_args(argv)
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    from cardfraud.simulator.simulate import simulate

    frame = simulate(rows=args.fit_rows + args.rows, seed=args.seed)
    features, fraud = model_features(frame), frame[TARGET].to_numpy()
    if args.gaps:
        unknown = np.random.default_rng(args.seed).random(len(features)) < 0.05
        features.loc[unknown, "distance_from_home"] = np.nan
    fit, explain = features.iloc[:args.fit_rows], features.iloc[args.fit_rows:]
    print(f"{args.fit_rows:,} purchases fitted on, {len(explain):,} explained, inputs "
          f"{', '.join(features.columns)}{' (5 % of distances unknown)' if args.gaps else ''}")
    print(f"{'candidate':<24} {'score rows/s':>12} {'reasons rows/s':>14} "
          f"{'1M all':>9} {'1M alerts':>10}")
    import shap  # noqa: F401  (imported once, outside the timings)

    for candidate in args.candidates:
        model = prediction_pipeline(make_pipeline(
            candidate, seed=args.seed, inputs=list(features.columns), gaps=args.gaps).fit(
                fit, fraud[:args.fit_rows]))
        with threadpool_limits(limits=1, user_api="openmp"):
            started = time.perf_counter()
            model.predict_proba(explain)
            scored = time.perf_counter() - started
            purchase_reasons(model, explain.head(10))  # builds the explainer once
            started = time.perf_counter()
            purchase_reasons(model, explain)
            explained = time.perf_counter() - started
        per_million = explained / len(explain) * 1_000_000
        print(f"{candidate:<24} {rate(len(explain), scored)} {rate(len(explain), explained):>14} "
              f"{per_million:>7,.0f} s {per_million * args.alert_share:>8,.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
