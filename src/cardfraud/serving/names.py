"""The registry's names: the model, its aliases and tags (no MLflow import, cheap to load)."""

DEFAULT_MODEL_NAME = "card-fraud-detector"
CHAMPION = "champion"  # the alias of the live version
CHALLENGER = "challenger"  # the alias of the newest registered version
DEFAULT_MODEL_URI = f"models:/{DEFAULT_MODEL_NAME}@{CHAMPION}"
CHAMPION_SINCE_TAG = "champion_since"  # version tag: when it became champion (UTC, ISO)
MODEL_INPUTS_TAG = "model_inputs"  # version tag: the inputs the model was fitted on, comma-separated
FEATURE_SET_TAG = "feature_set"  # run and version tag: base, or base+history (modeling.feature_sets)
