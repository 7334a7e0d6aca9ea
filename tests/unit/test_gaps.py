"""Inputs unknown on some purchases: the models fill them inside the pipeline, never in the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_transactions

from cardfraud.data.schema import FEATURES, TARGET, model_features
from cardfraud.modeling.candidates import CANDIDATES, make_pipeline, prediction_pipeline
from cardfraud.modeling.gaps import has_gaps


@pytest.fixture(scope="module")
def with_gaps():
    frame = make_transactions(1200, seed=3)
    frame.loc[frame.index[::7], "distance_from_home"] = np.nan
    return frame


@pytest.mark.parametrize(("candidate", "resampling"),
                         [(c, "none") for c in CANDIDATES] + [("logistic_regression", "smote")])
def test_every_candidate_fits_and_scores_purchases_with_an_unknown_input(with_gaps, candidate,
                                                                         resampling):
    features = model_features(with_gaps)
    assert has_gaps(features)
    pipeline = make_pipeline(candidate, resampling, 1, inputs=FEATURES, gaps=True)
    pipeline.fit(features, with_gaps[TARGET].to_numpy())
    scores = prediction_pipeline(pipeline).predict_proba(features)[:, 1]
    assert np.isfinite(scores).all() and scores.std() > 0
    assert features["distance_from_home"].isna().sum() == len(range(0, 1200, 7))  # data untouched


def test_the_gap_itself_is_an_input_and_complete_data_gets_no_fill_step():
    frame = make_transactions(2000, seed=4)
    assert not has_gaps(model_features(frame))
    assert [name for name, _ in make_pipeline("decision_tree", inputs=FEATURES).steps] == ["classify"]
    frame["distance_from_home"] = frame["distance_from_home"].where(frame[TARGET] == 0)
    pipeline = make_pipeline("decision_tree", inputs=FEATURES, gaps=True)
    pipeline.fit(model_features(frame), frame[TARGET])
    filled = pipeline.steps[0][1].transform(model_features(frame))
    assert "missingindicator_distance_from_home" in filled.columns
    assert pd.Series(pipeline.predict_proba(model_features(frame))[:, 1]).groupby(
        frame[TARGET].to_numpy()).mean().diff().iloc[-1] > 0.9  # unknown distance = fraud here
