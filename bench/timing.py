"""A phase timer shared by the bench scripts: prints each phase's seconds as it ends."""

from __future__ import annotations

import time
from contextlib import contextmanager


class PhaseTimer:
    """Collect the seconds of named phases; ``with timer("name"): ...`` times one."""

    def __init__(self, width: int = 34, cpu: bool = False):
        self.width = width
        self.cpu = cpu  # also print the process's CPU seconds (steadier on a busy machine)
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        started, cpu_started = time.perf_counter(), time.process_time()
        yield
        self.seconds[name] = time.perf_counter() - started
        cpu = f"  (cpu {time.process_time() - cpu_started:7.3f} s)" if self.cpu else ""
        print(f"{name:<{self.width}} {self.seconds[name]:7.3f} s{cpu}", flush=True)

    def print_total(self) -> None:
        """Print the sum of every phase."""
        print(f"{'total':<{self.width}} {sum(self.seconds.values()):7.3f} s")
