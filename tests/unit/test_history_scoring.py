"""Scoring with a history model: ``score --history``, ``history-features``, refusals, and the
range checks of history inputs."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from helpers import empty_tracking_database, history_purchases, log_history_model

from cardfraud.__main__ import main
from cardfraud.data.checks import DataValidationError
from cardfraud.data.schema import FEATURES
from cardfraud.modeling.history import HISTORY_FEATURES, card_history_features
from cardfraud.serving.scorer import check_purchases, load_registered_scorer


@pytest.fixture(scope="module")
def split_purchases():
    return history_purchases()


@pytest.fixture(scope="module")
def registered(tmp_path_factory, split_purchases) -> dict:
    """A store (made once for the module) holding a history model and a base model."""
    folder = tmp_path_factory.mktemp("mlflow")
    shutil.copyfile(empty_tracking_database(), folder / "mlflow.db")
    uri = f"sqlite:///{folder}/mlflow.db"
    earlier, _ = split_purchases
    return {"uri": uri, "model": log_history_model(uri, earlier),
            "base_model": log_history_model(uri, earlier, history=False)}


@pytest.fixture
def history_model(tmp_path, monkeypatch, registered, split_purchases) -> dict:
    """The registered history model, the cards' earlier purchases (Parquet, labelled) and the
    new purchases to score (CSV, unlabelled)."""
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(variable, registered["uri"])
    earlier, new = split_purchases
    earlier.to_parquet(tmp_path / "history.parquet", index=False)
    new.to_csv(tmp_path / "new.csv", index=False)
    return {**registered, "earlier": earlier, "new": new,
            "history": tmp_path / "history.parquet", "input": tmp_path / "new.csv"}


def expected_probabilities(case: dict) -> np.ndarray:
    """The classifier's probabilities on features computed over the whole extract (the new
    purchases' labels unknown), independently of the scoring code."""
    whole = pd.concat([case["earlier"], case["new"]], ignore_index=True)
    history = card_history_features(whole).iloc[len(case["earlier"]):].reset_index(drop=True)
    features = pd.concat([case["new"][FEATURES].astype("float64"), history], axis=1)
    classifier = load_registered_scorer(case["model"], case["uri"]).model.unwrap_python_model()
    return classifier.classifier.predict_proba(features[classifier.inputs])[:, 1]


def score(case: dict, output, *extra: str, source=None) -> int:
    return main(["score", "--input", str(source or case["input"]), "--output", str(output),
                 "--model", case["model"], "--tracking-uri", case["uri"], *extra])


def test_score_with_history_computes_the_features_and_scores(history_model, tmp_path, capsys):
    output = tmp_path / "scored.csv"
    assert score(history_model, output, "--history", str(history_model["history"])) == 0
    scored = pd.read_csv(output)
    assert len(scored) == len(history_model["new"])
    assert set(HISTORY_FEATURES) <= set(scored.columns)
    np.testing.assert_allclose(scored["probability"], expected_probabilities(history_model),
                               rtol=1e-9, atol=1e-12)
    assert (scored["decision"] == (scored["probability"] >= 0.3)).all()
    assert scored["purchases_last_7d"].sum() > 0  # the history was used
    out = capsys.readouterr().out
    assert f"and 10 card-history features from {history_model['history']}" in out


def test_the_whole_extract_as_history_gives_its_features(history_model, tmp_path):
    whole = pd.concat([history_model["earlier"], history_model["new"].assign(fraud=0)],
                      ignore_index=True)  # the new purchases included, labelled
    whole.to_parquet(tmp_path / "whole.parquet", index=False)
    output = tmp_path / "scored.csv"
    assert score(history_model, output, "--history", str(tmp_path / "whole.parquet")) == 0
    expected = card_history_features(whole).iloc[len(history_model["earlier"]):]
    np.testing.assert_allclose(pd.read_csv(output)[HISTORY_FEATURES], expected, rtol=1e-12)


def test_history_model_without_history_is_refused_naming_the_features(history_model, tmp_path,
                                                                      capsys):
    output = tmp_path / "scored.csv"
    assert score(history_model, history_model["history"], "--history",
                 str(history_model["history"]), "--overwrite") == 2
    assert "history.parquet: is the history file" in capsys.readouterr().err
    assert score(history_model, output) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and not output.exists()
    assert error.startswith(f"error: {history_model['input']}: the model uses card-history "
                            f"features the file lacks (purchases_last_1h, purchases_last_24h,")
    assert error.endswith("merchant_fraud_rate_30d); pass --history FILE (the cards' earlier "
                          "purchases) to compute them")


def test_features_from_history_features_score_as_is_with_the_same_probabilities(
        history_model, tmp_path, capsys):
    featured = tmp_path / "featured.parquet"
    assert main(["history-features", "--input", str(history_model["input"]), "--history",
                 str(history_model["history"]), "--output", str(featured)]) == 0
    assert "10 card-history features of" in capsys.readouterr().out
    written = pd.read_parquet(featured)
    assert list(written.columns) == [*history_model["new"].columns, *HISTORY_FEATURES]
    assert score(history_model, tmp_path / "a.csv", source=featured) == 0
    assert score(history_model, tmp_path / "b.csv", "--history",
                 str(history_model["history"])) == 0
    np.testing.assert_allclose(pd.read_csv(tmp_path / "a.csv")["probability"],
                               pd.read_csv(tmp_path / "b.csv")["probability"], rtol=1e-12)


def test_history_given_to_an_input_with_history_columns_is_refused(history_model, tmp_path,
                                                                   capsys):
    featured = tmp_path / "featured.csv"
    assert main(["history-features", "--input", str(history_model["input"]), "--history",
                 str(history_model["history"]), "--output", str(featured)]) == 0
    assert score(history_model, tmp_path / "s.csv", "--history", str(history_model["history"]),
                 source=featured) == 2
    assert "already carries card-history columns (purchases_last_1h," in capsys.readouterr().err


def test_history_for_a_base_model_is_refused(history_model, tmp_path, capsys):
    case = {**history_model, "model": history_model["base_model"]}
    assert score(case, tmp_path / "s.csv") == 0  # no history needed
    assert score(case, tmp_path / "t.csv", "--history", str(case["history"])) == 2
    assert "uses no card-history features; score without --history" in capsys.readouterr().err


def _broken(frame: pd.DataFrame, change: str) -> pd.DataFrame:
    frame = frame.copy()
    if change == "no card":
        return frame.drop(columns="card_id")
    if change == "no merchant":
        return frame.drop(columns="merchant_id")
    column, value = {"bad time": ("timestamp", "yesterday"), "bad label": ("fraud", 2),
                     "empty card": ("card_id", None), "bad place": ("latitude", 123.0)}[change]
    frame[column] = frame[column].astype(object)
    frame.loc[2, column] = value
    return frame


@pytest.mark.parametrize("which, change, message", [
    ("history", "no card", "history.csv: missing column card_id (needed for the card-history "
                           "features; found:"),
    ("history", "bad time", "history.csv: column 'timestamp'"),
    ("history", "bad label", "history.csv: column 'fraud' must be 0, 1 or empty (unknown) but "
                             "has 2 at row 3"),
    ("history", "empty card", "history.csv: missing values in column(s) card_id at row 3; every "
                              "purchase needs a card and a time for its history"),
    ("history", "bad place", "history.csv: column 'latitude' has values above 90"),
    ("input", "no merchant", "new.csv: missing column merchant_id (needed for the card-history "
                             "features; found:"),
    ("input", "bad time", "new.csv: column 'timestamp'"),
])
def test_bad_history_or_input_is_refused_in_one_line(history_model, tmp_path, capsys, which,
                                                     change, message):
    history = history_model["earlier"]
    new = history_model["new"]
    if which == "history":
        history = _broken(history, change)
    else:
        new = _broken(new, change)
    history.to_csv(tmp_path / "history.csv", index=False)
    new.to_csv(tmp_path / "new.csv", index=False)
    output = tmp_path / "scored.csv"
    assert score(history_model, output, "--history", str(tmp_path / "history.csv")) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and error.count("\n") == 0, error
    assert str(tmp_path) in error and not output.exists()


def test_history_features_command_refuses_an_existing_output_and_the_history_path(
        history_model, tmp_path, capsys):
    args = ["history-features", "--input", str(history_model["input"]), "--history",
            str(history_model["history"]), "--output"]
    assert main([*args, str(history_model["history"])]) == 2
    assert "is the history file" in capsys.readouterr().err
    (tmp_path / "out.csv").write_text("keep me")
    assert main([*args, str(tmp_path / "out.csv")]) == 2
    assert (tmp_path / "out.csv").read_text() == "keep me"


@pytest.fixture
def history_request(split_purchases) -> pd.DataFrame:
    earlier, new = split_purchases
    features = card_history_features(earlier).head(4).reset_index(drop=True)
    return pd.concat([earlier[FEATURES].head(4), features], axis=1)


@pytest.mark.parametrize("column, value, message", [
    ("purchases_last_24h", -1.0, "request: column 'purchases_last_24h' has negative values at "
                                 "row 2 (e.g. -1); counts of purchases are >= 0"),
    ("minutes_since_previous", np.inf, "request: column 'minutes_since_previous' has infinite "
                                       "values at row 2"),
    ("merchant_fraud_rate_30d", 1.5, "request: column 'merchant_fraud_rate_30d' has values "
                                     "above 1 (rates lie in [0, 1]) at row 2"),
    ("hour_of_day", 24.0, "request: column 'hour_of_day' has values above 23"),
    ("speed_from_previous_kmh", "fast", "request: column 'speed_from_previous_kmh' has "
                                        "non-numeric values at row 2 (e.g. 'fast')"),
    ("first_purchase_at_merchant", None, "request: missing values in column(s) "
                                         "first_purchase_at_merchant at row 2"),
])
def test_history_inputs_are_range_checked(history_request, column, value, message):
    bad = history_request.astype({column: object})
    bad.loc[1, column] = value
    inputs = [*FEATURES, *HISTORY_FEATURES]
    with pytest.raises(DataValidationError) as caught:
        check_purchases(bad, "request", inputs)
    assert message in str(caught.value)
    clean = check_purchases(history_request, "request", inputs)
    assert list(clean.columns) == inputs and set(clean[HISTORY_FEATURES].dtypes) == {
        np.dtype("float64")}


def test_history_features_is_a_listed_command_whose_help_loads_no_pandas(capsys):
    import subprocess
    import sys

    assert main(["--help"]) == 0
    assert "history-features" in capsys.readouterr().out
    probe = ("import sys\nfrom cardfraud.__main__ import main\ntry:\n"
             "    main(['history-features', '--help'])\nexcept SystemExit:\n    pass\n"
             "print('pandas loaded' if 'pandas' in sys.modules else 'light')")
    answer = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=60)
    assert "--label-delay-days" in answer.stdout and answer.stdout.strip().endswith("light")


def test_history_features_for_a_model_use_the_label_delay_it_was_trained_with(
        history_model, tmp_path, capsys):
    """A REST caller names the model: its features count the labels known its own delay
    before (its MLflow metadata), as score --history and training do, not the default 7."""
    quick = log_history_model(history_model["uri"], history_model["earlier"],
                              label_delay_days=1.0)
    whole = pd.concat([history_model["earlier"], history_model["new"]], ignore_index=True)
    expected = card_history_features(whole, 1.0).iloc[len(history_model["earlier"]):]
    default = card_history_features(whole, 7.0).iloc[len(history_model["earlier"]):]
    rate = "merchant_fraud_rate_30d"
    assert not np.allclose(expected[rate], default[rate])  # the delay matters on these purchases
    featured = tmp_path / "featured.csv"
    assert main(["history-features", "--input", str(history_model["input"]), "--history",
                 str(history_model["history"]), "--output", str(featured), "--model", quick,
                 "--tracking-uri", history_model["uri"]]) == 0
    assert "labels known 1 day(s) before" in capsys.readouterr().out
    np.testing.assert_allclose(pd.read_csv(featured)[HISTORY_FEATURES], expected, rtol=1e-12)
    scored = tmp_path / "scored.csv"
    assert score({**history_model, "model": quick}, scored, "--history",
                 str(history_model["history"])) == 0
    np.testing.assert_allclose(pd.read_csv(scored)[HISTORY_FEATURES], expected, rtol=1e-12)
    assert main(["history-features", "--input", str(history_model["input"]), "--history",
                 str(history_model["history"]), "--output", str(tmp_path / "other.csv"),
                 "--model", quick, "--tracking-uri", history_model["uri"],
                 "--label-delay-days", "7"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "was trained with labels known 1 day(s) before" in error
    assert not (tmp_path / "other.csv").exists()
