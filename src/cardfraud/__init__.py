"""cardfraud: credit-card fraud analysis for the bank's fraud area.

The notebooks in ``notebooks/`` tell the story; this package does the work, one module per
stage. ``cardfraud.simulate(rows=..., seed=...)`` returns simulated transactions.
"""

__version__ = "0.1.0"


def simulate(*args, **kwargs):
    """Return simulated transactions (see :func:`cardfraud.simulate.simulate`)."""
    from .simulate import simulate as _simulate

    return _simulate(*args, **kwargs)
