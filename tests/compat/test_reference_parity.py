"""The reference DataFlow's CPU pre-training pipeline (its own script, from its wheel) run through our
package keeps the documents the reference keeps, on the 20k-document benchmark corpus
(``shared/bench/make_pt_corpus.py``), apart from the differences the operators' docstrings name.

Slow (about 10 minutes on 2 cores for our side). The reference's own run needs its dependencies: give a
Python that has ``open-dataflow`` installed as ``DATAFLOW_REFERENCE_PYTHON`` (a separate venv, never this
one); without it the test skips. The per-operator counts are printed (``pytest -s``).
``DATAFLOW_PARITY_DOCS`` takes fewer documents.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dataflow.core.eager import DataFrameStorage
from dataflow.operators.general_text import BlocklistFilter
from tests.reference_wheel import reference_root
from tests.shared_fixtures import FIXTURES

REPO = Path(__file__).resolve().parents[2]
SCRIPT = "cpu_pipelines/text_pt_filter.py"
# Operators whose docstrings name a difference from the reference that changes which documents pass:
# BlocklistFilter (badwords-py's list, whole-word matching). The refiners' named differences (line
# breaks kept, comparisons kept) change no document of this corpus beyond whitespace.
NAMED = {"blocklist_filter"}


def _layout(root: Path, corpus: Path, script: Path) -> Path:
    (root / "pipelines").mkdir(parents=True)
    (root / "example_data" / "GeneralTextPipeline").mkdir(parents=True)
    shutil.copy(corpus, root / "example_data" / "GeneralTextPipeline" / "pt_input.jsonl")
    shutil.copy(script, root / "pipelines" / script.name)
    return root / "pipelines"


def _kept(path: Path) -> set[int]:
    return {json.loads(line)["doc_id"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def compare_steps(ops: list[str], first: set[int], ref: Path, ours: Path) -> list[tuple[str, int, int]]:
    """Per step, among the documents both sides fed it: (operator, dropped only by the reference,
    dropped only by ours)."""
    rows = []
    before_ref = before_ours = first
    for k, op in enumerate(ops, 1):
        after_ref = _kept(ref / f"dataflow_cache_step_step{k}.jsonl")
        after_ours = _kept(ours / f"dataflow_cache_step_step{k}.jsonl")
        both = before_ref & before_ours
        rows.append((op, len((both - after_ref) - (both - after_ours)), len((both - after_ours) - (both - after_ref))))
        before_ref, before_ours = after_ref, after_ours
    return rows


@pytest.mark.slow
def test_pretraining_pipeline_keeps_what_the_reference_keeps(tmp_path):
    make = FIXTURES.parent / "bench" / "make_pt_corpus.py"
    python = os.environ.get("DATAFLOW_REFERENCE_PYTHON")
    if not make.exists():
        pytest.skip(f"no corpus builder at {make}")
    if not python:
        pytest.skip("set DATAFLOW_REFERENCE_PYTHON to a Python with open-dataflow installed")
    script = reference_root() / "statics" / "pipelines" / SCRIPT
    raw = tmp_path / "raw.jsonl"
    docs = os.environ.get("DATAFLOW_PARITY_DOCS", "20000")  # fewer for a quick check of the test itself
    subprocess.run([sys.executable, str(make), str(raw), docs], check=True)
    corpus = tmp_path / "corpus.jsonl"
    with raw.open() as src, corpus.open("w") as out:  # an id per document, to follow it through the steps
        for i, line in enumerate(src):
            out.write(json.dumps({"doc_id": i, **json.loads(line)}) + "\n")
    ref_dir, ours_dir = _layout(tmp_path / "ref", corpus, script), _layout(tmp_path / "ours", corpus, script)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the reference must not see ours
    for cmd, cwd, extra in (([python, script.name], ref_dir, {}),
                            ([sys.executable, script.name], ours_dir, {"PYTHONPATH": str(REPO)})):
        done = subprocess.run(cmd, cwd=cwd, env={**env, **extra}, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
    ops = re.findall(r"self\.(\w+)\.run\(", script.read_text(encoding="utf-8"))
    rows = compare_steps(ops, _kept(corpus), ref_dir / "cache", ours_dir / "cache")
    print("\noperator: documents dropped only by the reference / only by ours")
    for op, only_ref, only_ours in rows:
        print(f"  {op:38s} {only_ref:5d} {only_ours:5d}")
    unexplained = [(op, a, b) for op, a, b in rows if (a or b) and op not in NAMED]
    assert not unexplained, unexplained
    # The blocklist's params that restore the reference's behaviour: its list file and its token rule.
    blocklist = 1 + ops.index("blocklist_filter")
    rows = [json.loads(line) for line in
            (ref_dir / "cache" / f"dataflow_cache_step_step{blocklist - 1}.jsonl").read_text().splitlines()]
    storage = DataFrameStorage(rows)
    BlocklistFilter(language=None, match="tokens", blocklist_file=str(
        reference_root() / "operators" / "general_text" / "filter" / "blocklist" / "en.txt"
    )).run(storage, input_key="raw_content")
    assert set(storage.frame["doc_id"]) == _kept(ref_dir / "cache" / f"dataflow_cache_step_step{blocklist}.jsonl")
