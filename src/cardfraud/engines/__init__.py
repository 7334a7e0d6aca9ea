"""Which engine does the data-bound work: pandas on one machine (the default) or Apache Spark.

One module per engine, with the same functions (:func:`engine_for` picks it from
``common.engine``), so no notebook or command tests ``if engine == ...``:

- ``read_extract(path, settings, sep=None, decimal=None)``: read a CSV or Parquet file (Spark:
  also a directory of partitioned Parquet, e.g. daily extracts);
- ``load_extract(path, settings, ...)``: read and validate an extract with the load step's
  rules and messages; returns the clean table (a pandas or Spark DataFrame) and what was found;
- ``score_extract(input, output, model_uri, tracking_uri, settings, ...)``: the ``score``
  command (Spark: into a directory of Parquet, renamed into place on success).

The Spark engine's work is split by what it does: ``spark_session`` (the session),
``spark_checks`` (each rule as a Spark condition), ``spark_validation`` (the load step's and
``score``'s checks in their order), ``spark_scoring`` (``spark_udf`` and the folder of scores).

Reads params (``common.engine``, ``common.spark``); writes nothing itself.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from types import ModuleType

ENGINES = ("pandas", "spark")
DEFAULT_ENGINE = "pandas"
DEFAULT_MASTER = "local[*]"
SPARK_KEYS = ("master", "conf")
# local, local[4], local[*], local[4,2] (retries), spark://h1:7077[,h2:7077], yarn, k8s://...,
# sc://host:15002 (Spark Connect)
_MASTER = re.compile(r"local(\[(\*|\d+)(,\d+)?\])?|spark://[^\s]+|yarn|k8s://[^\s]+|sc://[^\s]+")
MASTER_RULE = "local[*], local[N], spark://host:port, yarn, k8s://https://host:port or sc://host:port"


@dataclass(frozen=True)
class EngineSettings:
    """The engine a run or command uses, and for Spark where its session runs."""

    name: str = DEFAULT_ENGINE
    master: str = DEFAULT_MASTER
    conf: dict = field(default_factory=dict)


def spark_settings_problem(spark: dict) -> str | None:
    """Return what is wrong in a ``common.spark`` mapping ('master is ...; allowed: ...'), or
    None."""
    unknown = sorted(set(spark) - set(SPARK_KEYS))
    if unknown:
        return f"{unknown[0]} is not a setting; allowed: {', '.join(SPARK_KEYS)}"
    master = spark.get("master", DEFAULT_MASTER)
    if not isinstance(master, str) or not _MASTER.fullmatch(master):
        shown = f"the text {master!r}" if isinstance(master, str) else repr(master)
        return f"master is {shown}; allowed: {MASTER_RULE}"
    conf = spark.get("conf", {})
    if conf is None:
        return None
    if not isinstance(conf, dict):
        return f"conf is {conf!r}; allowed: a mapping {{spark.key: value}}"
    for key, value in conf.items():
        if not isinstance(key, str) or not key.startswith("spark."):
            return f"conf key {key!r} is not a Spark setting; allowed: keys starting with 'spark.'"
        if not isinstance(value, (str, int, float, bool)):
            return f"conf.{key} is {value!r}; allowed: text, a number or true/false"
    return None


def engine_settings(common: dict) -> EngineSettings:
    """Return the settings ``common`` gives (``engine``, ``spark.master``, ``spark.conf``)."""
    spark = common.get("spark") or {}
    return EngineSettings(common.get("engine") or DEFAULT_ENGINE,
                          spark.get("master") or DEFAULT_MASTER, dict(spark.get("conf") or {}))


def engine_for(settings: EngineSettings | str) -> ModuleType:
    """Return the engine module (``pandas_engine`` or ``spark_engine``) the settings name.

    Raises:
        ValueError: an unknown engine name.
    """
    name = settings if isinstance(settings, str) else settings.name
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; allowed: {', '.join(ENGINES)}")
    return importlib.import_module(f"{__name__}.{name}_engine")


def is_spark_frame(frame) -> bool:
    """Return True for a Spark DataFrame (classic or Spark Connect), False for a pandas one.

    Page functions (``run_eda``, ``run_georeferencing``, ...) take either: a Spark run hands
    each step a Spark DataFrame of the loaded purchases. Checked by type name, so a pandas run
    never imports PySpark.
    """
    return any(cls.__module__.startswith("pyspark.") and cls.__name__ == "DataFrame"
               for cls in type(frame).__mro__)
