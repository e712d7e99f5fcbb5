"""The contract every registered operator keeps, checked for each one by name.

* ``params``: its params schema is valid JSON Schema, and its defaults (with :attr:`example_params`
  where the constructor has required params) validate against it, as the params of a built instance do;
* ``declaration``: it declares at least one column binding and documents itself in its own docstring;
* ``fingerprint``: its step fingerprint is the same in another Python process (another hash seed), or the
  cache would never hit across runs;
* ``empty_frame``: it runs on zero rows without an error, leaving no rows, no rejects, and without asking
  the LLM serving or the embedder for anything;
* ``outputs``: what it writes there is what it declares (``compile()`` wires later steps by the
  declaration), and every column it declares is there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from dataflow.core.operator import Operator
from dataflow.core.plan import Step, fingerprint_steps
from dataflow.core.registry import OPERATORS
from dataflow.testing import run_operator

REPO = Path(__file__).resolve().parents[1]
# Every operator the package and installed plugins register; other test modules register a few of their
# own, which exist only in the process that collected them.
NAMES = [name for name, cls in OPERATORS.all().items() if cls.__module__.partition(".")[0] != "tests"]
CHECKS = ("params", "declaration", "fingerprint", "empty_frame", "outputs")

# (operator, check) -> why it fails today. Each entry is a strict xfail: once the operator is fixed its
# test fails until the entry is removed, so the set only shrinks. Empty: every operator keeps the contract.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


def cases(check: str) -> list:
    params = []
    for name in NAMES:
        why = KNOWN_FAILURES.get((name, check))
        marks = [pytest.mark.xfail(reason=why, strict=True)] if why else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


def build(name: str) -> Operator:
    cls = OPERATORS.get(name)
    return cls(**cls.example_params)


def step_fingerprints() -> dict[str, str]:
    """Every operator's fingerprint as the only step of a pipeline, with its default bindings (an error
    text where it cannot be built; that operator's own test shows the traceback)."""
    prints = {}
    for name in NAMES:
        try:
            prints[name] = fingerprint_of(build(name))
        except Exception as exc:  # noqa: BLE001
            prints[name] = f"error: {type(exc).__name__}: {exc}"
    return prints


def fingerprint_of(op: Operator) -> str:
    step = Step(index=1, op=op, bindings=op.resolve_bindings({}))
    fingerprint_steps([step], "input", {"llm": "serving", "embedder": "embedder"})
    return step.fingerprint


class Forbidden:
    """Stands in for the LLM serving or the embedder, and records any use: on zero rows there is nothing
    to ask them."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.used: list[str] = []

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        self.used.append(f"{self.what}.{name}")
        raise AssertionError(f"{self.what}.{name} used on an empty frame")


def test_every_registered_operator_is_covered():
    assert not OPERATORS.load_errors, OPERATORS.load_errors
    from_tests = {name for name, cls in OPERATORS.all().items() if cls.__module__.partition(".")[0] == "tests"}
    assert set(NAMES) == set(OPERATORS.names()) - from_tests and len(NAMES) >= 80
    for name, check in KNOWN_FAILURES:
        assert name in NAMES and check in CHECKS, f"stale entry {(name, check)}"


@pytest.mark.parametrize("name", cases("params"))
def test_params_schema_is_valid_and_defaults_validate(name):
    cls = OPERATORS.get(name)
    schema = cls.params_schema()
    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator_cls.check_schema(schema)
    validator = validator_cls(schema)
    defaults = {key: prop["default"] for key, prop in schema.get("properties", {}).items() if "default" in prop}
    given = {**defaults, **cls.example_params}
    missing = set(schema.get("required", ())) - set(given)
    assert not missing, f"required params without example_params: {sorted(missing)}"
    validator.validate(given)
    # What a spec would hold: the params of a built instance, through JSON.
    validator.validate(json.loads(json.dumps(build(name).params)))


@pytest.mark.parametrize("name", cases("declaration"))
def test_bindings_and_description_are_declared(name):
    cls = OPERATORS.get(name)
    roles = {col.role for col in cls.binding_specs().values()}
    assert roles & {"input", "output"}, "declares no input_* or output_* binding"
    own_doc = (cls.__dict__.get("__doc__") or "").strip()
    assert own_doc, "has no docstring of its own (its description)"
    assert OPERATORS.metadata(name)["summary"]


@pytest.fixture(scope="module")
def fingerprints_elsewhere() -> dict[str, str]:
    """All operators' fingerprints computed once in a separate process with another hash seed."""
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    code = ("import json; from tests.test_operator_contract import step_fingerprints; "
            "print(json.dumps(step_fingerprints()))")
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", cases("fingerprint"))
def test_fingerprint_is_the_same_in_another_process(name, fingerprints_elsewhere):
    assert fingerprint_of(build(name)) == fingerprints_elsewhere[name]


@pytest.mark.parametrize("name", cases("empty_frame"))
def test_runs_on_an_empty_frame(name):
    op = build(name)
    serving, embedder = Forbidden("serving"), Forbidden("embedder")
    result = run_operator(op, [], serving=serving, embedder=embedder)
    assert not result.errors, result.errors[0]
    assert serving.used + embedder.used == []
    assert result.kept == [] and result.dropped == [] and result.rejected == []


@pytest.mark.parametrize("name", cases("outputs"))
def test_writes_the_columns_it_declares(name):
    op = build(name)
    declared = op.output_columns(op.resolve_bindings({}))
    result = run_operator(op, [], serving=Forbidden("serving"), embedder=Forbidden("embedder"))
    assert set(result.written) <= set(declared), f"writes undeclared {sorted(set(result.written) - set(declared))}"
    assert set(declared) <= set(result.kept_frame.columns), "a declared output is missing"
