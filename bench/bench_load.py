"""Time the load step on two capture systems: an AS400-style extract plus a provider's coordinates.

Simulates ``--rows`` purchases (not timed), writes them into a tmp dir as the core system would
(Parquet, the bank's own headers, no coordinates) and the provider's coordinates file for
``--coverage`` of the purchases plus 1 % orphan ids, then times reading with ``load.columns``,
the coordinates file's checks, the join with the outside-the-country count (the package's
outline, or ``--outline``), and the whole ``load_transactions``. Prints seconds per phase, the
join's counts and the peak resident memory of this process.

    .venv/bin/python bench/bench_load.py                  # 1,000,000 purchases
    .venv/bin/python bench/bench_load.py --outline ../../shared/data/geo/colombia_outline.geojson
"""

from __future__ import annotations

import argparse
import resource
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from timing import PhaseTimer

from cardfraud.data.cleaning import load_file
from cardfraud.data.coordinates import join_coordinates, read_coordinates
from cardfraud.data.country import default_outline_path, read_outline
from cardfraud.data.load_step import load_transactions

BANK_HEADERS = {"card_id": "NUM_TARJETA", "timestamp": "FECHA_HORA",
                "merchant_id": "COD_COMERCIO", "transaction_id": "ID_TRANSACCION"}
timed = PhaseTimer(width=40)


def write_capture_files(rows: int, seed: int, coverage: float, folder: Path) -> tuple[Path, Path]:
    """Write the core system's extract and the provider's coordinates; return both paths."""
    from cardfraud.simulator.simulate import simulate

    purchases = simulate(rows=rows, seed=seed)
    rng = np.random.default_rng(seed)
    located = purchases.loc[rng.random(len(purchases)) < coverage,
                            ["transaction_id", "latitude", "longitude"]]
    orphans = pd.DataFrame({"transaction_id": np.arange(rows + 1, rows + 1 + rows // 100),
                            "latitude": 4.6, "longitude": -74.1})
    provider = pd.concat([located, orphans], ignore_index=True).sample(frac=1, random_state=seed)
    extract = purchases.drop(columns=["latitude", "longitude"]).rename(
        columns={name: header for name, header in BANK_HEADERS.items()})
    extract_path, provider_path = folder / "as400.parquet", folder / "provider.parquet"
    extract.to_parquet(extract_path, index=False)
    provider.assign(accuracy_m=rng.uniform(3, 50, len(provider)).round(1)).to_parquet(
        provider_path, index=False)
    return extract_path, provider_path


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print seconds per phase, the counts and the peak memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--coverage", type=float, default=0.95,
                        help="share of purchases the provider has a point for")
    parser.add_argument("--outline", default=None, help="GeoJSON outline (default: the package's)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        extract_path, provider_path = write_capture_files(args.rows, args.seed, args.coverage,
                                                          Path(folder))
        outline_path = args.outline or default_outline_path()
        outline = read_outline(outline_path) if outline_path else None
        print(f"{args.rows:,} purchases; outside-country check: {outline_path or 'bounding box'}")
        with timed("read + validate extract (load.columns)"):
            purchases, _ = load_file(extract_path, columns=BANK_HEADERS)
        with timed("read + validate coordinates file"):
            coordinates = read_coordinates(provider_path)
        with timed("join + outside-country count"):
            _, report = join_coordinates(purchases, coordinates, str(extract_path),
                                         str(provider_path), outline)
        timed.print_total()
        with timed("load_transactions (all of the above)"):
            load_transactions(path=str(extract_path), columns=BANK_HEADERS,
                              coordinates_path=str(provider_path))
    print(f"matched {report.matched:,}, without coordinates {report.without_coordinates:,}, "
          f"orphans {report.orphan_coordinates:,}, outside the country {report.outside_country:,}"
          f" ({report.country_check})")
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(f"peak resident memory of this process: {peak_gb:.2f} GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
