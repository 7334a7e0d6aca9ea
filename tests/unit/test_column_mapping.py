"""load.columns renames the bank's headers to the names the analysis reads."""

from __future__ import annotations

import pandas as pd

from cardfraud.data.cleaning import load_file
from cardfraud.data.column_mapping import apply_column_mapping


def test_mapped_headers_take_the_canonical_names_and_values_follow(tmp_path, good_frame):
    frame = good_frame.rename(columns={"fraud": "FRAUDE", "used_chip": "CHIP"}).assign(
        NUM_TARJETA=range(8), FECHA_HORA=pd.date_range("2024-03-01", periods=8, freq="h").astype(str),
        COD_COMERCIO=[5, 5, 6, 6, 7, 7, 8, 8])
    path = tmp_path / "core.csv"
    frame.to_csv(path, index=False)
    columns = {"card_id": "NUM_TARJETA", "timestamp": "FECHA_HORA", "merchant_id": "COD_COMERCIO",
               "fraud": "FRAUDE", "used_chip": "CHIP"}
    clean, report = load_file(path, columns=columns)
    assert {"card_id", "timestamp", "merchant_id", "fraud", "used_chip"} <= set(clean.columns)
    assert not {"NUM_TARJETA", "FECHA_HORA", "COD_COMERCIO", "FRAUDE", "CHIP"} & set(clean.columns)
    assert clean["fraud"].tolist() == good_frame["fraud"].tolist()
    assert clean["used_chip"].tolist() == good_frame["used_chip"].tolist()
    assert clean["merchant_id"].tolist() == [5, 5, 6, 6, 7, 7, 8, 8]
    assert clean["timestamp"].dt.hour.tolist() == list(range(8))  # parsed as the timestamp
    assert report.converted_columns["timestamp"] == "text to date and time"


def test_no_mapping_leaves_the_frame_as_read(good_frame):
    assert apply_column_mapping(good_frame, {}, "x.csv") is good_frame


def test_headers_with_spaces_are_matched_as_read(good_frame):
    frame = good_frame.assign(**{"NUM_TARJETA": 1})
    renamed = apply_column_mapping(frame, {"card_id": " NUM_TARJETA "}, "x.csv")
    assert "card_id" in renamed.columns and "NUM_TARJETA" not in renamed.columns
