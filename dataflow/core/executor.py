"""The executor interface: where the engine's chunk tasks run.

The engine hands an executor a module-level function and picklable tasks (see :mod:`dataflow.core.tasks`)
and gets futures back; nothing else crosses the boundary, so the same engine drives a serial loop, a
local process pool or a cluster. Steps that use a resource no worker can build (an instance the user
passed in) or an operator no worker can import run in the driver; others may run anywhere.

Executors are found by name in :data:`EXECUTORS` (import paths, loaded on first use, so the core does
not depend on any executor package); ``register_executor`` adds one.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any


class Executor(ABC):
    name: str = "executor"
    #: Whether steps that use resources (a model) may run in the executor's workers. A local pool keeps
    #: them in the driver, where one model serves every chunk; a cluster places them in actor pools.
    runs_resources: bool = False
    #: Whether the workers are forked from the driver after the run registered its operator objects
    #: (:func:`~dataflow.core.tasks.register_local_operator`): they can then run operators no other
    #: process could rebuild, such as a class defined in the user's script.
    forks_driver: bool = False

    @property
    def workers(self) -> int:
        return 1

    def start(self) -> None:
        """Bring the workers up. The engine calls it before ingest, before any model is loaded."""
        return None

    @abstractmethod
    def submit(self, fn: Callable[[Any], Any], task: Any) -> Future:
        """Run ``fn(task)`` somewhere; ``fn`` is a module-level function and ``task`` picklable."""

    def map(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        """``fn(task)`` for every task, results in task order."""
        futures = [self.submit(fn, t) for t in tasks]
        try:
            for future in futures:
                yield future.result()
        finally:
            for future in futures:
                future.cancel()

    def decide(self, op: Any, tasks: Sequence[Any]) -> tuple[Any, float, float] | None:
        """Run a barrier's two passes (``tasks``: its ``ScanTask`` of every chunk) where the states are,
        and return (decision, scan seconds, decide seconds); None: the engine scans with :meth:`map` and
        decides in the driver (the default)."""
        return None

    def stats(self) -> dict[str, Any]:
        """What the executor reports for run.json (e.g. a cluster's replicas and their model loads)."""
        return {}

    def segment_done(self) -> None:
        """Called after every segment: a pool may let its workers go here (see ``LocalExecutor``)."""
        return None

    def close(self) -> None:
        """Stop the workers (their operators are torn down and their resources closed)."""
        return None

    def __enter__(self) -> Executor:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class SerialExecutor(Executor):
    """Everything in the calling process, one task after another."""

    name = "serial"

    def submit(self, fn: Callable[[Any], Any], task: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(task))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
            future.set_exception(exc)
        return future


EXECUTORS: dict[str, str] = {
    "serial": "dataflow.core.executor:SerialExecutor",
    "local": "dataflow.executors.local:LocalExecutor",
    "spawn": "dataflow.executors.local:SpawnExecutor",
    "ray": "dataflow.executors.ray:RayExecutor",
}


def register_executor(name: str, path: str) -> None:
    """Make ``executor: NAME`` mean the class at ``path`` (``"package.module:Class"``)."""
    EXECUTORS[name] = path


def get_executor(name: str | Executor | None = None, workers: int | None = None, **options: Any) -> Executor:
    if isinstance(name, Executor):
        return name
    path = EXECUTORS.get(name or "local")
    if path is None:
        raise ValueError(f"unknown executor {name!r} (choose one of {', '.join(sorted(EXECUTORS))})")
    module, _, attr = path.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    if cls is SerialExecutor:
        return cls()
    return cls(workers, **options)
