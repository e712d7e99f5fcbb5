"""compile(): every problem found before any work, with the step, operator and column named."""

from __future__ import annotations

import pytest
import yaml

from dataflow.core.errors import CompileError
from dataflow.core.pipeline import Pipeline
from tests.core.conftest import dataflow_cli, write_jsonl

OPS = "tests.core.sample_ops"


def write_spec(tmp_path, steps, **extra):
    write_jsonl(tmp_path / "in.jsonl", [{"text": "a b c", "title": "t"}])
    spec = {"input": "in.jsonl", "output": "out.jsonl", "steps": steps, **extra}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_third_step_reading_an_unproduced_column_fails_compile_before_any_work(tmp_path):
    spec = write_spec(tmp_path, [
        {"op": f"{OPS}:Upper"},
        {"op": f"{OPS}:Checksum", "run": {"output_key": "sha"}},
        {"op": f"{OPS}:WordCount", "run": {"input_key": "shaa"}},
    ])
    proc = dataflow_cli("compile", str(spec))
    assert proc.returncode == 2, proc.stderr
    assert "step 3 (WordCount)" in proc.stderr
    assert "'shaa'" in proc.stderr and "Did you mean 'sha'" in proc.stderr
    # `run` refuses the same way and writes nothing.
    proc = dataflow_cli("run", str(spec))
    assert proc.returncode == 2
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / ".dataflow").exists()


def test_all_problems_are_reported_together(tmp_path):
    spec = write_spec(tmp_path, [
        {"op": "NoSuchOperatorAnywhere"},
        {"op": f"{OPS}:WordCount", "params": {"min_words": "lots"}},
        {"op": f"{OPS}:Upper", "run": {"inptu_key": "text"}},
    ])
    with pytest.raises(CompileError) as info:
        Pipeline.from_spec(spec).compile()
    steps = sorted(p.step for p in info.value.problems)
    assert steps == [1, 2, 3]
    text = str(info.value)
    assert "unknown operator 'NoSuchOperatorAnywhere'" in text
    assert "min_words" in text and "inptu_key" in text


def test_spec_structure_errors_name_the_key(tmp_path):
    spec = write_spec(tmp_path, [{"op": f"{OPS}:Upper"}], chunk_sise=5)
    with pytest.raises(CompileError, match="chunk_sise"):
        Pipeline.from_spec(spec)


def test_overwriting_a_column_silently_is_a_warning_but_explicit_binding_is_not(tmp_path, caplog):
    spec = write_spec(tmp_path, [{"op": f"{OPS}:Checksum", "run": {"output_key": "title"}}])
    plan = Pipeline.from_spec(spec).compile()
    assert plan.warnings == []  # named explicitly: intended
    spec = write_spec(tmp_path, [{"op": f"{OPS}:Checksum", "run": {"output_key": "sha"}},
                                 {"op": f"{OPS}:Checksum"}])
    plan = Pipeline.from_spec(spec).compile()
    assert [w.step for w in plan.warnings] == [2]
    assert "overwrites existing column 'sha'" in plan.warnings[0].message


def test_missing_optional_dependency_is_reported(tmp_path):
    from tests.core.sample_ops import Upper

    class NeedsMissing(Upper):
        requires = {"surely_not_installed_pkg": "surely-not-installed-pkg==1.0"}

    class P(Pipeline):
        def __init__(self):
            super().__init__(write_jsonl(tmp_path / "i.jsonl", [{"text": "x"}]))
            self.op = NeedsMissing()

        def forward(self):
            self.op.run(self.storage)

    with pytest.raises(CompileError, match="pip install surely-not-installed-pkg==1.0"):
        P().compile()


def test_missing_input_file_is_reported(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({"input": "nope.jsonl", "steps": [{"op": f"{OPS}:Upper"}]}))
    with pytest.raises(CompileError, match="input not found"):
        Pipeline.from_spec(spec).compile()


def test_a_column_first_seen_after_the_sampled_records_is_found(tmp_path):
    rows = [{"text": "a b"}] * 1500 + [{"text": "c d", "title": "late"}]
    write_jsonl(tmp_path / "in.jsonl", rows)
    spec = {"input": str(tmp_path / "in.jsonl"), "on_bad_input": "skip",
            "steps": [{"op": f"{OPS}:Upper", "run": {"input_key": "title"}}]}
    plan = Pipeline.from_spec(spec).compile()
    assert "title" in plan.required


def test_resources_mapping_sets_any_kind_and_unknown_kinds_are_compile_errors(tmp_path):
    """``resources:`` configures any registered kind by name; a kind nobody registered is reported by
    compile() (in the mapping, or declared by an operator), before any row is read."""
    from dataflow.core.errors import CompileError
    from dataflow.core.operator import Refiner
    from dataflow.core.registry import register_operator

    data = tmp_path / "in.jsonl"
    data.write_text('{"text": "a"}\n')
    spec = {"input": str(data), "steps": [{"op": "tests.core.sample_ops:Upper"}],
            "resources": {"sandbox": {"timeout": 3}}}
    pipe = Pipeline.from_spec(spec)
    assert pipe.resource_settings()["sandbox"] == {"timeout": 3}
    pipe.compile()
    with pytest.raises(CompileError, match="unknown resource kind 'warehouse'"):
        Pipeline.from_spec({**spec, "resources": {"warehouse": {}}}).compile()

    @register_operator(name="TestUsesWarehouse")
    class UsesWarehouse(Refiner):
        """Needs a resource kind nobody registered."""

        resources = ("warehouse",)

        def refine_text(self, text):
            return text

    with pytest.raises(CompileError, match=r"step 1 .*unknown resource kind 'warehouse'"):
        Pipeline.from_spec({**spec, "steps": [{"op": "TestUsesWarehouse"}]}).compile()


def test_path_params_and_resource_paths_are_relative_to_the_spec(tmp_path, monkeypatch):
    from dataflow.core.pipeline import Pipeline
    from dataflow.core.registry import OPERATORS

    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "in.jsonl").write_text('{"SQL": "SELECT 1", "db_id": "shop"}\n')
    spec = folder / "spec.yaml"
    spec.write_text("input: in.jsonl\nresources:\n  sql_database: {db_root: dbs, timeout_s: 3}\n"
                    "steps:\n  - op: SQLExecutabilityFilter\n    params: {db_root: dbs}\n"
                    "  - op: SQLExecutionFilter\n    params: {db_root: /abs/dbs}\n")
    monkeypatch.chdir(tmp_path)
    pipeline = Pipeline.from_spec(spec)
    ops = [s.op for s in pipeline.trace().steps]
    assert ops[0].db_root == str(folder / "dbs") and ops[1].db_root == "/abs/dbs"
    assert pipeline.resources["sql_database"] == {"db_root": str(folder / "dbs"), "timeout_s": 3}
    assert "db_root" in OPERATORS.get("SQLExecutabilityFilter").path_params
