"""The reference DataFlow's ``FileStorage``, run by our engine.

``op.run(storage=storage.step(), ...)`` runs the operator at once, as in the reference, but as a
one-step pipeline of our engine: the input is the previous step's file (the first step reads
``first_entry_file_name``), the output ``<cache_path>/<file_name_prefix>_step<N>.<cache_type>`` (the
reference's names), and the step's chunks are cached under ``<cache_path>/.dataflow/step<N>`` by
fingerprint, so running the script again redoes only what changed and a killed run resumes. Rows an
operator drops or rejects are kept with their reasons in that folder (``rejects.jsonl``, ``run.json``).
Inside a compiled :class:`~dataflow.compat.pipeline.PipelineABC`, ``step()`` hands out the tracer
instead, and the whole pipeline is one streamed run.
"""

from __future__ import annotations

import filecmp
import json
import logging
from pathlib import Path
from typing import Any

from dataflow.core.pipeline import Pipeline

logger = logging.getLogger("dataflow")

# Seed topics for the reference's from-scratch generators (CondorGenerator reads no input there):
# when a step's input is empty and the operator reads a ``topic`` column, these rows are its input.
SEED_TOPICS = ("science", "history", "programming", "health", "economics")


class _OneStep(Pipeline):
    def __init__(self, op: Any, bindings: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.op, self.bindings = op, bindings

    def forward(self) -> None:
        self.op.run(self.storage, **self.bindings)


class FileStorage:
    """The reference's file-per-step storage; each step is run by our engine (see the module doc)."""

    def __init__(self, first_entry_file_name: str, cache_path: str = "./cache",
                 file_name_prefix: str = "dataflow_cache_step", cache_type: str = "jsonl") -> None:
        self.first_entry_file_name = first_entry_file_name
        self.cache_path = cache_path
        self.file_name_prefix = file_name_prefix
        self.cache_type = cache_type
        self.operator_step = -1
        self.tracer: Any = None  # set while a compiled PipelineABC traces its forward()
        self.summaries: list[dict[str, Any]] = []

    def step(self) -> Any:
        if self.tracer is not None:
            return self.tracer
        self.operator_step += 1
        return self

    def file_of(self, step: int) -> Path:
        """The file step ``step`` writes (step 0: the first entry file)."""
        if step == 0:
            return Path(self.first_entry_file_name)
        return Path(self.cache_path) / f"{self.file_name_prefix}_step{step}.{self.cache_type}"

    def apply(self, op: Any, bindings: dict[str, Any]) -> FileStorage:
        index = max(self.operator_step, 0)
        source, target = self.file_of(index), self.file_of(index + 1)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = self._seeded(source, op, bindings)
        fresh = target.with_name(f"{target.stem}.partial{target.suffix}")
        pipeline = _OneStep(op, bindings, input=source, output=fresh, name=f"step{index + 1}", on_bad_input="skip",
                            cache_dir=Path(self.cache_path) / ".dataflow" / f"step{index + 1}")
        summary = pipeline.run()
        # An unchanged step leaves its file (and its mtime) alone: the next step's input fingerprint holds,
        # so a re-run of the script comes from the cache all the way down.
        if target.exists() and filecmp.cmp(fresh, target, shallow=False):
            fresh.unlink()
        else:
            fresh.replace(target)
        self.summaries.append(summary)
        logger.info("step %d (%s): %s -> %s", index + 1, op.op_name(), source, target)
        return self

    def _seeded(self, source: Path, op: Any, bindings: dict[str, Any]) -> Path:
        if source.exists() and source.stat().st_size > 0:
            return source
        if "topic" not in op.input_columns(op.resolve_bindings(bindings)):
            return source
        seeds = Path(self.cache_path) / "seed_topics.jsonl"
        seeds.write_text("".join(json.dumps({"topic": t}) + "\n" for t in SEED_TOPICS), encoding="utf-8")
        return seeds

    def read(self, output_type: str = "dataframe") -> Any:
        """The current step's input, as the reference's ``storage.read()`` gives it to an operator (for
        a user's own reference-style operator, whose ``run()`` reads and writes the storage itself)."""
        import pandas as pd

        from dataflow.core.fileio import iter_records

        path = self.file_of(max(self.operator_step, 0))
        rows = [r.record for r in iter_records(path) if r.record is not None]
        return pd.DataFrame(rows) if output_type == "dataframe" else rows

    def write(self, data: Any) -> str:
        """Write the current step's output (a DataFrame or a list of records), as the reference does."""
        import pandas as pd

        from dataflow.core.fileio import write_chunks, write_frame

        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(list(data))
        target = self.file_of(max(self.operator_step, 0) + 1)
        target.parent.mkdir(parents=True, exist_ok=True)
        chunk = target.with_name(f"{target.stem}.chunk.parquet")
        write_frame(frame.reset_index(drop=True), chunk)
        try:
            write_chunks(target, [chunk])
        finally:
            chunk.unlink(missing_ok=True)
        return str(target)
