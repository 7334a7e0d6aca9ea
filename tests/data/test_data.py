"""Validation and cleaning of extracts: every bad input has its test and its message."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from cardfraud.data.checks import DataValidationError
from cardfraud.data.cleaning import load_file, validate_transactions
from cardfraud.data.files import read_transactions


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

        monkeypatch.setattr("cardfraud.data.files.open", refuse, raising=False)
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


# --- values that used to get through ------------------------------------------------------

def write_text(tmp_path, text: str, name: str = "extract.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("column,value,message", [
    ("distance_from_home", float("inf"),
     "x.csv: column 'distance_from_home' has infinite values at row 3 (e.g. inf); every value "
     "must be a finite number"),
    ("distance_from_last_transaction", float("-inf"),
     "column 'distance_from_last_transaction' has infinite values at row 3 (e.g. -inf)"),
    ("distance_from_home", 20_041.0,
     "x.csv: column 'distance_from_home' has values above 20,040 km (half the Earth's "
     "circumference) at row 3 (e.g. 20041)"),
    ("distance_from_last_transaction", 1e308,
     "column 'distance_from_last_transaction' has values above 20,040 km"),
    ("ratio_to_median_purchase_price", 1e308,
     "x.csv: column 'ratio_to_median_purchase_price' has values above 1,000,000 (a purchase a "
     "million times the cardholder's median) at row 3 (e.g. 1e+308)"),
])
def test_infinite_and_impossible_values_are_refused(good_frame, column, value, message):
    frame = good_frame.copy()
    frame.loc[2, column] = value
    with pytest.raises(DataValidationError) as caught:
        validate_transactions(frame, "x.csv")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_half_the_earth_is_the_farthest_distance_kept(good_frame):
    frame = good_frame.copy()
    frame.loc[2, "distance_from_home"] = 20_040.0
    clean, _ = validate_transactions(frame, "x.csv")
    assert clean["distance_from_home"].max() == 20_040.0


@pytest.mark.parametrize("word", ["inf", "Infinity", "-inf", "1e309"])
def test_infinity_written_in_a_csv_is_refused(tmp_path, good_frame, word):
    frame = good_frame.astype({"ratio_to_median_purchase_price": object})
    frame.loc[4, "ratio_to_median_purchase_price"] = word
    path = write_csv(tmp_path, frame)
    with pytest.raises(DataValidationError,
                       match=r"extract\.csv: column 'ratio_to_median_purchase_price' has infinite "
                             r"values at row 5"):
        load_file(path)


@pytest.mark.parametrize("column,value,message", [
    ("amount", "abc", "x.csv: column 'amount' has non-numeric values at row 2 (e.g. 'abc')"),
    ("amount", -5000.0, "x.csv: column 'amount' has negative values at row 2 (e.g. -5000); "
                        "amounts must be >= 0 (refunds and reversals are not purchases)"),
    ("amount", float("inf"), "x.csv: column 'amount' has infinite values at row 2"),
    ("amount", 1e300, "column 'amount' has values above 10^15"),
    ("latitude", 95.0, "x.csv: column 'latitude' has values above 90 (latitudes lie "
                           "in [-90, 90]) at row 2 (e.g. 95)"),
    ("home_longitude", -200.0, "x.csv: column 'home_longitude' has values below -180 at row 2 (e.g. -200); "
                         "longitudes lie in [-180, 180]"),
    ("longitude", "west", "x.csv: column 'longitude' has non-numeric values at row 2"),
    ("timestamp", "yesterday", "x.csv: column 'timestamp' has values that are not dates and "
                               "times at row 2 (e.g. 'yesterday'); write them like 2024-05-01 "
                               "10:30:00"),
    ("timestamp", "2024-02-30 10:00", "column 'timestamp' has values that are not dates and times "
                                      "at row 2 (e.g. '2024-02-30 10:00')"),
])
def test_optional_columns_the_analysis_uses_are_checked(good_frame, column, value, message):
    frame = good_frame.assign(
        amount=[5e4, 1e5, 2e4, 3e4, 9e4, 7e5, 1e4, 4e4],
        timestamp=[f"2024-05-0{d} 10:00:00" for d in range(1, 9)],
        latitude=4.6, longitude=-74.1, home_latitude=4.7, home_longitude=-74.0,
    ).astype({column: object})
    frame.loc[1, column] = value
    with pytest.raises(DataValidationError) as caught:
        validate_transactions(frame, "x.csv")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_timestamps_are_parsed_whatever_the_layout_of_each_row(good_frame):
    stamps = ["2024-05-01 10:00:00", "2024-05-02", "2024-05-03T08:30", "2024-05-04 23:59:59",
              "2024-05-05 00:00:01", "2024-05-06", "2024-05-07 12:00", "2024-05-08 09:15:00"]
    clean, report = validate_transactions(good_frame.assign(timestamp=stamps), "x.csv")
    assert pd.api.types.is_datetime64_any_dtype(clean["timestamp"])
    assert clean["timestamp"].iloc[1] == pd.Timestamp("2024-05-02")
    assert clean["timestamp"].iloc[2] == pd.Timestamp("2024-05-03 08:30")
    assert report.converted_columns["timestamp"] == "text to date and time"


def test_numbers_as_timestamps_are_refused(good_frame):
    with pytest.raises(DataValidationError, match="column 'timestamp' holds numbers, not dates"):
        validate_transactions(good_frame.assign(timestamp=1714564800), "x.csv")


def test_mixed_time_zones_are_refused(good_frame):
    stamps = ["2024-05-01T10:00:00+01:00", "2024-05-01T10:00:00+02:00"] * 4
    with pytest.raises(DataValidationError, match="column 'timestamp' cannot be read as dates"):
        validate_transactions(good_frame.assign(timestamp=stamps), "x.csv")


def test_city_codes_are_kept_as_text(good_frame):
    clean, report = validate_transactions(good_frame.assign(city=[11001, 5001] * 4), "x.csv")
    assert set(clean["city"].astype(str)) == {"11001", "5001"}
    assert report.converted_columns["city"] == "to text"


def test_rows_missing_an_amount_are_dropped_and_counted(good_frame):
    frame = good_frame.assign(amount=[5e4, None, 2e4, 3e4, 9e4, 7e5, 1e4, 4e4])
    clean, report = validate_transactions(frame, "x.csv")
    assert len(clean) == 7 and report.missing_by_column == {"amount": 1}
    with pytest.raises(DataValidationError, match=r"missing values in column\(s\) amount at row 2"):
        validate_transactions(frame, "x.csv", on_missing="fail")


def test_purchases_to_score_need_no_amount(good_frame):
    frame = good_frame.drop(columns="fraud").assign(amount=[5e4, None, 2e4, 3e4, 9e4, 7e5, 1e4, 4e4])
    clean, _ = validate_transactions(frame, "new.csv", on_missing="fail", require_target=False)
    assert len(clean) == 8


# --- column names --------------------------------------------------------------------------

def test_a_copy_of_the_fraud_column_with_spaces_is_refused_by_name(tmp_path, good_frame):
    path = write_csv(tmp_path, good_frame.assign(**{" fraud ": good_frame["fraud"]}))
    with pytest.raises(DataValidationError,
                       match=r"extract\.csv: column name 'fraud' appears 2 times \(columns 8, 9, "
                             r"names compared without surrounding spaces\)"):
        load_file(path)


def test_an_exact_copy_of_a_column_is_refused_not_renamed(tmp_path, good_frame):
    text = good_frame.to_csv(index=False).splitlines()
    rows = [f"{line},{line.split(',')[0]}" for line in text]
    rows[0] = text[0] + ",distance_from_home"
    path = write_text(tmp_path, "\n".join(rows) + "\n")
    with pytest.raises(DataValidationError,
                       match=r"column name 'distance_from_home' appears 2 times \(columns 1, 9"):
        load_file(path)


def test_duplicate_names_in_a_request_frame_are_refused(good_frame):
    frame = good_frame.copy()
    frame.columns = [*frame.columns[:-1], "used_chip"]
    with pytest.raises(DataValidationError, match="column name 'used_chip' appears 2 times"):
        validate_transactions(frame, "request", require_target=False)


# --- file formats --------------------------------------------------------------------------

def fake_workbook(path):
    """A file with the parts every .xlsx workbook has (enough to be recognised)."""
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return path


@pytest.mark.parametrize("name", ["extract.xlsx", "extract.xls", "renamed_workbook.csv"])
def test_excel_workbooks_are_refused_with_what_to_do(tmp_path, name):
    path = fake_workbook(tmp_path / name) if name != "extract.xls" else \
        tmp_path / name
    if name == "extract.xls":
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    with pytest.raises(DataValidationError) as caught:
        read_transactions(path)
    assert str(caught.value) == (f"{path}: is a spreadsheet workbook (Excel), which is not read; "
                                 f"save the sheet as CSV (UTF-8) and give that file")


@pytest.mark.parametrize("name", ["extract.csv.gz", "extract.csv.bz2", "extract.csv.xz",
                                  "extract.csv.zip"])
def test_compressed_semicolon_files_get_the_separator_guess(tmp_path, good_frame, name):
    path = write_csv(tmp_path, good_frame, name=name, sep=";", decimal=",")
    clean, _ = load_file(path)
    assert len(clean) == 8
    assert clean["distance_from_home"].tolist() == good_frame["distance_from_home"].tolist()


def test_damaged_gzip_is_named(tmp_path, good_frame):
    path = write_csv(tmp_path, good_frame, name="cut.csv.gz")
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(DataValidationError, match=r"cut\.csv\.gz: not a readable \.gz compressed file"):
        read_transactions(path)


def test_thousands_separators_are_named_with_the_parameter_to_set(tmp_path, good_frame):
    lines = good_frame.to_csv(index=False, sep=";", decimal=",").splitlines()
    lines[4] = "1.234,5;" + lines[4].split(";", 1)[1]
    path = write_text(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(DataValidationError) as caught:
        load_file(path)
    assert str(caught.value) == (
        f"{path}: column 'distance_from_home' has non-numeric values at row 4 (e.g. '1.234,5'); "
        f"these look like numbers written with '.' as thousands separator: remove the "
        f"separators or set load.thousands='.'")
    clean, _ = load_file(path, thousands=".")
    assert clean["distance_from_home"].iloc[3] == 1234.5
    assert clean["distance_from_home"].iloc[2] == 250.0


def test_thousands_separator_equal_to_the_decimal_mark_is_refused(tmp_path, good_frame):
    path = write_csv(tmp_path, good_frame)
    with pytest.raises(DataValidationError, match="thousands separator and the decimal mark are both '.'"):
        load_file(path, thousands=".")


def test_load_command_reads_thousands_separators_when_told(tmp_path, good_frame, capsys):
    from cardfraud.data.load_step import cli

    lines = good_frame.to_csv(index=False, sep=";", decimal=",").splitlines()
    lines[4] = "1.234,5;" + lines[4].split(";", 1)[1]
    path = write_text(tmp_path, "\n".join(lines) + "\n")
    assert cli(["--input", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {path}: column 'distance_from_home' has non-numeric values "
                            f"at row 4") and error.count("\n") == 1
    assert cli(["--input", str(path), "--thousands", "."]) == 0
    assert "8 purchases" in capsys.readouterr().out
