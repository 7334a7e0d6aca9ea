"""The artifact contract: every file one step hands to another, named once.

Each :class:`Artifact` names a file under ``<output dir>/artifacts/``, the step that writes it
and the steps that read it. ``readers`` cannot run without it, and only on a file made from
the transactions now in the output dir (the data fingerprint the writer's results record);
``optional_readers`` use it when it is there. ``run_all --only STEP`` refuses a step whose
``readers`` entry is missing or stale (:mod:`cardfraud.runner.step_inputs`), the summary and
the site find their files and pages here, and publishing carries the ``kept_between_runs``
ones from run to run.

Adding a hand-over file is one line below; adding a step's link on the summary page is one
line in :data:`PAGE_LINKS`. Only file names live here: paths are built by
:mod:`cardfraud.runner.artifacts` from the output dir of the run.
"""

from __future__ import annotations

from dataclasses import dataclass

ARTIFACTS_FOLDER = "artifacts"
RESULTS_FOLDER = "results"
FIGURES_FOLDER = "figures"
LOAD_STEP = "load"
REGISTRY_STEP = "registry"  # decides a promotion: holds the promotion lock until publish
SUMMARY_STEP = "summary"  # reports on every other step; its page is the site's home page
HOME_PAGE = "index.html"
SUMMARY_PDF = "summary.pdf"  # the home page as an A4 PDF for the board, beside it in the site
# the key of every step's results naming the data they were made from (see save_step_results)
DATA_FINGERPRINT = "data_fingerprint"


@dataclass(frozen=True)
class Artifact:
    """A file under ``artifacts/``: who writes it and who reads it."""

    file: str
    writer: str
    readers: tuple[str, ...] = ()
    optional_readers: tuple[str, ...] = ()
    kept_between_runs: bool = False


def results_file(step: str) -> str:
    """Return ``results/<step>.json``: a step's headline results, merged into run.json."""
    return f"{RESULTS_FOLDER}/{step}.json"


def figure_file(name: str) -> str:
    """Return ``figures/<name>.png``: a figure, also embedded in its executed notebook."""
    return f"{FIGURES_FOLDER}/{name}.png"


def page_file(step: str) -> str:
    """Return the site page of a step: ``<step>.html``; the summary's is the home page."""
    return HOME_PAGE if step == SUMMARY_STEP else f"{step}.html"


_SUMMARY = ("summary",)
# --- the contract: one line per file ------------------------------------------------------
TRANSACTIONS = Artifact("transactions.parquet", "load", ("eda", "georeferencing", "channel_simulation", "modeling", "registry", "monitoring"), _SUMMARY)
DATA_PROFILE = Artifact("data_profile.json", "load")
LOAD_RESULTS = Artifact(results_file("load"), "load", ("registry",), _SUMMARY)
EDA_RESULTS = Artifact(results_file("eda"), "eda", optional_readers=_SUMMARY)
GEO_RESULTS = Artifact(results_file("georeferencing"), "georeferencing", optional_readers=_SUMMARY)
HOT_SPOTS_GEOJSON = Artifact("geo/hot_spots.geojson", "georeferencing", optional_readers=_SUMMARY)
HOT_SPOTS_CSV = Artifact("geo/hot_spots.csv", "georeferencing", optional_readers=_SUMMARY)
SUSPECTED_POINTS_GEOJSON = Artifact("geo/suspected_points.geojson", "georeferencing", optional_readers=_SUMMARY)
SUSPECTED_POINTS_CSV = Artifact("geo/suspected_points.csv", "georeferencing", optional_readers=_SUMMARY)
CARDS_AT_RISK = Artifact("geo/cards_at_risk.csv", "georeferencing", optional_readers=_SUMMARY)
CHANNEL_RESULTS = Artifact(results_file("channel_simulation"), "channel_simulation", optional_readers=_SUMMARY)
MODEL_COMPARISON = Artifact("model_comparison.csv", "modeling")
SPLIT = Artifact("split.parquet", "modeling", ("monitoring",))
CARD_HISTORY = Artifact("history_features.parquet", "modeling", optional_readers=("registry", "monitoring"))
TEST_PREDICTIONS = Artifact("test_predictions.parquet", "modeling", ("registry",), _SUMMARY)
MODELING_RESULTS = Artifact(results_file("modeling"), "modeling", ("registry",), _SUMMARY)
REGISTRY_RESULTS = Artifact(results_file("registry"), "registry", optional_readers=("monitoring", "summary"))
MONITORING_RESULTS = Artifact(results_file("monitoring"), "monitoring", optional_readers=_SUMMARY)
MONITORING_LOG = Artifact("monitoring_log.csv", "monitoring", optional_readers=("monitoring",), kept_between_runs=True)
SUMMARY_RESULTS = Artifact(results_file("summary"), "summary")
# ------------------------------------------------------------------------------------------

# A Spark run hands on no per-row split (modeling.json's split_rule says which purchases are
# test ones) and no history features (readers recompute them on Spark).
NOT_IN_SPARK_RUNS = (SPLIT.file, CARD_HISTORY.file)

ARTIFACTS: tuple[Artifact, ...] = tuple(v for v in list(globals().values())
                                        if isinstance(v, Artifact))

# The link text of each step's page on the summary (home) page, in step order; a step not
# listed is linked by its name.
PAGE_LINKS = {
    "load": "the data and its quality",
    "eda": "where fraud concentrates",
    "georeferencing": "where fraud happens on the map",
    "channel_simulation": "purchases through the channels",
    "modeling": "how the models were compared",
    "registry": "the model in production",
    "monitoring": "is today's data like the training data",
}


def needed_by(step: str) -> list[Artifact]:
    """Return the artifacts ``step`` cannot run without."""
    return [a for a in ARTIFACTS if step in a.readers]


def written_by(step: str) -> list[Artifact]:
    """Return the artifacts ``step`` writes."""
    return [a for a in ARTIFACTS if a.writer == step]


def kept_between_runs() -> tuple[str, ...]:
    """Return the files that outlive a run (carried into the next run's staging dir)."""
    return tuple(a.file for a in ARTIFACTS if a.kept_between_runs)


def page_link(step: str) -> str:
    """Return the link text of a step's page on the summary page."""
    return PAGE_LINKS.get(step, step.replace("_", " "))
