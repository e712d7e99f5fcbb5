"""Prompt templates: Jinja2 files per domain, overridable from the user's own directories.

A template named ``reasoning/answer`` is the file ``reasoning/answer.jinja`` in the first directory that
has it: user directories (``add_user_dir()``, the ``prompts_dir`` of a spec, or ``DATAFLOW_PROMPTS_DIR``,
``os.pathsep``-separated) before the packaged ``dataflow/prompts``. The columns a template reads are the
variables it uses, found by parsing it, so ``compile()`` can check them before any LLM call.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

PACKAGED_DIR = Path(__file__).resolve().parent.parent / "prompts"
_user_dirs: list[Path] = []


def add_user_dir(path: str | Path) -> None:
    path = Path(path)
    if path not in _user_dirs:
        _user_dirs.insert(0, path)


def search_path() -> list[Path]:
    env = [Path(p) for p in os.environ.get("DATAFLOW_PROMPTS_DIR", "").split(os.pathsep) if p]
    return [*_user_dirs, *env, PACKAGED_DIR]


class PromptTemplate:
    """A Jinja2 template with the set of variables (columns) it reads."""

    def __init__(self, source: str, name: str = "<string>", path: Path | None = None) -> None:
        self.source = source
        self.name = name
        self.path = path

    @classmethod
    def from_string(cls, source: str) -> PromptTemplate:
        return cls(source)

    @cached_property
    def _env(self):
        import jinja2

        return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False,
                                  autoescape=False)

    @cached_property
    def _compiled(self):
        return self._env.from_string(self.source)

    @cached_property
    def variables(self) -> frozenset[str]:
        from jinja2 import meta

        return frozenset(meta.find_undeclared_variables(self._env.parse(self.source)))

    def columns(self, provided: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Variables not supplied by the operator itself: they must be columns of the row."""
        return sorted(self.variables - set(provided))

    def render(self, **values: Any) -> str:
        return self._compiled.render(**values).strip()

    def __repr__(self) -> str:
        return f"PromptTemplate({self.name!r}, reads={sorted(self.variables)})"


def get_template(name: str) -> PromptTemplate:
    rel = name if name.endswith(".jinja") else f"{name}.jinja"
    for base in search_path():
        path = base / rel
        if path.is_file():
            return PromptTemplate(path.read_text(encoding="utf-8"), name=name, path=path)
    raise KeyError(f"no prompt template '{name}' in {', '.join(str(p) for p in search_path())}")


def list_templates() -> list[str]:
    names: set[str] = set()
    for base in search_path():
        if base.is_dir():
            names.update(str(p.relative_to(base).with_suffix("")) for p in base.rglob("*.jinja"))
    return sorted(names)


def resolve_template(template: str) -> PromptTemplate:
    """A registered name (``domain/name``) or the template text itself."""
    if "{{" in template or "{%" in template:
        return PromptTemplate.from_string(template)
    return get_template(template)
