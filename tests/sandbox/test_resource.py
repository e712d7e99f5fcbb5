"""The sandbox as the "sandbox" resource kind: built from a config, fingerprinted by what changes outcomes,
checked at compile time, and closed by the resource pool that built it."""

from __future__ import annotations

import pytest

from dataflow.core.resources import ResourcePool, ResourceSpec, resource_kind
from dataflow.sandbox import Limits, Sandbox, check_sandbox_config, create_sandbox, sandbox_fingerprint


def test_create_sandbox_applies_the_config():
    box = create_sandbox({"timeout": 3, "memory_mb": 256, "workers": 2, "network_isolation": False})
    assert box.limits == Limits(timeout=3, memory_mb=256) and box.size == 2
    assert box._want == {"network": False, "filesystem": True, "pid_namespace": True}
    assert create_sandbox(None).limits == Limits()
    assert box.worker_pids == []  # nothing starts before first use


def test_fingerprint_follows_the_limits_and_isolation_not_the_workers():
    base = sandbox_fingerprint({"timeout": 3})
    assert sandbox_fingerprint({"timeout": 3, "workers": 7}) == base
    assert sandbox_fingerprint({"timeout": 3, "cpu_seconds": 3}) == base  # the default, spelled out
    assert sandbox_fingerprint({"timeout": 4}) != base
    assert sandbox_fingerprint({"timeout": 3, "filesystem_isolation": False}) != base
    assert sandbox_fingerprint(None) == sandbox_fingerprint({"timeout": 10}) != base


def test_the_config_check_names_the_problem():
    assert check_sandbox_config({"timeout": 2, "pid_namespace": False}) is None
    assert "unknown sandbox setting(s) timout" in check_sandbox_config({"timout": 2})
    assert "memory_mb must be a positive number" in check_sandbox_config({"memory_mb": "1G"})
    assert "network_isolation must be true or false" in check_sandbox_config({"network_isolation": "no"})
    with pytest.raises(ValueError, match="workers must be a positive number"):
        create_sandbox({"workers": 0})


def test_the_pool_builds_one_sandbox_and_closes_it():
    assert resource_kind("sandbox").param == "sandbox"
    pool = ResourcePool({"sandbox": ResourceSpec.of("sandbox", {"workers": 1, "timeout": 5})})
    box = pool.get("sandbox")
    assert isinstance(box, Sandbox) and pool.get("sandbox") is box
    assert box.run("x = 1", ["assert x == 1"]).status == "pass"
    (worker,) = box._all
    pool.close()
    assert box.worker_pids == [] and worker.proc.poll() is not None


def test_the_pool_leaves_a_sandbox_it_was_given_open():
    with Sandbox(workers=1) as box:
        pool = ResourcePool({"sandbox": ResourceSpec.of("sandbox", box)})
        assert pool.get("sandbox") is box
        box.start()
        pool.close()
        assert len(box.worker_pids) == 1 and box.run("pass").status == "pass"
