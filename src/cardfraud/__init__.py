"""cardfraud: credit-card fraud analysis for the bank's fraud area.

The notebooks in ``notebooks/`` tell the story; this package does the work, one module per
stage. ``cardfraud.simulate(rows=..., seed=...)`` returns simulated transactions.
"""

__all__ = ["simulate"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """Import ``simulate`` on first use: ``python -m cardfraud score --help`` loads no pandas."""
    if name == "simulate":
        from .simulator.simulate import simulate

        return simulate
    raise AttributeError(f"module 'cardfraud' has no attribute {name!r}")
