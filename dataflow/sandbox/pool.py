"""The parent side of the sandbox: limits, jobs, results and the pool of warm workers.

Each worker is a ``python -I _worker.py`` process started with an empty environment; it confines itself once
and then forks a fresh process per job (see ``_worker.py``), so a job pays a fork, not an interpreter start.
One job runs per worker at a time; ``run_many`` keeps every worker busy from a thread per worker.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

WORKER_SCRIPT = str(Path(__file__).with_name("_worker.py"))
STATUSES = ("pass", "fail", "timeout", "error", "memory")


@dataclass(frozen=True)
class Limits:
    """Per-execution limits. ``cpu_seconds`` defaults to ``timeout``; ``output_bytes`` caps stdout and
    stderr each (the rest is read and discarded, ``Execution.truncated`` says so)."""

    timeout: float = 10.0
    cpu_seconds: float | None = None
    memory_mb: int = 1024
    processes: int = 64
    output_bytes: int = 1 << 20
    file_size_mb: int = 64
    open_files: int = 256

    def as_dict(self) -> dict:
        d = asdict(self)
        d["cpu_seconds"] = self.cpu_seconds if self.cpu_seconds is not None else self.timeout
        return d


@dataclass
class Job:
    """One execution: ``code``, then ``setup``, then ``tests`` in the same namespace.

    ``tests``: a list of statements run one by one (MBPP ``assert`` lines; the first failing one is named in
    the log) or one block of code (HumanEval's ``check``; with ``entry_point``, ``check(<entry_point>)`` is
    called after it). ``cases``: (stdin, expected stdout) pairs; the program runs once per case and passes
    when every output matches up to trailing whitespace. ``stdin`` feeds a plain run.
    """

    code: str
    tests: Sequence[str] | str | None = None
    setup: str = ""
    entry_point: str | None = None
    stdin: str = ""
    cases: Sequence[tuple[str, str]] | None = None
    limits: Limits | None = None


@dataclass
class Execution:
    """The outcome: ``status`` is one of ``pass``/``fail``/``timeout``/``error``/``memory``; ``log`` names the
    first failing assertion or the exception; ``seconds`` is wall time from fork to the last process's end."""

    status: str
    stdout: str = ""
    stderr: str = ""
    log: str = ""
    seconds: float = 0.0
    exit_code: int | None = None
    truncated: bool = False
    stdout_bytes: int = 0

    @property
    def passed(self) -> bool:
        return self.status == "pass"


@dataclass
class Isolation:
    """Which isolation layers are active on this host, each with the reason: ``layers[name] = {"active":
    bool, "detail": str}``. A layer the host lacks is listed as inactive, never claimed."""

    layers: dict[str, dict] = field(default_factory=dict)

    def active(self, name: str) -> bool:
        return bool(self.layers.get(name, {}).get("active"))

    @property
    def network(self) -> bool:
        """No network: an empty network namespace or Landlock's TCP rules."""
        return self.active("network_namespace") or self.active("landlock_network")

    @property
    def filesystem(self) -> bool:
        """No reading or writing outside the job directory (besides the interpreter and system libraries)."""
        return self.active("filesystem")

    def table(self) -> str:
        return "\n".join(f"{name:20} {'on ' if v['active'] else 'OFF'}  {v['detail']}"
                         for name, v in sorted(self.layers.items()))


class SandboxError(RuntimeError):
    """The sandbox itself failed (a worker could not start or died), as opposed to the code it ran."""


class _WorkerProcess:
    def __init__(self, base: str, isolation: dict):
        config = {"base": base, "isolation": isolation}
        self.proc = subprocess.Popen(
            [sys.executable, "-I", WORKER_SCRIPT, json.dumps(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={}, cwd="/", close_fds=True, start_new_session=True,
        )
        self.layers: dict = {}

    def handshake(self) -> _WorkerProcess:
        self.layers = self._read()["layers"]
        return self

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SandboxError(f"sandbox worker exited (code {self.proc.poll()})")
        return json.loads(line)

    def execute(self, payload: dict) -> dict:
        self.proc.stdin.write(json.dumps(payload).encode() + b"\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            self.proc.stdout.close()


def _classify(reply: dict, limits: Limits) -> Execution:
    if "internal_error" in reply:
        raise SandboxError(reply["internal_error"])
    result = reply.get("result") or {}
    code = reply["exit_code"]
    ex = Execution(status="error", stdout=reply["stdout"], stderr=reply["stderr"], seconds=reply["seconds"],
                   exit_code=code, truncated=reply["truncated"], stdout_bytes=reply["stdout_bytes"])
    import signal

    cpu_signals = (-signal.SIGXCPU, -signal.SIGKILL)
    if reply["timed_out"]:
        ex.status, ex.log = "timeout", f"wall-clock limit of {limits.timeout:g} s reached; killed"
    elif result and code == 0:
        ex.status, ex.log = result["status"], result["log"]
    elif code in cpu_signals and reply["seconds"] >= min(limits.as_dict()["cpu_seconds"], limits.timeout) * 0.5:
        ex.status, ex.log = "timeout", f"CPU-time limit reached (killed by signal {-code})"
    elif "MemoryError" in reply["stderr"][-2000:]:
        ex.status, ex.log = "memory", "MemoryError"
    else:
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        tail = reply["stderr"][-2000:]
        ex.log = f"the process ended before its tests finished ({how})" + (f"\n{tail}" if tail else "")
    if ex.truncated:
        ex.log += (f"\noutput truncated: {reply['stdout_bytes']} bytes on stdout, "
                   f"{limits.output_bytes} kept per stream")
    return ex


def _same_output(got: str, expected: str) -> bool:
    def norm(text: str) -> list[str]:
        return [line.rstrip() for line in text.rstrip().splitlines()]

    return norm(got) == norm(expected)


class Sandbox:
    """A pool of warm sandbox workers; see the package docstring for the API."""

    def __init__(self, limits: Limits | None = None, workers: int | None = None, *,
                 network_isolation: bool = True, filesystem_isolation: bool = True, pid_namespace: bool = True):
        self.limits = limits or Limits()
        self.size = workers or len(os.sched_getaffinity(0))
        # Switching a layer off is for hosts or tests that need it (e.g. exercising the fallbacks).
        self._want = {"network": network_isolation, "filesystem": filesystem_isolation,
                      "pid_namespace": pid_namespace}
        self._lock = threading.Lock()
        self._idle: queue.SimpleQueue[_WorkerProcess] = queue.SimpleQueue()
        self._all: list[_WorkerProcess] = []
        self._base: str | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._next_id = 0

    # ---------------------------------------------------------------------------------------- lifecycle

    def start(self) -> Sandbox:
        with self._lock:
            if self._all:
                return self
            self._base = tempfile.mkdtemp(prefix="dataflow-sandbox-")
            self._owner = os.getpid()
            # Started from this thread and not a pool's: a worker dies with the thread that started it
            # (PR_SET_PDEATHSIG). All start at once, then each hello is read.
            started = [_WorkerProcess(self._base, self._want) for _ in range(self.size)]
            self._all = [w.handshake() for w in started]
            for w in started:
                self._idle.put(w)
            self._executor = ThreadPoolExecutor(self.size, thread_name_prefix="sandbox")
        return self

    def close(self) -> None:
        if self._all and getattr(self, "_owner", None) != os.getpid():
            return  # a forked copy: the workers and their folder belong to the process that started them
        with self._lock:
            if self._executor:
                self._executor.shutdown(wait=True)
                self._executor = None
            for w in self._all:
                w.close()
            self._all = []
            self._idle = queue.SimpleQueue()
            if self._base:
                shutil.rmtree(self._base, ignore_errors=True)
                self._base = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    @property
    def base_dir(self) -> str | None:
        """The folder under which each job gets its throwaway directory (removed on close)."""
        return self._base

    @property
    def worker_pids(self) -> list[int]:
        """The worker processes' pids (each job runs in a process forked from one of them)."""
        return [w.proc.pid for w in self._all]

    def isolation(self) -> Isolation:
        self.start()
        return Isolation(dict(self._all[0].layers))

    # ------------------------------------------------------------------------------------------- running

    def run(self, code: str, tests: Sequence[str] | str | None = None, *, setup: str = "",
            entry_point: str | None = None, stdin: str = "", cases: Sequence[tuple[str, str]] | None = None,
            limits: Limits | None = None) -> Execution:
        job = Job(code, tests, setup=setup, entry_point=entry_point, stdin=stdin, cases=cases, limits=limits)
        return self.run_many([job])[0]

    def run_many(self, jobs: Iterable[Job | dict]) -> list[Execution]:
        """Run jobs in parallel on every worker; results come back in the order of ``jobs``."""
        self.start()
        jobs = [j if isinstance(j, Job) else Job(**j) for j in jobs]
        # A job with stdin/stdout cases is one execution per case; they run in parallel too.
        units: list[tuple[int, Job]] = []
        for index, job in enumerate(jobs):
            if job.cases:
                units += [(index, replace(job, stdin=stdin, cases=None)) for stdin, _ in job.cases]
            else:
                units.append((index, job))
        executions = list(self._executor.map(self._execute, [u for _, u in units]))
        grouped: list[list[Execution]] = [[] for _ in jobs]
        for (index, _), ex in zip(units, executions):
            grouped[index].append(ex)
        return [self._combine(job, runs) if job.cases else runs[0] for job, runs in zip(jobs, grouped)]

    def _execute(self, job: Job) -> Execution:
        limits = job.limits or self.limits
        with self._lock:
            self._next_id += 1
            job_id = self._next_id
        payload = {"id": job_id, "code": job.code, "setup": job.setup, "entry_point": job.entry_point,
                   "stdin": job.stdin, "limits": limits.as_dict(),
                   "tests": list(job.tests) if isinstance(job.tests, (list, tuple)) else job.tests}
        worker = self._idle.get()
        try:
            try:
                reply = worker.execute(payload)
            except (OSError, SandboxError, ValueError):
                # The worker died (killed from outside: jobs cannot reach it): replace it, run the job again.
                worker = self._replace(worker)
                reply = worker.execute(payload)
        finally:
            self._idle.put(worker)
        return _classify(reply, limits)

    def _replace(self, broken: _WorkerProcess) -> _WorkerProcess:
        broken.close()
        fresh = _WorkerProcess(self._base, self._want).handshake()
        with self._lock:
            self._all = [w for w in self._all if w is not broken] + [fresh]
        return fresh

    @staticmethod
    def _combine(job: Job, runs: list[Execution]) -> Execution:
        seconds = sum(r.seconds for r in runs)
        for i, (run, (_, expected)) in enumerate(zip(runs, job.cases), 1):
            if run.status != "pass":
                return replace(run, log=f"case {i}: {run.log}", seconds=seconds)
            if not _same_output(run.stdout, expected):
                got, want = run.stdout.strip()[:300], expected.strip()[:300]
                return replace(run, status="fail", seconds=seconds,
                               log=f"case {i}: expected stdout {want!r}, got {got!r}")
        return replace(runs[-1], seconds=seconds)


_PROBED: Isolation | None = None


def isolation() -> Isolation:
    """Probe the host once (a single worker started and stopped) and report the isolation layers."""
    global _PROBED
    if _PROBED is None:
        with Sandbox(workers=1) as box:
            _PROBED = box.isolation()
    return _PROBED
