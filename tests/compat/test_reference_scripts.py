"""The reference DataFlow's own pipeline scripts, taken from its wheel at test time, run unmodified on
our package (their LLM calls answered by the local fake OpenAI-compatible server)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.reference_wheel import reference_root

REPO = Path(__file__).resolve().parents[2]

# Runs a script as __main__ with APILLMServing_request pointed at the fake server, which answers every
# JSON-schema request with an instance of the schema and every other one with a short solution.
HARNESS = r'''
import json, runpy, sys
from dataflow.serving.fake_server import FakeOpenAIServer, Reply
import dataflow.compat.serving as compat

def instance(schema):
    kind = schema.get("type")
    if "enum" in schema: return schema["enum"][-1]
    if "const" in schema: return schema["const"]
    if kind == "object": return {k: instance(v) for k, v in schema.get("properties", {}).items()}
    if kind == "array": return [instance(schema.get("items", {})) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "integer": return max(schema.get("minimum", 1), min(schema.get("maximum", 5), 5))
    if kind == "number": return schema.get("maximum", 1.0)
    if kind == "boolean": return True
    return "A worked example number %d with enough words to pass the checks." % len(json.dumps(schema))

def answer(body):
    fmt = body.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema")
    if schema: return Reply(content=json.dumps(instance(schema)))
    return Reply(content="We compute step by step: 4 + 4 = 8. The answer is \\boxed{8}.")

with FakeOpenAIServer(script=answer) as server:
    class Local(compat.APILLMServing_request):
        def __init__(self, *args, **kwargs):
            kwargs["api_url"] = server.base_url + "/chat/completions"
            super().__init__(*args, **kwargs)
    compat.APILLMServing_request = Local
    runpy.run_path(sys.argv[1], run_name="__main__")
'''


def _run(script: str, tmp_path: Path) -> Path:
    root = reference_root()
    work = tmp_path / "pipelines"
    work.mkdir()
    shutil.copytree(root / "example", tmp_path / "example_data")
    target = work / Path(script).name
    shutil.copy(root / "statics" / "pipelines" / script, target)
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATAFLOW_CACHE_HOME": str(tmp_path / "llm-cache")}
    done = subprocess.run([sys.executable, "-c", HARNESS, str(target)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return work


def _columns(folder: Path) -> set[str]:
    seen: set[str] = set()
    for path in sorted(folder.glob("dataflow_cache_step*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            seen |= set(json.loads(line))
    return seen


def test_cpu_pretraining_filter_script(tmp_path):
    work = _run("cpu_pipelines/text_pt_filter.py", tmp_path)
    assert (work / "cache" / "dataflow_cache_step_step23.jsonl").exists()  # a file per step (23), as the reference
    assert {"raw_content", "minhash_cluster", "word_count"} <= _columns(work / "cache")


def test_sft_synthesis_api_script(tmp_path):
    work = _run("api_pipelines/text_sft_synthesis_pipeline.py", tmp_path)
    assert {"instruction", "output", "critique", "alpagasus_score"} <= _columns(work / "cache")


def test_reasoning_math_api_script(tmp_path):
    work = _run("api_pipelines/reasoning_math_pipeline.py", tmp_path)
    assert {"instruction", "question_difficulty", "question_category", "generated_cot"} <= \
        _columns(work / "cache_local")


def test_cpu_sft_filter_script(tmp_path):
    work = _run("cpu_pipelines/text_sft_filter.py", tmp_path)
    assert {"instruction", "output", "word_count"} <= _columns(work / "cache")


def test_cpu_reasoning_script(tmp_path):
    work = _run("cpu_pipelines/reasoning_pipeline.py", tmp_path)
    # Its example rows have no model output yet ("output": null): the format filter drops them all.
    assert sorted(p.name for p in (work / "cache_local").glob("dataflow_cache_step_step*.jsonl")) == \
        [f"dataflow_cache_step_step{k}.jsonl" for k in (1, 2, 3)]


def test_reasoning_diy_api_script(tmp_path):
    # Its own prompt texts (DiyQuestionFilterPrompt(...)) become our inline templates.
    work = _run("api_pipelines/reasoning_diy_pipeline.py", tmp_path)
    assert {"instruction", "generated_cot"} <= _columns(work / "cache_local")


def test_reasoning_general_api_script(tmp_path):
    work = _run("api_pipelines/reasoning_general_pipeline.py", tmp_path)
    assert {"instruction", "generated_cot", "answer_match_result"} <= _columns(work / "cache_local")
