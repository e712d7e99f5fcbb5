"""Answers "what happened to this row?" from a run's cache directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dataflow.core.bindings import DROP_REASON, ROW_ID
from dataflow.core.cache import CacheLayout
from dataflow.core.fileio import frame_to_records, read_frame


class RunInspector:
    def __init__(self, cache_dir: str | Path) -> None:
        self.cache_dir = Path(cache_dir)
        self.layout = CacheLayout(self.cache_dir, "")
        if not self.layout.run_json.exists():
            raise FileNotFoundError(f"no run.json in {self.cache_dir}: has the pipeline run there?")
        self.summary = json.loads(self.layout.run_json.read_text())
        self.chunks = int(self.summary.get("chunks", 0))

    def step_dir(self, step: dict[str, Any]) -> Path:
        return self.layout.step_dir(step["index"], step["op"], step["fingerprint"])

    def _files(self, step: dict[str, Any], what: str = "") -> Iterator[Path]:
        for k in range(self.chunks):
            path = self.layout.step_file(self.step_dir(step), k, what)
            if path.exists():
                yield path

    def overview(self) -> str:
        from dataflow.core.summary import format_summary

        return format_summary(self.summary)

    def dropped(self, *, step: int | None = None, limit: int | None = None, row: str | None = None
                ) -> Iterator[dict[str, Any]]:
        count = 0
        for s in self.summary["steps"]:
            if step is not None and s["index"] != step:
                continue
            for file in self._files(s, "dropped"):
                frame = read_frame(file)
                if row is not None:
                    frame = frame[frame[ROW_ID].astype(str) == str(row)]
                for rec in frame_to_records(frame, internal=True):
                    yield {"row_id": rec.pop(ROW_ID), "step": s["index"], "op": s["op"],
                           "reason": rec.pop(DROP_REASON, None),
                           "record": {k: v for k, v in rec.items() if not k.startswith("_")}}
                    count += 1
                    if limit is not None and count >= limit:
                        return

    def rejects(self, *, step: int | None = None, limit: int | None = None, row: str | None = None
                ) -> Iterator[dict[str, Any]]:
        path = Path(self.summary.get("rejects") or self.layout.rejects)
        if not path.exists():
            return
        count = 0
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                if step is not None and rec.get("step") != step:
                    continue
                rid = rec.get("row_id") or rec.get("line") or rec.get("row")
                if row is not None and str(rid) != str(row):
                    continue
                yield rec
                count += 1
                if limit is not None and count >= limit:
                    return

    def explain_row(self, row_id: str) -> str:
        """Where a row went: dropped (by which step, why), rejected, or kept in the output."""
        for rec in self.rejects(row=row_id, limit=1):
            return (f"row {row_id} was rejected at step {rec['step']} ({rec['op']}): {rec['reason']}\n"
                    f"  record: {json.dumps(rec.get('record') or rec.get('raw'), ensure_ascii=False)[:300]}")
        for rec in self.dropped(row=row_id, limit=1):
            return (f"row {row_id} was dropped at step {rec['step']} ({rec['op']}): {rec['reason']}\n"
                    f"  record: {json.dumps(rec['record'], ensure_ascii=False, default=str)[:300]}")
        children = [r for r in self._find_in_output(row_id)]
        if children:
            ids = ", ".join(children[:10])
            return f"row {row_id} is in the output (as {ids})"
        return f"row {row_id}: not found in this run (no such input row, or the cache was pruned)"

    def _find_in_output(self, row_id: str) -> list[str]:
        if not self.summary["steps"]:
            return []
        last = self.summary["steps"][-1]
        found = []
        for file in self._files(last):
            ids = read_frame(file, columns=[ROW_ID])[ROW_ID].astype(str)
            hits = ids[(ids == row_id) | ids.str.startswith(row_id + ".")]
            found += hits.tolist()
        return found
