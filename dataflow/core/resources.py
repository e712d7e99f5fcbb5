"""Shared resources that operators use (an LLM serving, an embedder, a code sandbox, SQL databases, a
passage retriever).

An operator names the kinds it uses (``resources = ("llm",)``); the pipeline says how each kind is
configured (``serving:`` / ``embedder:`` / ``sandbox:`` in a spec, or an instance passed in Python). One
table here describes every kind, and one code path builds, fingerprints, checks and closes them all:

* :class:`ResourceKind` — a kind: the factory that builds an instance from a config dict, the function
  that fingerprints a config (what changes the outputs), an optional config check run by ``compile()``,
  and the constructor param through which an operator may carry its own instance.
* :class:`ResourceSpec` — one configured resource as it travels in a chunk task: the kind and its config
  (small and picklable). An instance the user built himself cannot travel: its spec carries only a
  handle, and steps that use it run in the process that holds it.
* :class:`ResourcePool` — the instances of one process, built on first use and kept across chunks (a
  model is loaded once per worker), closed together at the end.

Factories are named by import path (``"package.module:function"``) and imported only when an instance
is built, so ``dataflow.core`` does not depend on the serving layer, and a new domain registers its own
kind with :func:`register_resource_kind`.
"""

from __future__ import annotations

import importlib
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ResourceKind:
    name: str
    factory: str  # "module:function", config dict (or None) -> instance
    fingerprint: str  # "module:function", config dict (or None) -> str
    check: str | None = None  # "module:function", config -> problem text or None (compile time)
    param: str | None = None  # constructor param through which an operator carries its own instance
    label: str = ""  # how messages name it: "needs an LLM, but ..."
    path_keys: tuple[str, ...] = ()  # config keys holding paths: a spec's relative ones are read from its folder
    cache_key: str | None = None  # a config key that, left unset, gets a folder in the pipeline's cache


_KINDS: dict[str, ResourceKind] = {}


def register_resource_kind(kind: ResourceKind) -> ResourceKind:
    _KINDS[kind.name] = kind
    return kind


def resource_kind(name: str) -> ResourceKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise KeyError(f"unknown resource kind {name!r}; known: {', '.join(sorted(_KINDS))}") from None


def resource_kinds() -> dict[str, ResourceKind]:
    return dict(_KINDS)


def runtime_params() -> tuple[str, ...]:
    """Constructor params that carry resource instances rather than configuration."""
    return tuple(k.param for k in _KINDS.values() if k.param)


register_resource_kind(ResourceKind(
    "llm", factory="dataflow.serving.factory:create_serving",
    fingerprint="dataflow.serving.factory:serving_fingerprint", check="dataflow.serving.factory:check_config",
    param="llm_serving", label="an LLM"))
register_resource_kind(ResourceKind(
    "embedder", factory="dataflow.serving.embeddings:create_embedder",
    fingerprint="dataflow.serving.embeddings:embedder_fingerprint", param="embedder", label="an embedder"))
register_resource_kind(ResourceKind(
    "sandbox", factory="dataflow.sandbox:create_sandbox", fingerprint="dataflow.sandbox:sandbox_fingerprint",
    check="dataflow.sandbox:check_sandbox_config", param="sandbox", label="a sandbox"))
register_resource_kind(ResourceKind(
    "sql_database", factory="dataflow.lib.sql.resource:create_database",
    fingerprint="dataflow.lib.sql.resource:database_fingerprint",
    check="dataflow.lib.sql.resource:check_database_config", label="SQL databases", path_keys=("db_root",)))
register_resource_kind(ResourceKind(
    "retriever", factory="dataflow.lib.retrieval.resource:create_retriever",
    fingerprint="dataflow.lib.retrieval.resource:retriever_fingerprint",
    check="dataflow.lib.retrieval.resource:check_retriever_config", param="retriever", label="a retriever",
    path_keys=("corpus", "index_dir"), cache_key="index_dir"))


def _load(path: str) -> Callable[..., Any]:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def resource_fingerprint(kind: str, value: Any) -> str:
    """The fingerprint of a config dict (None: the kind's default) or of a ready instance."""
    if value is None or isinstance(value, dict):
        return str(_load(resource_kind(kind).fingerprint)(dict(value) if value else None))
    fp = getattr(value, "fingerprint", None)
    return str(fp()) if callable(fp) else f"{type(value).__module__}.{type(value).__qualname__}"


#: Instances built in this process, by kind (a cluster executor reports it: one model load per replica).
BUILDS: dict[str, int] = {}

# Instances the user passed in, by handle: they live in the process that created the pipeline.
_LOCAL_INSTANCES: dict[int, Any] = {}
_handles = itertools.count(1)


@dataclass(frozen=True)
class ResourceSpec:
    """One configured resource, small enough to travel in every chunk task."""

    kind: str
    config: dict[str, Any] | None = None
    handle: int | None = None  # a user-built instance, reachable only in the process that holds it
    fingerprint: str = ""

    @classmethod
    def of(cls, kind: str, value: Any) -> ResourceSpec:
        """A spec from a config dict (or None: the kind's default) or from a ready instance."""
        fp = resource_fingerprint(kind, value)
        if value is None or isinstance(value, dict):
            return cls(kind, dict(value) if value else None, None, fp)
        handle = next(_handles)
        _LOCAL_INSTANCES[handle] = value
        return cls(kind, None, handle, fp)

    @property
    def key(self) -> tuple:
        """Identity of the instance this spec builds (the whole config, not only what the outputs see)."""
        return (self.kind, self.handle, json.dumps(self.config, sort_keys=True, default=str))

    @property
    def portable(self) -> bool:
        """Whether another process can build this resource (from its config)."""
        return self.handle is None

    def build(self) -> Any:
        if self.handle is not None:
            try:
                return _LOCAL_INSTANCES[self.handle]
            except KeyError:
                raise RuntimeError(f"the {self.kind} instance passed to the pipeline lives in another "
                                   "process; steps using it must run where it was created") from None
        return _load(resource_kind(self.kind).factory)(self.config)

    def check(self) -> str | None:
        """A problem with this configuration that can be seen without building it, or None."""
        check = resource_kind(self.kind).check
        if self.handle is not None or check is None:
            return None
        return _load(check)(self.config)

    def release(self) -> None:
        """Forget a user-built instance (the user closes it; the pipeline only borrowed it)."""
        if self.handle is not None:
            _LOCAL_INSTANCES.pop(self.handle, None)


@dataclass
class ResourcePool:
    """The resource instances of one process: built on first use, reused across chunks, closed at the end.

    Only instances the pool built are closed; a user-built instance is borrowed."""

    specs: dict[str, ResourceSpec] = field(default_factory=dict)
    borrowed: dict[str, Any] = field(default_factory=dict)  # ready instances by kind (eager runs)
    _made: dict[tuple, tuple[ResourceSpec, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, kind: str) -> Any:
        if kind in self.borrowed:
            return self.borrowed[kind]
        spec = self.specs.get(kind)
        if spec is None:
            spec = self.specs[kind] = ResourceSpec.of(kind, None)
        key = spec.key
        with self._lock:
            if key not in self._made:
                self._made[key] = (spec, spec.build())
                if spec.portable:
                    BUILDS[spec.kind] = BUILDS.get(spec.kind, 0) + 1
            return self._made[key][1]

    def close(self) -> None:
        with self._lock:
            made, self._made = self._made, {}
        for spec, instance in made.values():
            close = getattr(instance, "close", None)
            if spec.portable and callable(close):
                close()
