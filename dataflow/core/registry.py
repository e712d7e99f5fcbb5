"""The operator registry: decorator registration, lazy loading, machine-readable metadata.

Operators register with ``@register_operator``. Nothing under ``dataflow.operators`` is imported until the
registry is first asked for something it does not already hold; then every module of that package (and
every ``dataflow.operators`` entry point of installed plugins) is imported once.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import pkgutil
import threading
from typing import Any

from dataflow.core.operator import DatasetOperator, Operator

_ENTRY_POINT_GROUP = "dataflow.operators"
# Packages whose every module is imported to collect operators: the built-in ones (named, not imported,
# here: the core does not depend on the operators) and any a plugin adds with ``add_operator_package``.
OPERATOR_PACKAGES = ["dataflow.operators"]


def add_operator_package(name: str) -> None:
    if name not in OPERATOR_PACKAGES:
        OPERATOR_PACKAGES.append(name)
        OPERATORS._loaded = False


class OperatorRegistry:
    def __init__(self) -> None:
        self._ops: dict[str, type[Operator]] = {}
        self._loaded = False
        self._lock = threading.RLock()
        self.load_errors: dict[str, str] = {}

    def register(self, cls: type[Operator], *, name: str | None = None, domain: str | None = None
                 ) -> type[Operator]:
        if not (inspect.isclass(cls) and issubclass(cls, Operator)):
            raise TypeError(f"{cls!r} is not an Operator subclass")
        name = name or cls.__name__
        existing = self._ops.get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"operator name '{name}' is taken by {existing.__module__}.{existing.__qualname__}")
        cls._registered_name = name
        cls._domain = domain or _domain_of(cls)
        self._ops[name] = cls
        return cls

    # ------------------------------------------------------------------ loading
    def load_all(self) -> None:
        """Import every operator module once (thread-safe)."""
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            for package in OPERATOR_PACKAGES:
                pkg = importlib.import_module(package)
                for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
                    try:
                        importlib.import_module(info.name)
                    except Exception as exc:  # one broken plugin module must not hide all operators
                        self.load_errors[info.name] = f"{type(exc).__name__}: {exc}"
            try:
                from importlib.metadata import entry_points

                for ep in entry_points(group=_ENTRY_POINT_GROUP):
                    try:
                        ep.load()
                    except Exception as exc:
                        self.load_errors[ep.value] = f"{type(exc).__name__}: {exc}"
            except Exception as exc:
                self.load_errors["entry points"] = str(exc)

    def get(self, name: str) -> type[Operator]:
        cls = self._ops.get(name)
        if cls is None:
            self.load_all()
            cls = self._ops.get(name)
        if cls is None:
            near = difflib.get_close_matches(name, list(self._ops), n=3)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise KeyError(f"unknown operator '{name}'{hint}")
        return cls

    def __contains__(self, name: str) -> bool:
        try:
            self.get(name)
            return True
        except KeyError:
            return False

    def names(self) -> list[str]:
        self.load_all()
        return sorted(self._ops)

    def all(self) -> dict[str, type[Operator]]:
        self.load_all()
        return dict(sorted(self._ops.items()))

    # ----------------------------------------------------------------- metadata
    def metadata(self, name_or_cls: str | type[Operator]) -> dict[str, Any]:
        cls = self.get(name_or_cls) if isinstance(name_or_cls, str) else name_or_cls
        return operator_metadata(cls)


def operator_metadata(cls: type[Operator]) -> dict[str, Any]:
    """The machine-readable description of an operator class (what ``dataflow ops list --json`` prints)."""
    doc = inspect.getdoc(cls) or ""
    summary = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    kind = cls.kind
    if issubclass(cls, DatasetOperator) and kind not in ("dedup", "evaluate"):
        kind = "dedup"
    return {
        "name": cls.op_name(),
        "domain": getattr(cls, "_domain", _domain_of(cls)),
        "kind": kind,
        "granularity": cls.granularity,
        "summary": summary,
        "description": doc,
        "params": cls.params_schema(),
        "run_args": {name: col.describe() for name, col in cls.binding_specs().items()},
        "resources": list(cls.resources),
        "needs_llm": cls.uses("llm"),
        "requires": [
            {"import": mod, "pip": pip, "installed": importlib.util.find_spec(mod) is not None}
            for mod, pip in cls.requires.items()
        ],
        "module": cls.__module__,
        "version": cls.version,
    }


def _domain_of(cls: type) -> str:
    parts = cls.__module__.split(".")
    if parts[:2] == ["dataflow", "operators"] and len(parts) > 2:
        return parts[2]
    return "custom"


OPERATORS = OperatorRegistry()


def register_operator(cls: type[Operator] | None = None, *, name: str | None = None,
                      domain: str | None = None) -> Any:
    """Class decorator: ``@register_operator`` or ``@register_operator(name=..., domain=...)``."""
    if cls is None:
        return lambda c: OPERATORS.register(c, name=name, domain=domain)
    return OPERATORS.register(cls, name=name, domain=domain)
