"""Time the chunked simulator (``simulate --out DIR/``) and show its peak memory does not grow with the rows.

    .venv/bin/python bench/bench_simulate_chunks.py                       # 2M and 8M rows
    .venv/bin/python bench/bench_simulate_chunks.py --rows 2000000 8000000 --chunk-rows 2000000

Each size runs in its own process (peak resident memory is per process), writing into a
temporary directory that is removed afterwards. Prints seconds, seconds per million rows, peak
resident memory, files and size on disk per size, then the ratio of the largest peak to the
smallest.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_simulate import peak_rss_mb

from cardfraud.simulator.chunked import DEFAULT_CHUNK_ROWS, simulate_to_directory


def run_one(rows: int, seed: int, chunk_rows: int) -> dict:
    """Simulate ``rows`` into a temporary directory in this process; return its figures."""
    root = Path(tempfile.mkdtemp(prefix="bench-chunks-"))
    try:
        started = time.perf_counter()
        summary = simulate_to_directory(root / "purchases", rows=rows, seed=seed, chunk_rows=chunk_rows)
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in (root / "purchases").rglob("*.parquet"))
        return {"rows": rows, "seconds": seconds, "peak_mb": peak_rss_mb(), "files": summary.files,
                "frauds": summary.frauds, "disk_mb": size / 2**20}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Run each size in a child process and print one line per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2_000_000, 8_000_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child's run
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.rows[0], args.seed, args.chunk_rows)))
        return 0
    results = []
    for rows in args.rows:
        child = subprocess.run([sys.executable, __file__, "--one", "--rows", str(rows), "--seed", str(args.seed),
                                "--chunk-rows", str(args.chunk_rows)], capture_output=True, text=True, check=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"simulate --rows {rows:,} --out DIR/ --chunk-rows {args.chunk_rows:,}: {result['seconds']:.1f} s "
              f"({result['seconds'] / rows * 1e6:.1f} s per million rows), peak {result['peak_mb']:,.0f} MB, "
              f"{result['files']:,} files, {result['disk_mb']:,.0f} MB on disk, {result['frauds']:,} frauds",
              flush=True)
    peaks = [r["peak_mb"] for r in results]
    print(f"largest peak / smallest peak: {max(peaks) / min(peaks):.2f} for "
          f"{max(args.rows) / min(args.rows):.0f} times the rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
