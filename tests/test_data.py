"""Validation and cleaning of extracts: every bad input has its test and its message."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from cardfraud.data import (
    DataValidationError,
    load_file,
    read_transactions,
    validate_transactions,
)


def write_csv(tmp_path, frame, name="extract.csv", **kwargs):
    path = tmp_path / name
    frame.to_csv(path, index=False, **kwargs)
    return path


def test_good_frame_is_kept_whole_with_compact_dtypes(good_frame):
    clean, report = validate_transactions(good_frame, "x.csv")
    assert len(clean) == 8 and report.rows_kept == 8
    assert clean["fraud"].dtype == "int8" and clean["used_chip"].dtype == "int8"
    assert clean["distance_from_home"].dtype == "float64"
    assert clean["fraud"].sum() == 2


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataValidationError, match=r"nope\.csv: file not found"):
        read_transactions(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DataValidationError, match=r"empty\.csv: file is empty"):
        read_transactions(path)


def test_header_only_file(tmp_path, good_frame):
    path = write_csv(tmp_path, good_frame.iloc[:0])
    with pytest.raises(DataValidationError, match="has a header but no data rows"):
        read_transactions(path)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(DataValidationError, match="is a directory"):
        read_transactions(tmp_path)


def test_unreadable_file(tmp_path, good_frame, monkeypatch):
    path = write_csv(tmp_path, good_frame)
    path.chmod(0)
    if os.geteuid() == 0:  # root reads any file: make the read fail as it would for a user

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr("cardfraud.data.open", refuse, raising=False)
    with pytest.raises(DataValidationError, match=r"extract\.csv: cannot be read \(Permission denied\)"):
        read_transactions(path)


def test_truncated_parquet(tmp_path, good_frame):
    path = tmp_path / "cut.parquet"
    good_frame.to_parquet(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataValidationError, match=r"cut\.parquet: not a readable Parquet file"):
        read_transactions(path)


def test_bom_is_accepted(tmp_path, good_frame):
    path = write_csv(tmp_path, good_frame, encoding="utf-8-sig")
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    clean, _ = load_file(path)
    assert list(clean.columns[:1]) == ["distance_from_home"] and len(clean) == 8


def test_semicolons_with_decimal_commas_are_detected(tmp_path, good_frame):
    path = write_csv(tmp_path, good_frame, sep=";", decimal=",")
    assert "1,5;" in path.read_text()
    clean, _ = load_file(path)
    assert clean["distance_from_home"].tolist()[:2] == [1.5, 10.0]


def test_semicolons_with_decimal_points_when_set(tmp_path, good_frame):
    path = write_csv(tmp_path, good_frame, sep=";")
    clean, _ = load_file(path, decimal=".")
    assert clean["ratio_to_median_purchase_price"].iloc[2] == 8.0


@pytest.mark.parametrize("true_word,false_word", [("true", "false"), ("True", "False"),
                                                  ("1.0", "0.0")])
def test_flags_as_words_or_floats(tmp_path, good_frame, true_word, false_word):
    frame = good_frame.copy()
    for column in ["repeat_retailer", "used_chip", "used_pin_number", "online_order", "fraud"]:
        frame[column] = frame[column].map({1: true_word, 0: false_word})
    clean, report = load_file(write_csv(tmp_path, frame))
    assert clean["fraud"].tolist() == good_frame["fraud"].tolist()


def test_missing_columns_are_named(good_frame):
    with pytest.raises(DataValidationError, match="missing required columns used_chip, fraud"):
        validate_transactions(good_frame.drop(columns=["used_chip", "fraud"]), "x.csv")


def test_text_in_numeric_column_names_column_and_rows(good_frame):
    frame = good_frame.astype({"distance_from_home": object})
    frame.loc[3, "distance_from_home"] = "far"
    with pytest.raises(DataValidationError,
                       match=r"x\.csv: column 'distance_from_home' has non-numeric values at row 4 \(e\.g\. 'far'\)"):
        validate_transactions(frame, "x.csv")


def test_negative_distance(good_frame):
    frame = good_frame.copy()
    frame.loc[[1, 5], "distance_from_last_transaction"] = -2.0
    with pytest.raises(DataValidationError,
                       match=r"column 'distance_from_last_transaction' has negative values at rows 2, 6"):
        validate_transactions(frame, "x.csv")


def test_fraud_column_with_twos(good_frame):
    frame = good_frame.copy()
    frame.loc[7, "fraud"] = 2
    with pytest.raises(DataValidationError, match=r"column 'fraud' must be 0 or 1 but has 2 at row 8"):
        validate_transactions(frame, "x.csv")


def test_single_class_is_refused(good_frame):
    frame = good_frame.assign(fraud=0)
    with pytest.raises(DataValidationError, match="one class only: all 8 rows are legitimate"):
        validate_transactions(frame, "x.csv")


def test_single_row_file_is_refused_as_one_class(tmp_path, good_frame):
    path = write_csv(tmp_path, good_frame.iloc[[2]])
    with pytest.raises(DataValidationError, match="one class only: all 1 rows are fraud"):
        load_file(path)


def test_missing_values_are_dropped_and_counted(good_frame):
    frame = good_frame.copy()
    frame.loc[0, "used_chip"] = None
    frame.loc[4, "distance_from_home"] = None
    clean, report = validate_transactions(frame, "x.csv")
    assert len(clean) == 6
    assert report.rows_with_missing == 2 and report.missing_rows_dropped == 2
    assert report.missing_by_column == {"distance_from_home": 1, "used_chip": 1}


def test_missing_values_fail_when_asked(good_frame):
    frame = good_frame.copy()
    frame.loc[4, "distance_from_home"] = None
    with pytest.raises(DataValidationError, match=r"missing values in column\(s\) distance_from_home at row 5"):
        validate_transactions(frame, "x.csv", on_missing="fail")


@pytest.mark.parametrize("policy,expected_rows", [("keep", 9), ("drop", 8)])
def test_duplicates_counted_and_kept_or_dropped(good_frame, policy, expected_rows):
    frame = pd.concat([good_frame, good_frame.iloc[[0]]], ignore_index=True)
    clean, report = validate_transactions(frame, "x.csv", duplicates=policy)
    assert report.duplicate_rows == 1 and len(clean) == expected_rows


def test_extra_columns_are_kept_and_listed(good_frame):
    clean, report = validate_transactions(good_frame.assign(branch="north"), "x.csv")
    assert "branch" in clean.columns and report.extra_columns == ["branch"]


def test_target_is_optional_for_scoring(good_frame):
    clean, _ = validate_transactions(good_frame.drop(columns="fraud"), "new.csv", require_target=False)
    assert "fraud" not in clean.columns and len(clean) == 8


def test_real_sample_loads_whole(real_sample):
    clean, report = load_file(real_sample)
    assert len(clean) == 49_999
    assert abs(clean["fraud"].mean() - 0.0863) < 0.001
    assert report.converted_columns == {}
