"""Helpers shared by the library tests."""

from __future__ import annotations

import time

import pytest

psutil = pytest.importorskip("psutil")


def busy_children(process: psutil.Process, window_s: float = 0.5) -> list[int]:
    """Children of ``process`` that used more than a fifth of a core over ``window_s``."""
    children = process.children(recursive=True)
    before = {}
    for child in children:
        try:
            before[child.pid] = sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    time.sleep(window_s)
    busy = []
    for child in children:
        try:
            if child.status() != psutil.STATUS_ZOMBIE and sum(child.cpu_times()[:2]) - before.get(
                    child.pid, 0.0) > 0.2 * window_s:
                busy.append(child.pid)
        except psutil.NoSuchProcess:
            pass
    return busy
