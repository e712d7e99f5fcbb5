"""Sandbox: run untrusted Python (generated code, its tests, agent-written operators) and say how it went.

Usage::

    from dataflow.sandbox import Sandbox, Limits, Job

    with Sandbox(Limits(timeout=5, memory_mb=512)) as box:       # a pool of warm workers, one per core
        ex = box.run(code, tests=["assert add(1, 2) == 3"])      # MBPP: assert lines, first failure logged
        ex = box.run(code, tests=check_src, entry_point="add")   # HumanEval: calls check(add) after check_src
        ex = box.run(code, cases=[("1 2\\n", "3\\n")])           # stdin -> expected stdout, one run per case
        ex = box.run(code, stdin="...")                           # a plain program
        exs = box.run_many([Job(code, tests), ...])               # in parallel on every worker, in order
        box.isolation().table()                                   # the layers active on this host

As a pipeline resource (kind ``"sandbox"``, ``sandbox:`` in a spec): :func:`create_sandbox` builds one from a
config dict, :func:`sandbox_fingerprint` says which settings change results (see ``resource.py``).

``Execution``: ``status`` (``pass`` / ``fail`` / ``timeout`` / ``error`` / ``memory``), ``stdout``,
``stderr`` (each capped at ``Limits.output_bytes``; ``truncated`` says when more was written), ``log`` (the
first failing assertion, the exception with its traceback, or why the process was killed), ``seconds``,
``exit_code``. Code runs first, then ``setup`` (MBPP's ``test_setup_code``), then the tests, in one
namespace. ``fail`` means a test's assertion failed; an exception anywhere is ``error``; ``MemoryError`` is
``memory``; a wall-clock or CPU limit is ``timeout``; exiting before the tests end is ``error``.
``Sandbox`` starts its workers on first use and must be closed (``with`` or ``close()``); it is thread-safe.

Each job is a fresh process forked from a warm worker, so it costs a fork rather than an interpreter
start-up. Isolation, probed once per worker and reported by ``isolation()`` (module-level: probe the host
once) layer by layer, each active or not and why:

- wall-clock (SIGKILL) and CPU (RLIMIT_CPU) limits, memory (RLIMIT_AS), output size, file size;
- a process-count limit (a pids cgroup when root, else RLIMIT_NPROC);
- every process killed at the end: each job is PID 1 of its own PID namespace, so its exit tears down
  everything it started, double-forked daemons included (fallback: its session plus a child subreaper);
- no network: an empty network namespace (a user namespace first when not root), and Landlock's TCP rules;
- a throwaway working directory, an emptied environment (no API keys) and, with Landlock, no filesystem
  access outside that directory except reading the interpreter and system libraries; Landlock's scopes
  keep signals and abstract unix sockets inside the job.

Limits of the design: the tests run in the same interpreter as the code, so code determined to forge a
result (inspecting the harness's frames) could; the harness classifies honest code, the isolation contains
hostile code. Standard library only (ctypes for unshare/prctl/Landlock): no external tool is needed, so it
works the same on a bare CI machine as here.
"""

from dataflow.sandbox.pool import (
    STATUSES,
    Execution,
    Isolation,
    Job,
    Limits,
    Sandbox,
    SandboxError,
    isolation,
)
from dataflow.sandbox.resource import check_sandbox_config, create_sandbox, sandbox_fingerprint

__all__ = ["STATUSES", "Execution", "Isolation", "Job", "Limits", "Sandbox", "SandboxError", "check_sandbox_config",
           "create_sandbox", "isolation", "sandbox_fingerprint"]
