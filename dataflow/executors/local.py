"""Local parallel execution on forked worker processes (one per core by default)."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from dataflow.executors.base import Executor, SerialExecutor

# Set just before forking; children inherit it, so the plan is never pickled.
_CONTEXT: Any = None
_TASK: Callable[[Any, Any], Any] | None = None


def _die_with_parent() -> None:
    """Workers must not outlive a killed run: they would keep writing into the cache."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def _call(item: Any) -> Any:
    assert _TASK is not None
    return _TASK(_CONTEXT, item)


class LocalExecutor(Executor):
    """Forks ``workers`` processes per map; runs in-process when there is a single item or worker."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    def map(self, task, items: Sequence[Any], context, *, in_process=False) -> Iterator[Any]:
        global _CONTEXT, _TASK
        items = list(items)
        n = min(self.workers, len(items))
        if in_process or n <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            yield from SerialExecutor().map(task, items, context)
            return
        _CONTEXT, _TASK = context, task
        try:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(n, initializer=_die_with_parent) as pool:
                yield from pool.imap(_call, items, chunksize=1)
        finally:
            _CONTEXT, _TASK = None, None
