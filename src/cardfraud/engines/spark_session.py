"""Start (or reuse) the Spark session the Spark engine works in.

PySpark is optional (``pip install -e '.[spark]'``) and needs Java 17; without either, the
engine stops with one line saying what to install. The workers start ``sys.executable`` (the
project's venv, where cardfraud, scikit-learn and MLflow are), not the system python.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import warnings
from contextlib import contextmanager

from . import DEFAULT_MASTER, EngineSettings

APP_NAME = "cardfraud"


class SparkUnavailable(RuntimeError):
    """PySpark or Java is missing; the message says what to install."""


def check_spark_installed() -> None:
    """Raise SparkUnavailable when pyspark cannot be imported or no Java is found."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailable("--engine spark needs PySpark: pip install -e '.[spark]' "
                               "(or pip install 'pyspark>=4.0')") from None
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))) and \
            shutil.which("java") is None:
        raise SparkUnavailable("--engine spark needs Java 17: apt-get install "
                               "openjdk-17-jre-headless (or set JAVA_HOME)")


# the JVM's ways of saying it ran out of memory, and what each reason calls for
OUT_OF_MEMORY = re.compile(
    r"(java\.lang\.OutOfMemoryError|SparkOutOfMemoryError|OutOfDirectMemoryError"
    r"|arrow\.memory\.OutOfMemoryException)(?::\s*([^\r\n]+))?")
DIRECT_MEMORY = re.compile(r"direct (buffer )?memory|OutOfDirectMemory|arrow\.memory", re.IGNORECASE)


def out_of_memory_advice(error_text: str) -> str | None:
    """Return what to do when ``error_text`` (a Py4J error's whole text, Java trace included,
    or the JVM's own log) says the JVM ran out of memory, else None.

    A Spark job that fails for want of memory reports only the call that failed (``An error
    occurred while calling o5063.collectToPython``); the reason sits deep in the Java trace.
    Memory outside the heap (Arrow and shuffle buffers) calls for a larger
    ``-XX:MaxDirectMemorySize``; anything else for a larger heap.
    """
    found = OUT_OF_MEMORY.search(error_text or "")
    if found is None:
        return None
    reason = (found.group(2) or found.group(1)).strip()
    if DIRECT_MEMORY.search(found.group(0)):
        setting = ("{spark.driver.extraJavaOptions: '-XX:MaxDirectMemorySize=4g'}' (local "
                   f"sessions get {LOCAL_DIRECT_MEMORY})")
    else:
        setting = ("{spark.driver.memory: 8g}' (on local[*] the driver runs the executors too; "
                   "on a cluster, spark.executor.memory)")
    return (f"Spark ran out of memory ({reason}): give it more with --set "
            f"'common.spark.conf={setting}, keeping your other common.spark.conf keys in the "
            "map, or run on a cluster (README, \"Running on Spark\")")


LOCAL_DIRECT_MEMORY = "2g"  # the JVM's memory outside its heap (Arrow and shuffle buffers)


def local_defaults(master: str) -> dict:
    """Settings for a session on this machine (``local[...]``): four shuffle partitions per
    core (at least 8) rather than a cluster's 200, no web UI, and the JVM's memory outside
    its heap capped at :data:`LOCAL_DIRECT_MEMORY` (by default Java allows as much as the
    heap, so a JVM with an 8 GB heap grew to 17.6 GB at 10M purchases); on a cluster, none
    (the cluster's own apply).

    ``common.spark.conf`` overrides any of them.
    """
    if not master.startswith("local"):
        return {}
    found = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\d+)?\])?", master)
    threads = found.group(1) if found else None
    if threads is None:
        cores = 1
    else:
        cores = (os.cpu_count() or 1) if threads == "*" else int(threads)
    partitions = str(max(8, 4 * cores))
    return {"spark.sql.shuffle.partitions": partitions, "spark.default.parallelism": partitions,
            "spark.ui.enabled": "false",
            "spark.driver.extraJavaOptions": f"-XX:MaxDirectMemorySize={LOCAL_DIRECT_MEMORY}"}


# where a run's local JVM writes its stderr (Spark's log, Java's own traces) instead of the
# terminal: run_all sets it to the run's folder (runs/<run id>/spark.log)
JVM_LOG_VARIABLE = "CARDFRAUD_SPARK_LOG"


@contextmanager
def stderr_into(path: str | None):
    """Give a process started in this block ``path`` (appended to) as its stderr; this
    process's own stderr comes back after. No ``path``, or one that cannot be opened: nothing
    changes."""
    try:
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        log = open(path, "ab") if path else None  # noqa: SIM115 (closed below, once dup'ed)
    except OSError:
        log = None
    if log is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with log:
            os.dup2(log.fileno(), 2)
        yield
    finally:
        try:
            os.dup2(saved, 2)
        finally:
            os.close(saved)


def spark_session(settings: EngineSettings | None = None, app_name: str = APP_NAME):
    """Return the active Spark session, or build one from ``settings`` (master, conf).

    ``sc://host:port`` connects to a Spark Connect server (``pip install 'pyspark[connect]'``).
    """
    settings = settings or EngineSettings("spark")
    # PySpark 4 warns on every UDF that pandas 3 is newer than it was tested with; the engine's
    # tests check what it does with pandas 3, so the user is not told at every score
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                            category=FutureWarning)
    check_spark_installed()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    master = settings.master or DEFAULT_MASTER
    builder = builder.remote(master) if master.startswith("sc://") else builder.master(master)
    # times without a zone (pandas') are read and written as they are, whatever the machine's
    # zone; a CSV line is judged whole (too many fields) whichever columns a query reads
    conf = {"spark.sql.session.timeZone": "UTC", "spark.ui.showConsoleProgress": "false",
            "spark.sql.csv.parser.columnPruning.enabled": "false",
            **local_defaults(master), **settings.conf}
    for key, value in conf.items():
        builder = builder.config(key, str(value).lower() if isinstance(value, bool) else str(value))
    # a JVM started here (not a Spark Connect server's) logs into the run's spark.log
    log = None if master.startswith("sc://") else os.environ.get(JVM_LOG_VARIABLE)
    with stderr_into(log):
        return builder.getOrCreate()
