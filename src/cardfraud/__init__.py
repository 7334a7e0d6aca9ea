"""cardfraud: credit-card fraud analysis for the bank's fraud area.

The notebooks in ``notebooks/`` tell the story; this package does the work, one module per
stage. ``cardfraud.simulate(rows=..., seed=...)`` returns simulated transactions.
"""

import sys

__all__ = ["simulate"]
__version__ = "0.1.0"

# nbformat validates notebooks with jsonschema, which imports rfc3987-syntax (when installed,
# as Jupyter's dependencies do) only to check "iri" string formats no notebook schema uses;
# that import builds a grammar for about 2 s of CPU in every run_all. Marked absent, it is
# skipped (jsonschema then leaves "iri" formats unchecked).
sys.modules.setdefault("rfc3987_syntax", None)


def __getattr__(name: str):
    """Import ``simulate`` on first use: ``python -m cardfraud score --help`` loads no pandas."""
    if name == "simulate":
        from .simulator.simulate import simulate

        return simulate
    raise AttributeError(f"module 'cardfraud' has no attribute {name!r}")
