"""Operators for the dry-run tests, importable by ``module:Class`` from a spec."""

import time

from dataflow.core.operator import Refiner


class SleepyRefiner(Refiner):
    """Sleeps ``seconds`` per text (a runaway step for the time-limit tests)."""

    def __init__(self, seconds: float = 60.0) -> None:
        super().__init__()
        self.seconds = seconds

    def refine_text(self, text: str) -> str:
        time.sleep(self.seconds)
        return text
