"""CodeMinHashDeduplicateFilter: copies differing in comments and layout go; shared comments do not link."""

from __future__ import annotations

import pytest

from dataflow.core.errors import ParamsError
from dataflow.core.registry import OPERATORS
from dataflow.testing import run_operator

from .helpers import mbpp_rows

LICENSE = "\n".join(
    f"# {line}" for line in (
        "Copyright (c) 2024 Example Corporation. All rights reserved.",
        "Licensed under the Apache License, Version 2.0 (the License); you may not use this file",
        "except in compliance with the License. You may obtain a copy of the License at",
        "http://www.apache.org/licenses/LICENSE-2.0 . Unless required by applicable law or agreed to",
        "in writing, software distributed under the License is distributed on an AS IS BASIS,",
        "WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the License for",
        "the specific language governing permissions and limitations under the License.",
    ))


def code_dedup(**params):
    return OPERATORS.get("CodeMinHashDeduplicateFilter")(**params)


def reformat(code: str, k: int) -> str:
    """The same program, re-laid out: LF line ends, 2-space indents, blank lines, a header and trailing
    comments."""
    lines = code.replace("\r\n", "\n").replace("\t", "  ").split("\n")
    out = [f"# solution {k}: reformatted copy", ""]
    for i, line in enumerate(lines):
        out.append(line.rstrip() + (f"  # step {i}" if line.strip() and not line.rstrip().endswith("\\") else ""))
        if i % 3 == 2:
            out.append("")
    return "\n".join(out)


def test_reformatted_mbpp_copies_are_dropped_and_point_at_their_original():
    tasks = mbpp_rows()
    originals = [{"code": t["code"], "task": t["task_id"]} for t in tasks]
    base = run_operator(code_dedup(), originals)
    cluster_of = {r["task"]: r["code_minhash_cluster"] for r in base.kept + base.dropped}
    copied = tasks[::12]  # 40 tasks
    copies = [{"code": reformat(t["code"], t["task_id"]), "task": f"copy of {t['task_id']}"} for t in copied]
    result = run_operator(code_dedup(), originals + copies)
    assert not result.errors
    dropped = {r["task"]: r for r in result.dropped}
    # Every copy goes, pointing at its original's cluster (row ids of originals are their positions).
    for t in copied:
        row = dropped[f"copy of {t['task_id']}"]
        assert row["code_minhash_cluster"] == cluster_of[t["task_id"]]
        assert row["reason"] == "code minhash duplicate (jaccard >= 0.8)"
    # Nothing else changes: the originals MBPP itself repeats are the only other drops.
    assert set(dropped) - {c["task"] for c in copies} == {r["task"] for r in base.dropped}
    # MBPP repeats itself: 11 solutions are near copies of earlier ones (same code under the same or a
    # mirrored name, e.g. increasing_trend / decreasing_trend); four are token-for-token equal.
    repeats = {r["task"]: tasks[int(r["code_minhash_cluster"]) - 1]["task_id"] for r in base.dropped}
    assert len(repeats) == 11
    assert {625: 591, 699: 595, 770: 549, 779: 758}.items() <= repeats.items()


def test_comments_are_ignored_both_ways():
    body_a = "def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n"
    body_b = "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, x):\n" \
             "        self.items.append(x)\n"
    rows = [{"code": LICENSE + "\n" + body_a}, {"code": LICENSE + "\n" + body_b},
            {"code": "/* C-style header */\n" + body_a.replace("\n", "\n\n")}]
    code = run_operator(code_dedup(), rows)
    # Same license, different code: both kept. Same code, other comments and layout: the copy goes.
    assert code.kept_ids == ["1", "2"] and code.dropped[0]["code_minhash_cluster"] == "1"
    # A text MinHash on the same rows does the opposite: the shared header links rows 1 and 2.
    text = run_operator(OPERATORS.get("MinHashDeduplicateFilter")(), rows, input_key="code")
    assert "2" not in text.kept_ids and "3" in text.kept_ids


def test_params_and_comment_style():
    hash_only = [{"code": "x = a // b  # note\n"}, {"code": "x = a // c  # note\n"}]
    # "auto" reads " // ..." as a C++ comment: both rows become "x = a" and are duplicates.
    assert run_operator(code_dedup(), hash_only).kept_ids == ["1"]
    assert run_operator(code_dedup(comments="hash"), hash_only).kept_ids == ["1", "2"]
    assert code_dedup(threshold=0.9).drop_reason == "code minhash duplicate (jaccard >= 0.9)"
    with pytest.raises(ParamsError):
        code_dedup(comments="xml")
