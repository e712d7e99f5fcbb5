"""The sandbox as a pipeline resource: built from a config dict, fingerprinted by what changes results.

A spec configures it under ``sandbox:`` (all keys optional)::

    sandbox: {timeout: 10, memory_mb: 1024, workers: 8, network_isolation: true}

Keys: the fields of :class:`Limits` (``timeout``, ``cpu_seconds``, ``memory_mb``, ``processes``,
``output_bytes``, ``file_size_mb``, ``open_files``), ``workers`` (default: one per core) and the isolation
switches of :class:`Sandbox` (``network_isolation``, ``filesystem_isolation``, ``pid_namespace``).
Operators may set their own per-job limits (``CodeSandboxSampleEvaluator``'s ``timeout``/``memory_mb``);
the config's limits apply to jobs that set none.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from dataflow.sandbox.pool import Limits, Sandbox

_LIMIT_KEYS = tuple(f.name for f in dataclasses.fields(Limits))
_SWITCHES = ("network_isolation", "filesystem_isolation", "pid_namespace")


def _split(config: dict | None) -> tuple[Limits, int | None, dict[str, bool]]:
    config = dict(config or {})
    unknown = sorted(set(config) - set(_LIMIT_KEYS) - set(_SWITCHES) - {"workers"})
    if unknown:
        known = ", ".join((*_LIMIT_KEYS, "workers", *_SWITCHES))
        raise ValueError(f"unknown sandbox setting(s) {', '.join(unknown)}; known: {known}")
    for key in (*_LIMIT_KEYS, "workers"):
        value = config.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            raise ValueError(f"sandbox setting {key} must be a positive number, not {value!r}")
    for key in _SWITCHES:
        if not isinstance(config.get(key, True), bool):
            raise ValueError(f"sandbox setting {key} must be true or false, not {config[key]!r}")
    limits = Limits(**{k: config[k] for k in _LIMIT_KEYS if config.get(k) is not None})
    workers = config.get("workers")
    return limits, int(workers) if workers else None, {k: config.get(k, True) for k in _SWITCHES}


def create_sandbox(config: dict | None = None) -> Sandbox:
    """A :class:`Sandbox` from a config dict (None: the defaults). Its workers start on first use; the
    resource pool closes it at the end of the run."""
    limits, workers, switches = _split(config)
    return Sandbox(limits, workers, **switches)


def sandbox_fingerprint(config: dict | None = None) -> str:
    """What in a sandbox config can change an execution's outcome: every limit (with its default filled
    in) and the isolation switches (code that reads a file or the network passes or not). Not the
    number of workers."""
    limits, _, switches = _split(config)
    numbers = {k: float(v) for k, v in limits.as_dict().items()}  # 10 and 10.0 are the same limit
    text = json.dumps({"limits": numbers, "isolation": switches}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_sandbox_config(config: dict | None = None) -> str | None:
    """A problem with the config (unknown key, bad value), for ``compile()``; None when it is fine."""
    try:
        _split(config)
    except ValueError as exc:
        return str(exc)
    return None
