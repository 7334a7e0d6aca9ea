"""The simulator for data larger than memory: fixed blocks of purchases written chunk by chunk.

``python -m cardfraud simulate --rows 100000000 --out DIR/`` calls
:func:`simulate_to_directory`. The data is defined block by block, so that it does not depend on
how it is written:

- **blocks**: the purchases come in blocks of ``BLOCK_ROWS`` (the last block also takes the
  remainder, so it holds ``BLOCK_ROWS`` to ``2 * BLOCK_ROWS - 1`` rows; fewer rows than a block
  make one block). Block ``b`` is a small simulation with its own cardholders and its own
  random streams, from ``np.random.SeedSequence([seed, 1, b])``, the same parts as
  :func:`.simulate.simulate_with_captures` in the same order.
- **one world shared by every block**, drawn once from ``SeedSequence([seed, 0])``: the cities,
  the 20,000 shops and their big stores, the 400 online merchants (same ids and places in every
  block), the compromised points with their windows and the cash-out areas. The points and areas
  are chosen by the traffic of a reference population of one block's cardholders (drawn from
  the same shared stream, never written), so a skimmer or a leaky checkout captures cards in
  every block, and the ring spends cloned cards of every block in the same areas.
- **ids**: ``transaction_id`` is ``b * BLOCK_ROWS`` plus the purchase's order in its block
  (1..rows overall, in time order within a block, not across blocks); ``card_id`` numbers the
  cardholders of block 0 first, then those of block 1, ... (unique overall; a cardholder without
  a purchase in the period leaves a gap, as in ``simulate()``).

``chunk_rows`` only says how many whole blocks are written together (rounded up to whole
blocks): the output is the same whatever the chunk size, and the memory is bounded by a chunk,
not by the rows. The rates, shares and the story are the in-memory simulator's; ``simulate()``
itself is untouched (the same seed gives it the same frame as before).

The output directory is Hive-partitioned Parquet by purchase date,
``DIR/purchase_date=2024-01-01/part-00003.parquet`` (one file per chunk and date, without the
``purchase_date`` column, which the path carries), plus ``DIR/_captured_cards.parquet``, the
ground truth of the captured cards (as ``simulate_with_captures`` returns it). Readers of a
dataset skip files whose name starts with ``_``, so ``pd.read_parquet(DIR)`` and
``spark.read.parquet(DIR)`` read the purchases only. Timestamps are stored in microseconds
(Spark reads no nanoseconds). Everything is written into a hidden temporary sibling directory
renamed into place when all is written: never partial output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .compromise import (
    CashOutAreas,
    captured_cards_table,
    captures_at_points,
    cash_out_areas,
    merchant_traffic,
    plant_points,
    stolen_data_use,
)
from .fraud import SCENARIOS, card_testing, fraud_exposure, fraud_purchases
from .partitioned import CAPTURED_CARDS_FILE, DirectoryWriter
from .purchases import derive, genuine_purchases, to_frame
from .simulate import STREAMS, check_knobs
from .world import World, cardholder_count, cardholders_among, draw_places

BLOCK_ROWS = 500_000  # purchases per block: part of the data's definition, like the seed
DEFAULT_CHUNK_ROWS = 2_000_000  # purchases written together (whole blocks)


@dataclass(frozen=True)
class Block:
    """One block of purchases: its index, size, first ids and fraud rows by scenario."""

    index: int
    rows: int
    first_transaction: int  # transaction_id of its first purchase, minus 1
    first_card: int  # card_id of its first cardholder, minus 1
    n_fraud: dict


@dataclass
class SharedWorld:
    """What every block shares: places, compromised points and their windows, cash-out areas."""

    places: World
    points: np.ndarray
    opens: np.ndarray
    cash_out: CashOutAreas | None


@dataclass(frozen=True)
class DirectorySummary:
    """What :func:`simulate_to_directory` wrote."""

    path: str
    rows: int
    frauds: int
    files: int
    blocks: int
    chunks: int
    cards_captured: int


def _block_streams(seed: int, index: int) -> dict:
    """The random streams of block ``index``, one per part of the story (as ``simulate`` has)."""
    sequences = np.random.SeedSequence([seed, 1, index]).spawn(len(STREAMS))
    return dict(zip(STREAMS, (np.random.default_rng(s) for s in sequences), strict=True))


def plan_blocks(cfg: dict, block_rows: int = BLOCK_ROWS) -> list[Block]:
    """The blocks of a simulation of ``cfg["rows"]`` purchases, with their ids and fraud counts.

    Cheap for any size: only each block's fraud counts are drawn (they fix its cardholders).
    """
    count = max(1, cfg["rows"] // block_rows)
    blocks, first_card = [], 0
    for index in range(count):
        rows = block_rows if index < count - 1 else cfg["rows"] - (count - 1) * block_rows
        counts = _block_streams(cfg["seed"], index)["counts"]
        n_fraud = {s.name: int(counts.binomial(rows, cfg[f"{s.name}_rate"])) for s in SCENARIOS}
        blocks.append(Block(index, rows, index * block_rows, first_card, n_fraud))
        first_card += cardholder_count(cfg, rows - sum(n_fraud.values()))
    if first_card >= np.iinfo(np.int32).max:
        raise ValueError(f"simulator: {first_card:,} cardholders do not fit card_id (int32); simulate fewer rows")
    return blocks


def shared_world(cfg: dict, block_rows: int = BLOCK_ROWS) -> SharedWorld:
    """Draw the places, compromised points and cash-out areas every block shares."""
    rng = np.random.default_rng(np.random.SeedSequence([cfg["seed"], 0]))
    places = draw_places(cfg, rng)
    rates = sum(cfg[f"{s.name}_rate"] for s in SCENARIOS)
    reference = cardholders_among(places, cfg, max(1, round(min(block_rows, cfg["rows"]) * (1 - rates))), rng)
    points, opens = plant_points(reference, cfg, rng)
    areas = cash_out_areas(reference, merchant_traffic(reference), cfg, rng)
    return SharedWorld(places, points, opens, areas)


def simulate_block(shared: SharedWorld, cfg: dict, block: Block) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The purchases and captured cards of one block, with ids made unique over all blocks."""
    streams = _block_streams(cfg["seed"], block.index)
    world = cardholders_among(shared.places, cfg, block.rows - sum(block.n_fraud.values()), streams["world"])
    world.exposure = fraud_exposure(world, streams["victims"])
    genuine = genuine_purchases(world, cfg, streams["genuine"])
    parts = [card_testing(world, genuine, cfg, streams["drift"])]
    captures = captures_at_points(world, parts[0], shared.points, shared.opens, cfg, streams["compromise"])
    plans = stolen_data_use(captures, cfg)
    cloned = plans["cloned_card"]
    cloned.cash_out, cloned.cash_out_share, cloned.rng = shared.cash_out, cfg["cash_out_share"], streams["cash_out"]
    parts += [fraud_purchases(world, s, block.n_fraud[s.name], cfg, streams[s.name], plans.get(s.name))
              for s in SCENARIOS]
    captured = captured_cards_table(captures, plans, parts[0], cfg["start"])
    frame = to_frame(world, derive(world, parts, profile=genuine), cfg)
    frame["transaction_id"] += block.first_transaction
    frame["card_id"] += np.int32(block.first_card)
    captured["card_id"] += np.int32(block.first_card)
    return frame, captured


def _write_chunks(writer: DirectoryWriter, shared: SharedWorld, cfg: dict, blocks: list[Block],
                  per_chunk: int) -> tuple[int, pd.DataFrame]:
    """Simulate and write the blocks ``per_chunk`` at a time; return the frauds and the captured cards."""
    frauds, captured = 0, []
    for chunk, first in enumerate(range(0, len(blocks), per_chunk)):
        frames = []
        for block in blocks[first:first + per_chunk]:
            frame, cards = simulate_block(shared, cfg, block)
            frames.append(frame)
            captured.append(cards)
        purchases = pd.concat(frames, ignore_index=True)
        del frames  # the chunk's frame is the only copy held while it is written
        frauds += int(purchases["fraud"].sum())
        writer.write_chunk(purchases, chunk)
        del purchases
    cards = pd.concat(captured, ignore_index=True)
    return frauds, cards.sort_values(["compromise_point_id", "captured_at"], kind="stable").reset_index(drop=True)


def _check_size(name: str, value, least: int) -> None:
    """Raise ``ValueError`` unless ``value`` is an integer >= ``least``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"simulator: {name} must be an integer >= {least}, not {value!r}")


def simulate_to_directory(out_dir, rows: int | None = None, seed: int | None = None, *,
                          chunk_rows: int = DEFAULT_CHUNK_ROWS, block_rows: int = BLOCK_ROWS,
                          overwrite: bool = False, **knobs) -> DirectorySummary:
    """Simulate ``rows`` purchases into a partitioned Parquet directory, a chunk at a time.

    Args:
        out_dir: the directory to write; refused when it exists and is not empty, unless
            ``overwrite``.
        rows, seed, **knobs: as :func:`.simulate.simulate`.
        chunk_rows: purchases held in memory and written together (rounded up to whole blocks);
            it changes neither the data nor the files' content, only how many files there are.
        block_rows: purchases per block, part of the data's definition (tests make it small).

    Returns:
        The counts of what was written. Raises ``ValueError`` on a bad knob or target, before
        anything is written.
    """
    cfg = check_knobs({"rows": rows, "seed": seed, **knobs})
    _check_size("chunk_rows", chunk_rows, 1)
    _check_size("block_rows", block_rows, 100)
    blocks = plan_blocks(cfg, int(block_rows))
    per_chunk = max(1, math.ceil(chunk_rows / block_rows))
    writer = DirectoryWriter(out_dir, overwrite=overwrite)  # checks the target before any work
    shared = shared_world(cfg, int(block_rows))
    with writer:
        frauds, cards = _write_chunks(writer, shared, cfg, blocks, per_chunk)
        writer.write_table(cards, CAPTURED_CARDS_FILE)
    return DirectorySummary(str(writer.target), cfg["rows"], frauds, writer.files, len(blocks),
                            math.ceil(len(blocks) / per_chunk), len(cards))

