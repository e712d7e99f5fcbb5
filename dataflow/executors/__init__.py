"""Executors run the engine's chunk tasks: locally now, on a cluster later, with the same results."""

from __future__ import annotations

from dataflow.executors.base import Executor, SerialExecutor


def get_executor(name: str | Executor | None = None, workers: int | None = None) -> Executor:
    if isinstance(name, Executor):
        return name
    if name in (None, "local"):
        from dataflow.executors.local import LocalExecutor

        return LocalExecutor(workers)
    if name == "serial":
        return SerialExecutor()
    raise ValueError(f"unknown executor '{name}' (choose local or serial)")


__all__ = ["Executor", "SerialExecutor", "get_executor"]
