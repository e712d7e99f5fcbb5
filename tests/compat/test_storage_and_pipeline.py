"""The reference DataFlow's FileStorage and PipelineABC, on our engine: step files, cache, compile."""

from __future__ import annotations

import json

import pytest

from dataflow.compat.pipeline import PipelineABC
from dataflow.compat.storage import FileStorage
from dataflow.core.errors import CompileError
from dataflow.operators.general_text import RemoveExtraSpacesRefiner, WordNumberFilter

ROWS = [{"text": "one  two   three"}, {"text": "one"}, {"text": "four five\n\nsix"}]


class Clean(PipelineABC):
    def __init__(self, first: str, cache: str, column: str = "text") -> None:
        self.storage = FileStorage(first_entry_file_name=first, cache_path=cache,
                                   file_name_prefix="clean", cache_type="jsonl")
        self.spaces = RemoveExtraSpacesRefiner()
        self.words = WordNumberFilter(min_words=2, max_words=100)
        self.column = column

    def forward(self) -> None:
        self.spaces.run(storage=self.storage.step(), input_key=self.column)
        self.words.run(storage=self.storage.step(), input_key=self.column)


def _records(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def first(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return path


def test_each_step_writes_the_reference_file_and_a_rerun_is_cached(tmp_path, first):
    pipeline = Clean(str(first), str(tmp_path / "cache"))
    pipeline.forward()
    step1, step2 = (tmp_path / "cache" / f"clean_step{k}.jsonl" for k in (1, 2))
    assert [r["text"] for r in _records(step1)] == ["one two three", "one", "four five\n\nsix"]
    assert [r["text"] for r in _records(step2)] == ["one two three", "four five\n\nsix"]
    assert pipeline.storage.summaries[1]["steps"][0]["dropped"] == {"word_count < 2": 1}
    again = Clean(str(first), str(tmp_path / "cache"))
    again.forward()  # nothing changed: every step's chunks come from the cache
    assert all(s["steps"][0]["cached_chunks"] == 1 for s in again.storage.summaries)


def test_compiled_pipeline_checks_first_then_runs_once_streamed(tmp_path, first):
    with pytest.raises(CompileError, match="body"):
        Clean(str(first), str(tmp_path / "bad"), column="body").compile()
    pipeline = Clean(str(first), str(tmp_path / "cache"))
    pipeline.compile()
    summary = pipeline.forward()
    assert [s["op"] for s in summary["steps"]] == ["RemoveExtraSpacesRefiner", "WordNumberFilter"]
    assert [r["text"] for r in _records(tmp_path / "cache" / "clean_step2.jsonl")] == \
        ["one two three", "four five\n\nsix"]
    assert not (tmp_path / "cache" / "clean_step1.jsonl").exists()  # one run: only the last file


def test_a_users_own_reference_style_operator_reads_and_writes_the_storage(tmp_path, first):
    class Upper:  # the reference's operator shape: run() reads the step's input and writes its output
        def run(self, storage, input_key="text"):
            frame = storage.read("dataframe")
            frame[input_key] = frame[input_key].str.upper()
            storage.write(frame)

    storage = FileStorage(first_entry_file_name=str(first), cache_path=str(tmp_path / "cache"))
    Upper().run(storage=storage.step())
    WordNumberFilter(min_words=2).run(storage=storage.step(), input_key="text")
    assert [r["text"] for r in _records(tmp_path / "cache" / "dataflow_cache_step_step2.jsonl")] == \
        ["ONE  TWO   THREE", "FOUR FIVE\n\nSIX"]
