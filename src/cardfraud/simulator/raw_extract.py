"""The simulator's purchases written as a bank's raw extract plus a cardholder file, and compared.

``python -m cardfraud simulate --raw --out DIR`` writes ``DIR/purchases.csv`` (no derived
inputs: card, time, amount, merchant, place, and the card-read mode, verification and channel
in the ISO 8583 default codes of :mod:`cardfraud.data.codes`) and ``DIR/cardholders.csv``
(card_id, home_latitude, home_longitude). The load step derives the seven inputs back
(``load.source: raw``); :func:`compare_with_simulator` measures how far they are from the
simulator's own columns (docs/simulator.md):

- the same definitions, so exact: distance_from_home, used_chip, used_pin_number,
  online_order, and distance_from_last_transaction after each card's first purchase (the
  simulator measures the first from where the cardholder was before the period, the
  derivation from the home);
- other definitions: ratio_to_median_purchase_price (the simulator divides by the median of
  the cardholder's genuine purchases over the whole period, the derivation by the median of
  the earlier ones) and repeat_retailer (the simulator: one of the cardholder's usual
  merchants; the derivation: bought there before in the extract).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data.schema import FEATURES, HOME_COORDINATES, TRANSACTION_ID

RAW_FILE, CARDHOLDERS_FILE = "purchases.csv", "cardholders.csv"
CONTACTLESS_SHARE = 0.5  # of onsite purchases with a cryptogram (the rest: contact chip)
FALLBACK_SHARE, KEYED_SHARE = 0.1, 0.05  # of onsite purchases without one (the rest: stripe)
SIGNATURE_SHARE = 0.4  # of onsite purchases without a PIN (the rest: no verification)
EXACT = ["distance_from_home", "used_chip", "used_pin_number", "online_order"]
CONTEXT = ["transaction_id", "timestamp", "card_id", "merchant_id", "amount", "latitude",
           "longitude", "city"]


def entry_modes(chip: np.ndarray, online: np.ndarray, rng) -> np.ndarray:
    """ISO 8583 POS entry modes: 05/07 chip onsite, 90/80/01 without, 09 wallet and 81 online."""
    draw = rng.random(len(chip))
    onsite_chip = np.where(draw < CONTACTLESS_SHARE, "07", "05")
    onsite_plain = np.where(draw < KEYED_SHARE, "01",
                            np.where(draw < KEYED_SHARE + FALLBACK_SHARE, "80", "90"))
    return np.where(online, np.where(chip, "09", "81"),
                    np.where(chip, onsite_chip, onsite_plain))


def verifications(pin: np.ndarray, online: np.ndarray, rng) -> np.ndarray:
    """PIN onsite, one-time code / 3-D Secure online; else signature or none."""
    unverified = np.where(~online & (rng.random(len(pin)) < SIGNATURE_SHARE), "signature", "none")
    return np.where(pin, np.where(online, "otp_3ds", "pin"), unverified)


def raw_extract(purchases: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the simulator's purchases as a raw extract and its cardholder file."""
    rng = np.random.default_rng(seed)
    chip, pin = purchases["used_chip"].to_numpy() == 1, purchases["used_pin_number"].to_numpy() == 1
    online = purchases["online_order"].to_numpy() == 1
    raw = purchases[CONTEXT].copy()
    raw["entry_mode"] = entry_modes(chip, online, rng)
    raw["verification"] = verifications(pin, online, rng)
    raw["channel"] = np.where(online, "online", "onsite")
    raw["fraud"] = purchases["fraud"].to_numpy()
    cardholders = purchases[["card_id", *HOME_COORDINATES]].drop_duplicates("card_id")
    return raw, cardholders.sort_values("card_id").reset_index(drop=True)


def write_raw_extract(purchases: pd.DataFrame, folder: str | Path, seed: int = 0) -> tuple[Path, Path]:
    """Write ``purchases.csv`` and ``cardholders.csv`` into ``folder``; return both paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    raw, cardholders = raw_extract(purchases, seed)
    raw.to_csv(folder / RAW_FILE, index=False)
    cardholders.to_csv(folder / CARDHOLDERS_FILE, index=False)
    return folder / RAW_FILE, folder / CARDHOLDERS_FILE


def _first_purchases(frame: pd.DataFrame) -> np.ndarray:
    """True for each card's first purchase (time, then file order)."""
    order = np.lexsort((np.arange(len(frame)), frame["timestamp"].to_numpy(), frame["card_id"].to_numpy()))
    first = np.zeros(len(frame), dtype=bool)
    cards = frame["card_id"].to_numpy()[order]
    first[order[np.r_[True, cards[1:] != cards[:-1]]]] = True
    return first


def compare_with_simulator(derived: pd.DataFrame, simulated: pd.DataFrame) -> pd.DataFrame:
    """Return, per input, how the derived values compare with the simulator's own columns.

    Columns: rows compared, share exactly equal (within 1e-9 relative), the median and 90th
    percentile of the absolute difference, the median difference relative to the simulator's
    value (rows where it is not 0), and why they differ.
    """
    joined = simulated.merge(derived[[TRANSACTION_ID, *[c for c in FEATURES if c in derived]]],
                             on=TRANSACTION_ID, suffixes=("_simulator", ""))
    later = ~_first_purchases(joined)
    rows = []
    for name in FEATURES:
        if name not in derived:
            continue
        ours = joined[name].to_numpy(dtype="float64")
        theirs = joined[f"{name}_simulator"].to_numpy(dtype="float64")
        compared = later if name == "distance_from_last_transaction" else np.ones(len(ours), bool)
        gap = np.abs(ours - theirs)[compared]
        exact = np.isclose(ours, theirs, rtol=1e-9, atol=1e-9)[compared]
        base = np.abs(theirs)[compared]
        relative = gap[base > 0] / base[base > 0]
        rows.append({"input": name, "rows compared": int(compared.sum()),
                     "exactly equal %": round(100 * float(exact.mean()), 2),
                     "median |difference|": float(np.median(gap)),
                     "90th pct |difference|": float(np.quantile(gap, 0.9)),
                     "median |difference| %": round(100 * float(np.median(relative)), 2)
                     if len(relative) else 0.0,
                     "why": _WHY.get(name, "same definition")})
    return pd.DataFrame(rows).set_index("input")


_WHY = {
    "distance_from_last_transaction": "same definition; each card's first purchase left out "
                                      "(the simulator starts from before the period)",
    "ratio_to_median_purchase_price": "the simulator divides by the whole period's median of "
                                      "genuine purchases; the derivation by the earlier ones'",
    "repeat_retailer": "the simulator: one of the cardholder's usual merchants; the derivation: "
                       "bought there before in the extract",
}
