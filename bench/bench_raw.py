"""Time the raw path of the load step: the seven inputs derived from a bank's raw extract.

Simulates ``--rows`` purchases (not timed) and writes them as a raw extract (Parquet, the bank's
own headers, ISO 8583 codes) plus a cardholder file, as ``simulate --raw`` does. Then times
reading with ``load.columns``, the checks and the codes, the homes, the derivation alone, and
the whole ``load_transactions(source="raw")``; prints seconds per phase, the derived inputs'
agreement with the simulator's columns and the peak resident memory of this process.
Target: 1,000,000 purchases derived in at most 15 s.

    .venv/bin/python bench/bench_raw.py                  # 1,000,000 purchases
"""

from __future__ import annotations

import argparse
import resource
import tempfile
from pathlib import Path

import pandas as pd
from timing import PhaseTimer

from cardfraud.data.cardholders import resolve_homes
from cardfraud.data.column_mapping import apply_column_mapping
from cardfraud.data.derive import derive_inputs
from cardfraud.data.files import read_transactions
from cardfraud.data.load_step import load_transactions
from cardfraud.data.raw import Derivation, decode_flags, load_raw_extract
from cardfraud.simulator.raw_extract import compare_with_simulator, raw_extract

BANK_HEADERS = {"card_id": "NUM_TARJETA", "timestamp": "FECHA_HORA",
                "merchant_id": "COD_COMERCIO", "transaction_id": "ID_TRANSACCION",
                "entry_mode": "MODO_ENTRADA", "verification": "VERIFICACION", "channel": "CANAL"}
timed = PhaseTimer(width=44)


def write_raw_files(rows: int, seed: int, folder: Path) -> tuple[Path, Path, pd.DataFrame]:
    """Write the raw extract and the cardholder file; return both paths and the simulation."""
    from cardfraud.simulator.simulate import simulate

    simulated = simulate(rows=rows, seed=seed)
    raw, cardholders = raw_extract(simulated, seed)
    raw_path, holders_path = folder / "raw.parquet", folder / "cardholders.parquet"
    raw.rename(columns={n: h for n, h in BANK_HEADERS.items()}).to_parquet(raw_path, index=False)
    cardholders.to_parquet(holders_path, index=False)
    return raw_path, holders_path, simulated


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print seconds per phase, the agreement and the peak memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        raw_path, holders_path, simulated = write_raw_files(args.rows, args.seed, Path(folder))
        print(f"{args.rows:,} purchases, {simulated['card_id'].nunique():,} cards")
        with timed("read raw extract (load.columns)"):
            raw = apply_column_mapping(read_transactions(raw_path), BANK_HEADERS, str(raw_path))
        with timed("decode the codes"):
            flags = decode_flags(raw, str(raw_path), None, Derivation())
        with timed("homes from the cardholder file"):
            home_lat, home_lon, _ = resolve_homes(raw, str(raw_path), holders_path)
        with timed("derive the seven inputs"):
            derive_inputs(raw, home_lat, home_lon, flags)
        with timed("load_raw_extract (checks + all the above)"):
            load_raw_extract(raw, str(raw_path), cardholders_path=holders_path)
        timed.print_total()
        with timed("load_transactions(source=raw), from the file"):
            derived, _, _ = load_transactions(source="raw", path=str(raw_path),
                                              columns=BANK_HEADERS,
                                              cardholders_path=str(holders_path))
    with pd.option_context("display.width", 160, "display.max_colwidth", 40):
        print(compare_with_simulator(derived, simulated).drop(columns="why").to_string())
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(f"peak resident memory of this process: {peak_gb:.2f} GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
