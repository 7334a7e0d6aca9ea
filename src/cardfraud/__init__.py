"""cardfraud: credit-card fraud analysis for the bank's fraud area.

The notebooks in ``notebooks/`` tell the story; this package does the work, one module per
stage. ``cardfraud.simulate(rows=..., seed=...)`` returns simulated transactions.
"""

from .simulator.simulate import simulate

__all__ = ["simulate"]
__version__ = "0.1.0"
