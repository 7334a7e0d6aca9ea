"""Where versions registered before the package took one subpackage per stage find their scorer.

Their pickled pyfunc names the class ``cardfraud.scoring.FraudScorer``; without this module
such a champion cannot be loaded (``No module named 'cardfraud.scoring'``), so the registry
step could not compare with it and ``score`` and ``drift --champion`` could not use it. The
class lives in :mod:`cardfraud.serving.scorer`; nothing else should import from here.
"""

from .serving.scorer import FraudScorer  # noqa: F401  (the name old pickles look up)
