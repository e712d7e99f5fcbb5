"""Steps, segments and ``compile()``: every check that can be made before any row is processed."""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataflow.core.bindings import Bindings, Column
from dataflow.core.errors import Problem
from dataflow.core.operator import Operator
from dataflow.core.resources import resource_fingerprint, resource_kind


@dataclass
class Step:
    """One operator call in a pipeline: the operator, its resolved bindings, and its place."""

    index: int  # 1-based
    op: Operator
    bindings: Bindings
    explicit: frozenset[str] = frozenset()  # bindings the user named (an explicit overwrite is intended)
    fingerprint: str = ""

    @property
    def name(self) -> str:
        return self.op.op_name()

    @property
    def is_barrier(self) -> bool:
        return self.op.granularity == "dataset"

    @property
    def label(self) -> str:
        return f"step {self.index} ({self.name})"


@dataclass
class Segment:
    """A run of steps that stream chunk by chunk; a dataset-level step (a barrier) can only open one."""

    index: int
    steps: list[Step]

    @property
    def barrier(self) -> Step | None:
        return self.steps[0] if self.steps and self.steps[0].is_barrier else None


@dataclass
class CompiledPlan:
    steps: list[Step]
    segments: list[Segment]
    input_columns: list[str]
    required: dict[str, Column]  # input columns the steps read, with the strictest declaration
    problems: list[Problem] = field(default_factory=list)
    input_fingerprint: str = ""

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "warning"]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]


def split_segments(steps: list[Step]) -> list[Segment]:
    segments: list[Segment] = []
    current: list[Step] = []
    for step in steps:
        if step.is_barrier and current:
            segments.append(Segment(len(segments), current))
            current = []
        current.append(step)
    if current:
        segments.append(Segment(len(segments), current))
    return segments


def check_steps(steps: list[Step], input_columns: list[str] | None, *,
                resource_problems: dict[str, str] | None = None, in_input: Any = None
                ) -> tuple[list[Problem], dict[str, Column]]:
    """Column wiring, overwrites, resources and optional dependencies; returns problems and the input
    columns the pipeline reads (with their declarations, for validating every input row).

    ``resource_problems``: what is wrong with the pipeline's configuration of each resource kind."""
    problems: list[Problem] = []
    required: dict[str, Column] = {}
    available: dict[str, str] = {c: "the input" for c in (input_columns or [])}
    for step in steps:
        op, where = step.op, dict(step=step.index, op=step.name)
        reads = op.input_columns(step.bindings)
        for column, decl in reads.items():
            if column in available:
                if available[column] == "the input":
                    required[column] = _stricter(required.get(column), decl)
                continue
            if input_columns is None:  # input unknown or empty: assume the column comes from it
                required.setdefault(column, decl)
                available[column] = "the input"
                continue
            if in_input is not None and in_input(column):  # beyond the sampled records
                available[column] = "the input"
                required[column] = _stricter(required.get(column), decl)
                continue
            binding = next((b for b, v in step.bindings.items() if v == column), None)
            near = difflib.get_close_matches(column, list(available), n=3, cutoff=0.6)
            produced = ", ".join(f"'{c}'" for c in available) or "none"
            hint = f" Did you mean {' or '.join(repr(c) for c in near)}?" if near else ""
            what = f"{binding}='{column}'" if binding else f"column '{column}'"
            earlier = f"steps 1-{step.index - 1}" if step.index > 2 else ("step 1" if step.index == 2 else "")
            source = f"the input or an output of {earlier}" if earlier else "the input"
            problems.append(Problem(f"{what}: column '{column}' is not produced by {source}.{hint} "
                                    f"Available: {produced}.", **where))
        for column in op.output_columns(step.bindings):
            in_place = op.kind == "refine" and column == step.bindings.get("input_key")
            explicit = any(step.bindings.get(b) == column for b in step.explicit)
            if column in available and not (in_place or explicit):
                problems.append(Problem(f"overwrites existing column '{column}' (from {available[column]}); "
                                        "bind the output explicitly to say this is intended", level="warning",
                                        **where))
            available[column] = step.label
        for kind in op.resources:
            problem = (resource_problems or {}).get(kind)
            if not problem:
                continue
            param = resource_kind(kind).param
            if not (param and getattr(op, param, None) is not None):
                problems.append(Problem(f"needs {resource_kind(kind).label or kind}, but {problem}", **where))
        for module, pip_name in op.requires.items():
            if importlib.util.find_spec(module) is None:
                problems.append(Problem(f"needs the optional dependency '{module}': pip install {pip_name}",
                                        **where))
    return problems, required


def _stricter(a: Column | None, b: Column) -> Column:
    """The declaration that validates more: not nullable if either is not, the more specific type."""
    if a is None:
        return b
    dtype = a.dtype if b.dtype == "any" else b.dtype if a.dtype == "any" else a.dtype
    return Column(a.default, "input", dtype, a.nullable and b.nullable, a.description or b.description)


def fingerprint_steps(steps: list[Step], input_fingerprint: str, resources: dict[str, str] | None = None
                      ) -> None:
    """Give each step a fingerprint of its operator, params, bindings, the resources it uses and
    everything upstream of it. ``resources``: the fingerprint of the pipeline's resource of each kind
    (an operator's own instance counts instead where it has one)."""
    upstream = input_fingerprint
    for step in steps:
        op = step.op
        serving = ""
        for kind in sorted(op.resources, key=lambda k: k != "llm"):  # "llm|embedder", as it always was
            param = resource_kind(kind).param
            own = getattr(op, param, None) if param else None
            fp = resource_fingerprint(kind, own) if own is not None else (resources or {}).get(kind, "")
            serving += ("" if kind == "llm" else "|") + fp
        # A template named in the params can be edited on disk (a user prompts_dir): its text counts.
        templates = op.fingerprint_extras()
        payload = {
            "templates": templates,
            "op": f"{type(op).__module__}.{type(op).__qualname__}",
            "version": op.version,
            "params": op.params,
            "bindings": dict(step.bindings),
            "serving": serving,
            "upstream": upstream,
        }
        step.fingerprint = digest(payload)
        upstream = step.fingerprint


def digest(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, default=_stable, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _stable(value: Any) -> Any:
    """A JSON stand-in for values json cannot encode, identical across processes (a plain repr of a set
    or a function varies with hash seeds and memory addresses, so the cache would never hit)."""
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, tuple):
        return list(value)
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    if hasattr(value, "fingerprint") and callable(value.fingerprint):
        return value.fingerprint()
    text = repr(value)
    if " at 0x" in text:
        return f"{type(value).__module__}.{type(value).__qualname__}"
    return text


def input_fingerprint(path: str | Path, options: dict[str, Any]) -> str:
    if "://" in str(path):  # a remote input: its listing (dataflow.core.storage)
        from dataflow.core.storage import remote_stat

        return digest({"path": str(path), "stat": remote_stat(str(path)), **options})
    p = Path(path)
    if p.is_dir():
        files = sorted(q for q in p.rglob("*") if q.is_file())
        stat = [(str(q.relative_to(p)), q.stat().st_size, q.stat().st_mtime_ns) for q in files]
    else:
        st = p.stat()
        stat = [(p.name, st.st_size, st.st_mtime_ns)]
    return digest({"path": str(p.resolve()), "stat": stat, **options})
