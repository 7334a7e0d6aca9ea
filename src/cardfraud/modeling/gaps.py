"""Inputs unknown on some purchases: a raw extract leaves a card's distance from home empty
when the cardholder file has no home for it.

The models never see an invented value in the data: when the training rows have gaps, the
pipeline's first step fills each gap with the training rows' median and adds a 0/1 column
saying the value was unknown, so the model learns from the gap itself. Fitted inside the
pipeline, the fill uses training rows only (inside each cross-validation fold too), and the
registered model fills a scored purchase's gaps the same way.
"""

from __future__ import annotations

import pandas as pd
from sklearn.impute import SimpleImputer


def has_gaps(features: pd.DataFrame) -> bool:
    """Say whether any input is unknown (empty) on some purchase."""
    return bool(features.isna().to_numpy().any())


def gap_filler() -> SimpleImputer:
    """Return the pipeline step that fills gaps with the median and flags them (pandas out).

    An input empty on every training row is kept (filled with 0), so the columns stay where
    the later steps expect them.
    """
    return SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True).set_output(transform="pandas")


def inputs_filled(classifier) -> list[str]:
    """Return the inputs the fitted pipeline fills when unknown (those with gaps in training).

    Empty for a pipeline without the gap-filling step (e.g. one fitted on complete data).
    """
    steps = getattr(classifier, "named_steps", {})
    filler = steps.get("fill_gaps") if hasattr(steps, "get") else None
    indicator = getattr(filler, "indicator_", None)
    if indicator is None:
        return []
    names = list(filler.feature_names_in_)
    return [names[i] for i in indicator.features_]
