"""A shared sandbox for the sandbox tests, and a check that a job left no process behind."""

from __future__ import annotations

import os

import pytest

from dataflow.sandbox import Limits, Sandbox


@pytest.fixture(scope="module")
def box():
    with Sandbox(Limits(timeout=5, memory_mb=512, processes=32), workers=2) as sandbox:
        yield sandbox


def descendants(root: int) -> set[int]:
    """Every live process below ``root`` (zombies included: a zombie is something not yet cleaned up)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    # pid (comm) state ppid ...; comm may hold spaces, so split after the last ')'.
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def processes_with(marker: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


@pytest.fixture
def leaves_nothing(box):
    """After the test, no process below this one is new but the sandbox's idle workers, and the workers'
    job directories are gone. (Processes other tests left, such as a warm math worker, were there
    before.)"""
    before = descendants(os.getpid())
    yield
    assert descendants(os.getpid()) - before <= set(box.worker_pids)
    assert os.listdir(box.base_dir) == []
