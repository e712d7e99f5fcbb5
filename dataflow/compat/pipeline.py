"""The reference DataFlow's ``PipelineABC``: ``compile()`` then ``forward()``, as one streamed run.

A subclass keeps the reference's shape (``self.storage = FileStorage(...)`` and operators in
``__init__``, ``op.run(storage=self.storage.step(), ...)`` in ``forward()``). ``compile()`` traces
``forward()`` into our pipeline and checks it (columns, params, resources) before any row is read;
``forward()`` after it runs every step through our engine in one streamed, cached, resumable run
(cache under ``<cache_path>/.dataflow/<class name>``), writing the last step's file
(``<cache_path>/<prefix>_step<N>.<cache_type>``). Without ``compile()``, ``forward()`` runs step by
step, as a plain reference script does (:class:`~dataflow.compat.storage.FileStorage`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataflow.core.pipeline import Pipeline


class _Traced(Pipeline):
    """Our pipeline over a reference-style object: tracing calls its ``forward()`` with our tracer."""

    def __init__(self, owner: PipelineABC, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.owner = owner

    def forward(self) -> None:
        storage = self.owner.storage
        storage.tracer = self.storage
        try:
            type(self.owner).forward.__wrapped__(self.owner)
        finally:
            storage.tracer = None


class PipelineABC:
    """Base of reference-style pipelines (see the module doc)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        forward = cls.__dict__.get("forward")
        if forward is not None and not hasattr(forward, "__wrapped__"):
            def run_or_forward(self: PipelineABC, *args: Any, **kw: Any) -> Any:
                if getattr(self, "_compiled", None) is not None:
                    return self._compiled.run()
                return forward(self, *args, **kw)

            run_or_forward.__wrapped__ = forward
            run_or_forward.__doc__ = forward.__doc__
            cls.forward = run_or_forward

    def forward(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def compile(self) -> Any:
        """Trace and check the pipeline; the next ``forward()`` runs it on our engine."""
        storage = self.storage
        n_steps = len(_Traced(self).trace().steps)
        self._compiled = _Traced(self, input=storage.first_entry_file_name, output=storage.file_of(n_steps),
                                 cache_dir=Path(storage.cache_path) / ".dataflow" / type(self).__name__,
                                 name=type(self).__name__, on_bad_input="skip")
        Path(storage.cache_path).mkdir(parents=True, exist_ok=True)
        return self._compiled.compile()
