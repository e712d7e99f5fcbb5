"""Executors that run chunk tasks in other processes: a local process pool now, a cluster later.

The interface, the serial executor and the lookup by name live in :mod:`dataflow.core.executor`.
"""

from __future__ import annotations

from dataflow.core.executor import Executor, SerialExecutor, get_executor, register_executor

__all__ = ["Executor", "SerialExecutor", "get_executor", "register_executor"]
