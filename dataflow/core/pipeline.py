"""Pipelines, in two equal front-ends that run through the same engine.

PyTorch style: operators are attributes, ``forward()`` calls them in order with their bindings::

    class CleanPipeline(Pipeline):
        def __init__(self):
            super().__init__(input="data.jsonl", output="clean.jsonl")
            self.length = WordNumberFilter(min_words=20)
            self.dedup = MinHashDeduplicateFilter(threshold=0.8)

        def forward(self):
            self.length.run(self.storage, input_key="text")
            self.dedup.run(self.storage, input_key="text")

    CleanPipeline().run()

Spec style (YAML or JSON, see :class:`PipelineSpec`): ``Pipeline.from_spec("pipeline.yaml").run()``.
``forward()`` is only traced: each ``op.run(self.storage, ...)`` records a step; ``compile()`` checks the
recorded steps and the engine executes them.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dataflow.core.errors import CompileError, ParamsError, Problem
from dataflow.core.executor import get_executor
from dataflow.core.operator import Operator
from dataflow.core.plan import CompiledPlan, check_steps, fingerprint_steps, input_fingerprint, split_segments
from dataflow.core.resources import ResourceSpec, resource_fingerprint, resource_kinds
from dataflow.core.storage import is_url, path_part, remote_stat, stage_input, staged_output, upload_output
from dataflow.core.tracer import StepTracer

logger = logging.getLogger("dataflow")
DEFAULT_CHUNK_SIZE = 10_000
# Chunks also close at this much input, so memory stays bounded for long documents: a worker holds a few
# copies of its chunk's text while it runs (text, its statistics, a refiner's output).
DEFAULT_CHUNK_BYTES = 4 << 20


class Pipeline:
    """Base class of pipelines. Subclass and implement :meth:`forward`, or use :meth:`from_spec`."""

    def __init__(self, input: str | Path | None = None, output: str | Path | None = None, *,
                 cache_dir: str | Path | None = None, serving: Any = None, embedder: Any = None,
                 sandbox: Any = None, resources: dict[str, Any] | None = None,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                 workers: int | None = None,
                 on_bad_input: str = "error", executor: Any = None, executor_options: dict[str, Any] | None = None,
                 name: str | None = None) -> None:
        self.input = input
        self.output = output
        self.name = name or type(self).__name__
        self.cache_dir = cache_dir
        self.serving = serving
        self.embedder = embedder
        self.sandbox = sandbox
        self.resources = dict(resources or {})
        self.chunk_size = chunk_size
        self.chunk_bytes = chunk_bytes
        self.workers = workers
        self.on_bad_input = on_bad_input
        self.executor = executor  # a name ("local", "spawn", "serial", "ray") or an Executor
        self.executor_options = dict(executor_options or {})  # e.g. {"address": "auto"} for ray
        self.storage: Any = StepTracer()

    def forward(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    # ------------------------------------------------------------------ spec front-end
    @classmethod
    def from_spec(cls, spec: str | Path | dict[str, Any]) -> SpecPipeline:
        return SpecPipeline.load(spec)

    # ------------------------------------------------------------------ tracing and compile
    def trace(self) -> StepTracer:
        tracer = StepTracer()
        saved, self.storage = self.storage, tracer
        try:
            self.forward()
        finally:
            self.storage = saved
        return tracer

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "input": str(self.input) if self.input else None,
                "output": str(self.output) if self.output else None, "chunk_size": self.chunk_size,
                "chunk_bytes": self.chunk_bytes,
                "on_bad_input": self.on_bad_input, "serving": self._serving_config()}

    def _serving_config(self) -> dict[str, Any]:
        if self.serving is None or isinstance(self.serving, dict):
            return dict(self.serving or {"backend": "embedded"})
        return {"instance": type(self.serving).__name__}

    def resource_settings(self) -> dict[str, Any]:
        """The pipeline's setting of each resource kind: a config dict, an instance, or None (default).

        ``serving``, ``embedder`` and ``sandbox`` name the common kinds; ``resources`` sets any registered
        kind by name (a domain's database, say)."""
        named = {"llm": self.serving, "embedder": self.embedder, "sandbox": self.sandbox}
        return {**self.resources, **{kind: value for kind, value in named.items() if value is not None}}

    def compile(self, *, input: str | Path | None = None) -> CompiledPlan:
        """Check everything that can be checked before running; raise :class:`CompileError` on errors.

        Checks: the input exists and is readable; every ``input_*`` column exists in the input or is
        produced by an earlier step; params validate; steps needing an LLM have a serving; optional
        dependencies import. Overwriting a column without binding it explicitly is a warning.
        """
        tracer = self.trace()
        problems = list(tracer.problems)
        steps = tracer.steps
        src = input or self.input
        input_columns: list[str] | None = None
        remote = is_url(src)
        if src is None:
            problems.append(Problem("no input given"))
        elif remote:  # run() reads a local copy; here only its existence and format are checked
            try:
                found = remote_stat(str(src)) is not None
            except (ValueError, OSError) as exc:
                problems.append(Problem(f"cannot read input {src}: {exc}"))
            else:
                if not found:
                    problems.append(Problem(f"input not found: {src}"))
        elif not Path(src).exists():
            problems.append(Problem(f"input not found: {src}"))
        else:
            from dataflow.core.fileio import detect_format, peek_columns

            try:
                detect_format(src)
                input_columns, seen = peek_columns(src)
                if seen == 0:  # an empty input: nothing to check against, and nothing to process
                    input_columns = None
            except (ValueError, OSError) as exc:
                problems.append(Problem(f"cannot read input {src}: {exc}"))
        if self.output is not None:
            from dataflow.core.fileio import detect_format

            try:
                detect_format(path_part(self.output))
            except ValueError as exc:
                problems.append(Problem(str(exc)))
        if self.on_bad_input not in ("error", "skip"):
            problems.append(Problem(f"on_bad_input must be 'error' or 'skip', not {self.on_bad_input!r}"))
        settings = self.resource_settings()
        known = resource_kinds()
        for kind in sorted(set(settings) - set(known)):
            problems.append(Problem(f"resources: unknown resource kind {kind!r} (known: {', '.join(sorted(known))})"))
        for step in steps:
            for kind in sorted(set(step.op.resources) - set(known)):
                problems.append(Problem(f"uses the unknown resource kind {kind!r} (known: {', '.join(sorted(known))})",
                                        step=step.index, op=step.name))
        used = sorted({kind for s in steps for kind in s.op.resources if kind in known})
        resource_problems = {}
        for kind in used:
            if isinstance(settings.get(kind), (dict, type(None))):
                try:
                    problem = ResourceSpec(kind, settings.get(kind)).check()
                except ImportError as exc:
                    problem = f"its support cannot be imported ({exc})"
                if problem:
                    resource_problems[kind] = problem
        broken = any(p.level == "error" and p.step is not None for p in problems)
        if remote:
            try:
                from dataflow.core.fileio import detect_format

                detect_format(path_part(src))
            except ValueError as exc:
                problems.append(Problem(str(exc)))

        def in_input(column: str) -> bool:
            """Whether any record has ``column``: the full scan, only where the sample did not show it."""
            from dataflow.core.fileio import iter_records

            return any(r.record is not None and column in r.record for r in iter_records(src))

        wiring, required = check_steps(steps, None if broken else input_columns, resource_problems=resource_problems,
                                       in_input=in_input if input_columns is not None and not remote else None)
        problems += wiring
        plan = CompiledPlan(steps, split_segments(steps), input_columns or [], required, problems)
        if plan.errors:
            raise CompileError(problems)
        for warning in plan.warnings:
            logger.warning("step %s (%s): %s", warning.step, warning.op, warning.message)
        plan.input_fingerprint = input_fingerprint(str(src) if remote else src, {
            "chunk_size": self.chunk_size, "chunk_bytes": self.chunk_bytes, "on_bad_input": self.on_bad_input,
            "required": {k: v.describe() for k, v in required.items()}})
        fingerprint_steps(steps, plan.input_fingerprint,
                          {kind: resource_fingerprint(kind, settings.get(kind)) for kind in used})
        return plan

    # ------------------------------------------------------------------ running
    def default_cache_dir(self) -> Path:
        return Path(".dataflow") / self.name

    def run(self, *, resume: bool = False, fresh: bool = False, input: str | Path | None = None,
            output: str | Path | None = None, progress: bool | None = None, print_summary: bool = False
            ) -> dict[str, Any]:
        """Compile, then run. Returns the run summary (also written to ``<cache_dir>/run.json``).

        Results are cached per step and chunk under the fingerprint of the step, its params and its
        upstream, so a repeated run reuses what is still valid and a run stopped midway continues where it
        stopped (``resume=True`` says so explicitly and reports how much was already done).
        ``fresh=True`` discards the cache first.
        """
        from dataflow.core.engine import Engine

        if input is not None:
            self.input = input
        if output is not None:
            self.output = output
        if is_url(self.cache_dir):
            raise CompileError([Problem(f"cache_dir must be a local path (on a cluster, one every node "
                                        f"mounts), not {self.cache_dir}")])
        plan = self.compile()
        cache_dir = Path(self.cache_dir) if self.cache_dir else self.default_cache_dir()
        if fresh and cache_dir.exists():
            shutil.rmtree(cache_dir)
        input_path, output_path = self.input, self.output
        if is_url(self.input):  # read from a local copy in the cache, fingerprinted as that copy
            input_path = stage_input(str(self.input), cache_dir)
            plan = self.compile(input=input_path)
        if is_url(self.output):
            output_path = staged_output(str(self.output), cache_dir)
        if resume:
            logger.info("resuming from %s", cache_dir)
        settings = self.resource_settings()
        kinds = resource_kinds()
        for kind, value in settings.items():  # e.g. the retriever's index: saved with the run's cache
            key = kinds[kind].cache_key if kind in kinds else None
            if key and isinstance(value, dict) and not value.get(key):
                settings[kind] = {**value, key: str(cache_dir / "resources" / kind)}
        specs = {kind: ResourceSpec.of(kind, settings.get(kind)) for kind in {k for s in plan.steps
                                                                                for k in s.op.resources}}
        engine = Engine(plan, input_path=input_path, output_path=output_path, cache_dir=cache_dir,
                        chunk_size=self.chunk_size, chunk_bytes=self.chunk_bytes, on_bad_input=self.on_bad_input,
                        resources=specs, executor=get_executor(self.executor, self.workers, **self.executor_options),
                        progress=progress, config=self.config())
        try:
            summary = engine.run()  # closes the resources it built; instances the user passed stay open
        finally:
            for spec in specs.values():
                spec.release()
        if output_path is not None and is_url(self.output):
            upload_output(Path(output_path), str(self.output))
            summary["output"] = str(self.output)
        if print_summary:
            from dataflow.core.summary import format_summary

            print(format_summary(summary))
        return summary


# ============================================================================ spec front-end
class StepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    op: str
    params: dict[str, Any] = Field(default_factory=dict)
    run: dict[str, Any] = Field(default_factory=dict)


class PipelineSpec(BaseModel):
    """A pipeline as data (YAML or JSON). Relative paths are resolved against the spec file's folder."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    input: str
    output: str | None = None
    cache_dir: str | None = None
    serving: dict[str, Any] | None = None
    embedder: dict[str, Any] | None = None
    sandbox: dict[str, Any] | None = None
    resources: dict[str, dict[str, Any]] = Field(default_factory=dict)  # any other resource kind, by name
    chunk_size: int = Field(DEFAULT_CHUNK_SIZE, gt=0)
    chunk_bytes: int = Field(DEFAULT_CHUNK_BYTES, gt=0)
    workers: int | None = Field(None, gt=0)
    executor: str | None = None  # local (default), spawn, serial, ray
    executor_options: dict[str, Any] = Field(default_factory=dict)  # ray: {address: ..., replicas: ...}
    on_bad_input: Literal["error", "skip"] = "error"
    prompts_dir: str | None = None
    steps: list[StepSpec]


class SpecPipeline(Pipeline):
    """A pipeline built from a :class:`PipelineSpec`."""

    def __init__(self, spec: PipelineSpec, base_dir: Path, source: str | None = None) -> None:
        def resolve(p: str | None) -> Path | str | None:
            if p is not None and "://" in p:  # a URL (s3://, gs://, ...): dataflow.core.storage
                return p
            return None if p is None else (base_dir / Path(p).expanduser())

        name = spec.name or (Path(source).stem if source else "pipeline")
        super().__init__(resolve(spec.input), resolve(spec.output), cache_dir=resolve(spec.cache_dir),
                         serving=spec.serving, embedder=spec.embedder, sandbox=spec.sandbox,
                         resources={kind: _resolve_resource_paths(kind, config, base_dir)
                                    for kind, config in spec.resources.items()},
                         chunk_size=spec.chunk_size, chunk_bytes=spec.chunk_bytes,
                         workers=spec.workers, on_bad_input=spec.on_bad_input, executor=spec.executor,
                         executor_options=spec.executor_options, name=name)
        self.spec = spec
        self.base_dir = base_dir
        self.source = source
        if spec.prompts_dir:
            from dataflow.core import prompts

            prompts.add_user_dir(resolve(spec.prompts_dir))

    @classmethod
    def load(cls, spec: str | Path | dict[str, Any]) -> SpecPipeline:
        import pydantic

        if isinstance(spec, dict):
            data, base, source = spec, Path.cwd(), None
        else:
            path = Path(spec)
            text = path.read_text(encoding="utf-8")
            if path.suffix.lower() == ".json":
                import json

                data = json.loads(text)
            else:
                import yaml

                data = yaml.safe_load(text)
            base, source = path.resolve().parent, str(path)
        if not isinstance(data, dict):
            raise CompileError([Problem(f"{source or 'spec'}: expected a mapping at the top level")])
        try:
            parsed = PipelineSpec.model_validate(data)
        except pydantic.ValidationError as exc:
            raise CompileError([
                Problem(f"{source or 'spec'}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}")
                for e in exc.errors()
            ]) from None
        return cls(parsed, base, source)

    def default_cache_dir(self) -> Path:
        return self.base_dir / ".dataflow" / self.name

    def config(self) -> dict[str, Any]:
        return {**super().config(), "spec": self.spec.model_dump(mode="json"), "source": self.source}

    def forward(self) -> None:
        from dataflow.core.registry import OPERATORS

        for step in self.spec.steps:
            try:
                cls = _import_operator(step.op, self.base_dir) if ":" in step.op else OPERATORS.get(step.op)
            except (KeyError, ImportError, AttributeError) as exc:
                self.storage.skip(Problem(str(exc.args[0]), op=step.op))
                continue
            params = {k: _relative_to(v, self.base_dir) if k in getattr(cls, "path_params", ()) else v
                      for k, v in step.params.items()}
            try:
                op = cls(**params)
            except (ParamsError, TypeError) as exc:
                self.storage.skip(Problem(f"params: {exc}", op=step.op))
                continue
            op.run(self.storage, **step.run)


def _relative_to(value: Any, base_dir: Path) -> Any:
    """A relative path (a str not looking like a URL) read from ``base_dir``; anything else unchanged."""
    if not isinstance(value, str) or not value or "://" in value:
        return value
    path = Path(value).expanduser()
    return value if path.is_absolute() else str(base_dir / path)


def _resolve_resource_paths(kind: str, config: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    from dataflow.core.resources import resource_kinds

    known = resource_kinds().get(kind)
    keys = known.path_keys if known else ()
    return {k: _relative_to(v, base_dir) if k in keys else v for k, v in (config or {}).items()}


def _import_operator(path: str, base_dir: Path | None = None) -> type[Operator]:
    """``"package.module:ClassName"`` or ``"file.py:ClassName"`` (a file relative to ``base_dir``, the
    spec's folder) -> the class (custom operators without registration)."""
    import importlib

    module, _, attr = path.rpartition(":")
    if module.endswith(".py"):
        from dataflow.core.tasks import import_operator_file

        obj = getattr(import_operator_file(Path(_relative_to(module, base_dir or Path.cwd()))), attr)
    else:
        obj = getattr(importlib.import_module(module), attr)
    if not (isinstance(obj, type) and issubclass(obj, Operator)):
        raise KeyError(f"{path} is not an Operator subclass")
    return obj

