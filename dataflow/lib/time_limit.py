"""Run a function under a time limit that really stops it: in a forked worker process, killed on overrun.

A Python thread cannot be stopped from outside, so a time limit enforced by joining a thread only stops
*waiting*: a runaway computation (a sympy ``simplify`` that never ends) keeps burning a core. Here the
work runs in a worker process instead, and a call that overruns is answered with ``default`` while the
worker is killed (SIGKILL) and reaped.

Workers are forked from the calling process on first use, so they inherit what it has imported (sympy
included) and start in milliseconds; they serve one call at a time over a pipe and are kept warm for the
next call (at most :data:`MAX_IDLE_WORKERS` idle ones per process; concurrent callers get one each). A
worker closes every descriptor it inherits except stdio and its own pipes. Only the function's reference
and its arguments cross the pipe, so ``fn`` must be a module-level function and its arguments and result
picklable. A worker stops on its own too: every call arms an alarm of
``timeout_s`` + :data:`GRACE_S` inside the worker (the default action of SIGALRM ends the process), so the
work ends even if the caller dies mid-call, and an idle worker exits when its pipe closes because the
caller has gone. A forked child (an executor's worker) does not inherit its parent's workers: it forks its
own.

Where ``fork`` is unavailable, the work runs in a daemon thread joined with the timeout (the result of an
overrun is dropped but the thread runs on).
"""

from __future__ import annotations

import atexit
import os
import pickle
import select
import signal
import struct
import threading
import warnings
from collections.abc import Callable
from typing import Any

#: Idle workers kept per process for the next call.
MAX_IDLE_WORKERS = 2
#: Seconds a worker's own alarm allows beyond the call's timeout before it ends itself.
GRACE_S = 1.0

_HEADER = struct.Struct("<Q")
_CAN_FORK = hasattr(os, "fork") and hasattr(signal, "setitimer") and hasattr(select, "poll")


class _Worker:
    __slots__ = ("pid", "requests", "replies")

    def __init__(self, pid: int, requests: int, replies: int) -> None:
        self.pid, self.requests, self.replies = pid, requests, replies

    def fds(self) -> tuple[int, int]:
        return self.requests, self.replies


class _Pool:
    """The workers of this process: idle ones, and every live one (so a fork can close their pipes)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Worker] = []
        self.live: dict[int, _Worker] = {}


_pool = _Pool()


def _forget_inherited_workers() -> None:
    """In a forked child: the parent's workers belong to the parent; drop (do not kill) them."""
    global _pool
    for worker in list(_pool.live.values()):
        for fd in worker.fds():
            try:
                os.close(fd)
            except OSError:
                pass
    _pool = _Pool()


if _CAN_FORK:
    os.register_at_fork(after_in_child=_forget_inherited_workers)


# ------------------------------------------------------------------------------------------- framing
def _write_message(fd: int, payload: bytes) -> None:
    data = memoryview(_HEADER.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data):]


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts, remaining = [], size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            return None  # the other side is gone
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _read_message(fd: int) -> bytes | None:
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    return _read_exactly(fd, _HEADER.unpack(header)[0])


# ------------------------------------------------------------------------------------------- worker
def _serve(requests: int, replies: int) -> None:
    """The worker's loop: read ``(fn, args, timeout_s)``, reply ``(ok, result)``, until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the alarm ends the process
    while True:
        message = _read_message(requests)
        if message is None:
            return
        try:
            fn, args, timeout_s = pickle.loads(message)
            signal.setitimer(signal.ITIMER_REAL, timeout_s + GRACE_S)
            reply = (True, fn(*args))
        except Exception:
            reply = (False, None)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            payload = pickle.dumps(reply)
        except Exception:
            payload = pickle.dumps((False, None))
        _write_message(replies, payload)


def _spawn() -> _Worker:
    request_read, request_write = os.pipe()
    reply_read, reply_write = os.pipe()
    with warnings.catch_warnings():
        # Python >= 3.12 warns about fork in a multi-threaded process; the child only runs _serve, on
        # its own pipes, and its alarm ends it should it ever block.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        code = 0
        try:
            _close_all_but(request_read, reply_write)
            _serve(request_read, reply_write)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(request_read)
    os.close(reply_write)
    worker = _Worker(pid, request_write, reply_read)
    with _pool.lock:
        _pool.live[pid] = worker
    return worker


def _close_all_but(*keep: int) -> None:
    """In a new worker: close every inherited descriptor except stdio and ``keep``, so that a socket or
    file the caller closes later is really closed (a listening port released, a pipe seeing its end)."""
    try:
        limit = os.sysconf("SC_OPEN_MAX")
    except (OSError, ValueError):
        limit = 65536
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = max(low, fd + 1)
    os.closerange(low, limit)


def _acquire() -> _Worker:
    """An idle worker that is still alive (one killed from outside is reaped here), or a new one."""
    dead = []
    with _pool.lock:
        while _pool.idle:
            worker = _pool.idle.pop()
            if _alive(worker):
                break
            dead.append(worker)
        else:
            worker = None
    for gone in dead:
        _stop(gone)
    return worker or _spawn()


def _alive(worker: _Worker) -> bool:
    try:
        return os.waitpid(worker.pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return False


def _release(worker: _Worker) -> None:
    with _pool.lock:
        if len(_pool.idle) < MAX_IDLE_WORKERS:
            _pool.idle.append(worker)
            return
    _stop(worker)


def _stop(worker: _Worker) -> None:
    """Kill and reap ``worker`` and close its pipes."""
    with _pool.lock:
        _pool.live.pop(worker.pid, None)
    try:
        os.kill(worker.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.waitpid(worker.pid, 0)
    except OSError:
        pass
    for fd in worker.fds():
        try:
            os.close(fd)
        except OSError:
            pass


def shutdown_workers() -> None:
    """Stop every idle worker of this process (the next call forks a fresh one)."""
    with _pool.lock:
        idle, _pool.idle = _pool.idle, []
    for worker in idle:
        _stop(worker)


atexit.register(shutdown_workers)


# ------------------------------------------------------------------------------------------- calls
def call_with_time_limit(fn: Callable[..., Any], args: tuple[Any, ...], timeout_s: float,
                         default: Any = None) -> Any:
    """``fn(*args)`` run in a worker process, or ``default`` when it raises or overruns ``timeout_s``.

    An overrunning worker is killed before this returns, so no work outlives the call.
    """
    if timeout_s <= 0:
        return default
    if not _CAN_FORK:
        return _call_in_thread(fn, args, timeout_s, default)
    try:
        request = pickle.dumps((fn, args, timeout_s))
    except Exception:
        return default
    try:
        worker = _acquire()
    except OSError:  # no process can be forked now (a process limit): fall back to a thread
        return _call_in_thread(fn, args, timeout_s, default)
    try:
        _write_message(worker.requests, request)
        poller = select.poll()
        poller.register(worker.replies, select.POLLIN)
        message = _read_message(worker.replies) if poller.poll(timeout_s * 1000) else None
    except OSError:
        message = None
    if message is None:  # overran or died
        _stop(worker)
        return default
    _release(worker)
    ok, value = pickle.loads(message)
    return value if ok else default


def _call_in_thread(fn: Callable[..., Any], args: tuple[Any, ...], timeout_s: float, default: Any) -> Any:
    box: list[Any] = []

    def target() -> None:
        try:
            box.append(fn(*args))
        except Exception:
            pass

    thread = threading.Thread(target=target, name="time-limited-call", daemon=True)
    thread.start()
    thread.join(timeout_s)
    return box[0] if box and not thread.is_alive() else default
