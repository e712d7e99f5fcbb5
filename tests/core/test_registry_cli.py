"""Registry metadata, the ops/inspect/init commands, import time and the light core install."""

from __future__ import annotations

import json
import subprocess
import sys

from dataflow.core.operator import InputColumn, OutputColumn, RangeFilter
from dataflow.core.registry import OPERATORS, operator_metadata, register_operator
from tests.core.conftest import dataflow_cli


@register_operator(name="TestLengthBand", domain="testing")
class LengthBand(RangeFilter):
    """Keeps texts whose length lies in a band.

    Longer description that stays in ``description`` only.
    """

    input_key = InputColumn("text", description="the text to measure")
    output_key = OutputColumn("length", "int")

    def __init__(self, min_chars: int = 1, max_chars: int = 100):
        super().__init__(min_value=min_chars, max_value=max_chars)

    def score(self, batch, ctx):
        return batch[ctx.cols.input_key].str.len().to_numpy()


def test_metadata_is_complete_and_machine_readable():
    meta = operator_metadata(OPERATORS.get("TestLengthBand"))
    assert meta["name"] == "TestLengthBand" and meta["domain"] == "testing" and meta["kind"] == "filter"
    assert meta["summary"] == "Keeps texts whose length lies in a band."
    assert "Longer description" in meta["description"]
    assert meta["params"]["properties"]["max_chars"] == {"default": 100, "title": "Max Chars", "type": "integer"}
    assert meta["run_args"]["input_key"]["default"] == "text"
    assert meta["run_args"]["output_key"]["role"] == "output"
    assert meta["needs_llm"] is False and meta["requires"] == []
    json.dumps(meta)


def test_unknown_operator_suggests_near_names():
    try:
        OPERATORS.get("TestLengthBnd")
    except KeyError as exc:
        assert "did you mean TestLengthBand" in exc.args[0]
    else:
        raise AssertionError("expected KeyError")


def test_ops_list_json_and_show():
    proc = dataflow_cli("ops", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    metas = json.loads(proc.stdout)
    assert isinstance(metas, list)
    for m in metas:
        assert {"name", "domain", "kind", "description", "params", "run_args", "needs_llm", "requires"} <= set(m)
    if metas:
        name = metas[0]["name"]
        shown = dataflow_cli("ops", "show", name)
        assert shown.returncode == 0 and name in shown.stdout and "run bindings:" in shown.stdout
    assert dataflow_cli("ops", "show", "NoSuchOp").returncode != 0


def test_import_is_fast_and_lazy():
    code = ("import time, sys; t=time.perf_counter(); import dataflow; dt=time.perf_counter()-t; "
            "print(dt, 'pandas' in sys.modules, 'torch' in sys.modules)")
    best = min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                     .stdout.split()[0]) for _ in range(3))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert best < 0.5, f"import dataflow took {best:.3f}s"
    assert out[1:] == ["False", "False"], "import dataflow must not import pandas or torch"


def test_core_install_pulls_no_torch():
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement

    seen, todo = set(), ["dataflow"]
    while todo:
        name = todo.pop()
        try:
            reqs = requires(name) or []
        except PackageNotFoundError:
            continue
        for text in reqs:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue  # an extra, or another platform
            key = req.name.lower().replace("_", "-")
            if key not in seen:
                seen.add(key)
                todo.append(key)
    assert "torch" not in seen and "llama-cpp-python" not in seen, sorted(seen)


def test_init_creates_a_starter_project_whose_two_front_ends_agree(tmp_path):
    proc = dataflow_cli("init", str(tmp_path / "proj"))
    assert proc.returncode == 0, proc.stderr
    proj = tmp_path / "proj"
    assert {p.name for p in proj.iterdir()} == {"data.jsonl", "pipeline.yaml", "pipeline.py"}
    assert dataflow_cli("run", "pipeline.yaml", "--no-progress", cwd=proj).returncode == 0
    ran = subprocess.run([sys.executable, "pipeline.py"], cwd=proj, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    yaml_rows = [json.loads(x) for x in (proj / "output" / "clean.jsonl").read_text().splitlines()]
    py_rows = [json.loads(x) for x in (proj / "output" / "clean_py.jsonl").read_text().splitlines()]
    assert yaml_rows == py_rows and 0 < len(yaml_rows) < 5
    assert "[EMAIL]" in json.dumps(yaml_rows)
