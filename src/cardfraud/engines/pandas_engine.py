"""The pandas engine: the whole extract in memory on one machine (the default).

The same functions as :mod:`cardfraud.engines.spark_engine`; each calls what the load step and
the ``score`` command already use, so the pandas path is unchanged.
"""

from __future__ import annotations

import os

import pandas as pd

from . import EngineSettings

NAME = "pandas"


def read_extract(path: str | os.PathLike, settings: EngineSettings | None = None,
                 sep: str | None = None, decimal: str | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet extract (:func:`cardfraud.data.files.read_transactions`)."""
    from ..data.files import read_transactions

    return read_transactions(path, sep=sep, decimal=decimal)


def load_extract(path: str | os.PathLike, settings: EngineSettings | None = None,
                 sep: str | None = None, decimal: str | None = None, on_missing: str = "drop",
                 require_target: bool = True, required_inputs: list[str] | None = None):
    """Read and validate an extract; return (clean frame, CleaningReport)."""
    from ..data.cleaning import load_file

    return load_file(path, sep=sep, decimal=decimal, on_missing=on_missing,
                     require_target=require_target, required_inputs=required_inputs)


def score_extract(input_path: str | os.PathLike, output_path: str | os.PathLike,
                  model_uri: str, tracking_uri: str | None = None,
                  settings: EngineSettings | None = None, **options) -> dict:
    """Validate, score and write one file (:func:`cardfraud.serving.scoring.score_file`)."""
    from ..serving.scoring import score_file

    return score_file(input_path, output_path, model_uri, tracking_uri, **options)
