"""Tests for dataflow.lib.time_limit: work that overruns is stopped, not merely abandoned."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest

from dataflow.lib import time_limit
from dataflow.lib.time_limit import GRACE_S, call_with_time_limit
from tests.lib.helpers import busy_children, psutil


def _spin() -> None:
    while True:
        pass


def _pid() -> int:
    return os.getpid()


def _fail() -> None:
    raise ValueError("boom")


def test_result_comes_back_and_the_worker_is_reused():
    first = call_with_time_limit(_pid, (), 5.0)
    assert first != os.getpid()
    assert call_with_time_limit(_pid, (), 5.0) == first
    assert call_with_time_limit(divmod, (7, 2), 5.0) == (3, 1)


def test_an_exception_gives_the_default():
    assert call_with_time_limit(_fail, (), 5.0, default="no") == "no"
    assert call_with_time_limit(divmod, (7, 2), 5.0) == (3, 1)  # the worker still serves


def test_overrun_is_stopped_within_the_limit_and_nothing_keeps_running():
    me = psutil.Process()
    threads = me.num_threads()
    start = time.monotonic()
    assert call_with_time_limit(_spin, (), 0.5, default="timeout") == "timeout"
    assert time.monotonic() - start < 0.5 + 1.0
    assert busy_children(me) == []
    assert me.num_threads() == threads
    assert call_with_time_limit(divmod, (7, 2), 5.0) == (3, 1)  # a fresh worker replaces the killed one


def test_an_idle_worker_killed_from_outside_is_replaced():
    worker = call_with_time_limit(_pid, (), 5.0)
    os.kill(worker, signal.SIGKILL)
    time.sleep(0.1)
    replacement = call_with_time_limit(_pid, (), 5.0)
    assert replacement not in (worker, os.getpid())


def test_a_worker_holds_no_descriptor_of_its_caller():
    time_limit.shutdown_workers()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        worker = psutil.Process(call_with_time_limit(_pid, (), 5.0))
        assert worker.num_fds() <= 5  # stdio and its two pipes
        assert worker.net_connections() == []


def test_zero_budget_runs_nothing():
    assert call_with_time_limit(_spin, (), 0.0, default=None) is None


def test_a_forked_child_does_not_use_its_parents_worker():
    parent_worker = call_with_time_limit(_pid, (), 5.0)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.close(read)
            os.write(write, str(call_with_time_limit(_pid, (), 5.0)).encode())
        finally:
            os._exit(0)
    os.close(write)
    child_worker = int(os.read(read, 32) or 0)
    os.close(read)
    os.waitpid(pid, 0)
    assert child_worker not in (0, parent_worker, pid)
    assert call_with_time_limit(_pid, (), 5.0) == parent_worker


def test_worker_stops_itself_when_its_caller_is_killed_mid_call():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.close(read)
            worker = time_limit._acquire()
            os.write(write, str(worker.pid).encode())
            time_limit._release(worker)
            call_with_time_limit(_spin, (), 1.0)
        finally:
            os._exit(0)
    os.close(write)
    worker_pid = int(os.read(read, 32))
    os.close(read)
    time.sleep(0.3)
    os.kill(pid, signal.SIGKILL)  # the caller dies; nobody is left to kill the spinning worker
    os.waitpid(pid, 0)
    deadline = time.monotonic() + 1.0 + GRACE_S + 1.0
    while time.monotonic() < deadline:
        try:
            if psutil.Process(worker_pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    else:
        os.kill(worker_pid, signal.SIGKILL)
        pytest.fail("the orphaned worker kept running past its own alarm")
