"""The executor interface: how the engine's chunk tasks are spread over workers.

The engine hands an executor a module-level task function, a list of items and a context object (the
engine itself). Local execution forks worker processes that inherit the context; a Ray executor ships the
context once to its object store. Results come back in item order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any


class Executor(ABC):
    name: str = "executor"

    @abstractmethod
    def map(self, task: Callable[[Any, Any], Any], items: Sequence[Any], context: Any, *,
            in_process: bool = False) -> Iterator[Any]:
        """Run ``task(context, item)`` for every item and yield the results in item order.

        ``in_process=True`` asks to run in the calling process (steps that hold a loaded model).
        """


class SerialExecutor(Executor):
    """Everything in the calling process, one item after another."""

    name = "serial"

    def map(self, task, items, context, *, in_process=False):
        for item in items:
            yield task(context, item)
