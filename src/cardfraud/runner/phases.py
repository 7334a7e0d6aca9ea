"""Named phases of a step: the benchmarks time the same calls the notebooks make.

Each step function (``run_eda``, ``run_modeling``, ...) wraps its sections in
``with phase("name"):``; a notebook passes nothing (:func:`no_phase`), the bench scripts pass
their timer, so what they time is exactly what the page runs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

Phase = Callable[[str], AbstractContextManager]


def no_phase(name: str) -> AbstractContextManager:
    """Return a context that does nothing: a section run untimed."""
    return nullcontext()
