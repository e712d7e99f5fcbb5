"""Operator synthesis: when no registered operator does what a request needs, the model writes one.

The planner asks for a new operator with a kind (``filter``, ``generate`` or ``refine``), a class name,
what it must do and its bindings. :func:`synthesize_operator` asks the model for one plain Python
function of one value of the bound column (:data:`FUNCTIONS`: ``keep_row(value)``, ``make_value(value)``
or ``rewrite(text)``) and a few ``assert`` tests of it, as Markdown code blocks (a 1.5B model writes
code far better as code than as a JSON string, where it garbles escapes). :func:`operator_file` wraps
the function in a module with one class on the operator base classes (the plumbing is ours, so a small
model cannot get the batch API wrong), and the file is accepted only when:

(a) :func:`check_source` finds nothing: imports only from :data:`ALLOWED_IMPORTS`; no call or mention of
    ``open``, ``exec``, ``eval``, ``compile``, ``__import__``, ``globals``, ``vars``, ... (:data:`FORBIDDEN_NAMES`);
    no name or attribute with a dunder (``__class__``, ``__subclasses__``, ``__builtins__``, ``__globals__``;
    only ``__init__`` is allowed, for ``super().__init__()``); no ``getattr``/``setattr``/``delattr``; no
    private attribute but ``self._name``; no file, pickle or eval entry points of pandas and numpy, and no
    module an allowed module exposes as an attribute (``typing.sys``) (:data:`FORBIDDEN_ATTRIBUTES`); at the top level only imports, the class, functions and constants
    (nothing runs on import but ``re.compile`` of a literal); exactly one class derived from ``Filter``, ``Generator`` or ``Refiner``.
    Each violation is one reason, with its line.
(b) :func:`verify`: the operator runs, through the real base classes, on the sample rows and gives what
    its kind promises, and more of the model's tests hold than fail, in :mod:`dataflow.sandbox` (each run
    a separate process with time and memory limits, no network, a throwaway directory, no filesystem
    outside it). The code never runs in the agent's process. The sandbox cannot read the repository, so the few modules the base classes need
    (:data:`BASE_MODULES`) are copied into the job's directory as text.

Then the file is written to ``<spec folder>/ops/<name>.py`` and the step refers to it as
``ops/<name>.py:ClassName`` (the spec loader imports a class from a file relative to the spec). The
agent's dry run of such a spec happens in the sandbox too (:func:`dataflow.agent.dry_run.dry_run` with
``sandboxed=True``), so a spec with a new operator has no LLM step (no model is reachable there). Running
the spec with ``dataflow run`` executes that file in the pipeline's workers like any user operator: the
user accepts it by running the spec, which the report says.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Modules a synthesized operator may import (a module, or a submodule of one).
ALLOWED_IMPORTS = frozenset({
    "re", "math", "string", "collections", "itertools", "functools", "unicodedata", "json", "statistics",
    "datetime", "typing", "__future__", "numpy", "pandas", "dataflow.core.operator", "dataflow.core.registry",
})
#: Names a synthesized operator may neither call nor mention.
FORBIDDEN_NAMES = frozenset({
    "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars", "breakpoint", "input",
    "memoryview", "help", "exit", "quit", "copyright", "credits", "license", "getattr", "setattr", "delattr",
})
#: Attributes that reach files, pickles or an expression evaluator through pandas or numpy.
FORBIDDEN_ATTRIBUTES = frozenset({
    "eval", "query", "load", "loads", "save", "savez", "savez_compressed", "fromfile", "tofile", "loadtxt",
    "savetxt", "genfromtxt", "memmap", "DataSource", "ctypeslib", "to_csv", "to_json", "to_pickle",
    "to_parquet", "to_excel", "to_sql", "to_hdf", "to_feather", "to_html", "to_latex", "to_clipboard",
    "to_markdown", "to_stata", "to_orc", "to_xml", "system", "popen", "f_globals", "f_locals", "f_back",
    "gi_frame", "cr_frame", "tb_frame", "func_globals", "ExcelFile", "ExcelWriter", "HDFStore", "io", "lib",
    "f2py", "distutils", "testing", "show_versions", "compat",
    # modules that allowed modules import and expose as attributes (typing.sys, statistics.sys, ...)
    "sys", "os", "subprocess", "builtins", "importlib", "socket", "ctypes", "shutil", "pathlib", "Path", "signal",
    "multiprocessing", "threading", "platform", "tempfile", "glob",
})
KINDS = {"filter": "Filter", "generate": "Generator", "refine": "Refiner"}
BASES = frozenset({"Filter", "Generator", "Refiner", "Evaluator"})
#: Modules copied into the sandbox job so the operator runs on the real base classes.
BASE_MODULES = ("__init__.py", "core/__init__.py", "core/bindings.py", "core/errors.py", "core/operator.py",
                "core/registry.py", "core/resources.py", "core/context.py")
MAX_SOURCE_CHARS = 6000

@dataclass
class Synthesized:
    """The outcome of :func:`synthesize_operator`: ``ok`` with the step's ``op`` reference, or the reasons."""

    ok: bool
    op: str | None = None
    class_name: str | None = None
    path: str | None = None
    source: str = ""
    tests: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    attempts: int = 0


# --------------------------------------------------------------------------------------- (a) static check
def check_source(source: str) -> tuple[str | None, list[str]]:
    """The name of the operator class ``source`` defines, and every reason it is refused (none: accepted)."""
    if len(source) > MAX_SOURCE_CHARS:
        return None, [f"the file is longer than {MAX_SOURCE_CHARS} characters"]
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return None, [f"line {exc.lineno}: syntax error: {exc.msg}"]
    reasons: list[str] = []

    def refuse(node: ast.AST, why: str) -> None:
        reasons.append(f"line {getattr(node, 'lineno', '?')}: {why}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not _allowed_module(alias.name):
                    refuse(node, f"import of '{alias.name}' is not allowed")
        elif isinstance(node, ast.ImportFrom):
            if node.level or not _allowed_module(node.module or ""):
                refuse(node, f"import from '{'.' * node.level}{node.module or ''}' is not allowed")
        elif isinstance(node, ast.Name):
            if node.id in FORBIDDEN_NAMES:
                refuse(node, f"'{node.id}' is not allowed")
            elif _dunder(node.id):
                refuse(node, f"the name '{node.id}' is not allowed")
        elif isinstance(node, ast.Attribute):
            if _dunder(node.attr) and node.attr != "__init__":
                refuse(node, f"access to the attribute '{node.attr}' is not allowed")
            elif node.attr in FORBIDDEN_ATTRIBUTES or node.attr.startswith("read_"):
                refuse(node, f"'.{node.attr}' (files, modules, processes or evaluation) is not allowed")
            elif node.attr.startswith("_") and node.attr != "__init__" and not (
                    isinstance(node.value, ast.Name) and node.value.id == "self"):
                refuse(node, f"the private attribute '.{node.attr}' is not allowed (only self._name)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(
                r"__(?!init__)\w+__", node.value):
            refuse(node, "a string naming a dunder attribute is not allowed")
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            refuse(node, "global and nonlocal are not allowed")
    for node in tree.body:
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if not (docstring or isinstance(node, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef))
                or (isinstance(node, (ast.Assign, ast.AnnAssign)) and _literal(node.value))):
            refuse(node, "only imports, classes, functions and constants may be at the top level")
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)
               and any(isinstance(b, ast.Name) and b.id in BASES for b in n.bases)]
    if len(classes) != 1:
        reasons.append(f"the file must define exactly one class derived from one of {', '.join(sorted(BASES))} "
                       f"(found {len(classes)})")
        return None, reasons
    return classes[0].name, reasons


def _allowed_module(name: str) -> bool:
    return any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED_IMPORTS)


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _literal(node: ast.AST | None) -> bool:
    """A constant, or a constant pattern compiled once (``re.compile("...")``, ``frozenset({...})``)."""
    if (isinstance(node, ast.Call) and not node.keywords and all(_literal(a) for a in node.args) and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == "compile"
             and isinstance(node.func.value, ast.Name) and node.func.value.id == "re")
            or (isinstance(node.func, ast.Name) and node.func.id in {"frozenset", "set", "tuple"}))):
        return True
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "re":
        return True  # re.IGNORECASE and the like
    if isinstance(node, ast.BinOp):
        return _literal(node.left) and _literal(node.right)
    try:
        ast.literal_eval(node) if node is not None else None
        return True
    except ValueError:
        return False


# ------------------------------------------------------------------------------------------- (b) sandbox
_HARNESS = '''
import json as _json, os as _os, sys as _sys, types as _types
for _rel, _text in _json.loads(_BASE).items():
    _path = _os.path.join(_os.getcwd(), "dataflow", _rel)
    _os.makedirs(_os.path.dirname(_path), exist_ok=True)
    with open(_path, "w", encoding="utf-8") as _fh:
        _fh.write(_text)
_sys.path.insert(0, _os.getcwd())
import pandas as pd
from dataflow.core.context import StepContext as _StepContext
_module = _types.ModuleType("synthesized_operator")
exec(compile(_SOURCE, "synthesized_operator.py", "exec"), _module.__dict__)
globals().update({_k: _v for _k, _v in vars(_module).items() if not _k.startswith("_")})
Op = getattr(_module, _CLASS)
ROWS = _json.loads(_ROWS)
BINDINGS = _json.loads(_BINDINGS)


def run_op(rows, params=None, **bindings):
    """The rows the operator outputs for ``rows`` (kept rows for a filter, with any new columns)."""
    op = Op(**(params or {}))
    cols = op.resolve_bindings({**BINDINGS, **bindings})
    op.setup()
    result = op.process(pd.DataFrame(list(rows)), _StepContext(step_index=1, op_name=_CLASS, cols=cols, op=op))
    return _json.loads(result.frame.to_json(orient="records", force_ascii=False))


OUT = run_op(ROWS)
'''


def test_in_sandbox(source: str, class_name: str, tests: list[str], rows: list[dict[str, Any]], *,
                    run: dict[str, Any] | None = None, sandbox: Any = None, timeout: float = 20.0,
                    memory_mb: int = 1024) -> tuple[str, str]:
    """Run the operator on ``rows`` and ``tests`` in the sandbox: (status, log); status ``pass`` or not.

    The tests see the module's own names (the model's function), ``Op`` (the class), ``ROWS`` (the sample
    rows), ``OUT`` (what the operator made of them with the step's bindings ``run``) and
    ``run_op(rows, params=None, **bindings)``."""
    from dataflow.sandbox import Limits, Sandbox

    root = Path(__file__).resolve().parents[1]
    base = {rel: (root / rel).read_text(encoding="utf-8") for rel in BASE_MODULES}
    code = "\n".join([f"_BASE = {json.dumps(base)!r}", f"_SOURCE = {source!r}", f"_CLASS = {class_name!r}",
                      f"_ROWS = {json.dumps(rows, default=str)!r}", f"_BINDINGS = {json.dumps(run or {})!r}",
                      _HARNESS])
    limits = Limits(timeout=timeout, memory_mb=memory_mb)
    if sandbox is not None:
        ex = sandbox.run(code, tests=list(tests), limits=limits)
    else:
        with Sandbox(limits, workers=1) as box:
            ex = box.run(code, tests=list(tests))
    return ex.status, ex.log


def check_operator(source: str, tests: list[str], rows: list[dict[str, Any]], *, run: dict[str, Any] | None = None,
                   sandbox: Any = None, timeout: float = 20.0, memory_mb: int = 1024) -> tuple[str | None, list[str]]:
    """(a) then (b): the class name and the reasons the file is refused (none: accepted)."""
    class_name, reasons = check_source(source)
    if reasons or class_name is None:
        return class_name, [f"static check: {r}" for r in reasons]
    for test in tests:
        _, test_reasons = _check_test(test)
        reasons += test_reasons
    if reasons:
        return class_name, reasons
    status, log = test_in_sandbox(source, class_name, tests, rows, run=run, sandbox=sandbox, timeout=timeout,
                                  memory_mb=memory_mb)
    if status != "pass":
        return class_name, [f"sandbox test run: {status}: {log.strip()[-600:]}"]
    return class_name, []


def _check_test(test: str) -> tuple[None, list[str]]:
    """Tests run next to the operator in the sandbox: the same rules, except the top-level ones."""
    try:
        tree = ast.parse(test)
    except SyntaxError as exc:
        return None, [f"test {test[:60]!r}: syntax error: {exc.msg}"]
    bad = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
           or (isinstance(n, ast.Name) and (n.id in FORBIDDEN_NAMES or _dunder(n.id)))
           or (isinstance(n, ast.Attribute) and _dunder(n.attr))]
    return None, [f"test {test[:60]!r}: imports, dunders and {', '.join(sorted(FORBIDDEN_NAMES)[:4])}... are not "
                  "allowed in tests"] if bad else []


# ---------------------------------------------------------------------------------------- the model's part
#: What the model writes for each kind: one function of one value of the bound input column.
FUNCTIONS = {
    "filter": ("keep_row", "value", "returns True to keep the row, False to drop it"),
    "generate": ("make_value", "value", "returns the new column's value for the row"),
    "refine": ("rewrite", "text", "returns the rewritten text (called for text values only)"),
}
_FENCE = re.compile(r"```[ \t]*(?:python|py)?[ \t]*\n(.*?)```", re.S)


def synthesis_prompt(describe: str, kind: str, run: dict[str, Any], rows: list[dict[str, Any]],
                     findings: list[str] = ()) -> str:
    function, arg, returns = FUNCTIONS[kind]
    column = run.get("input_key") or "text"
    values = "\n".join(f"  {v}" for v in example_values(rows, column))
    earlier = "".join(f"\nAn earlier attempt was refused: {f}" for f in findings)
    return (
        f"Write a Python function for a data pipeline. What it is for: {describe}\n\n"
        f"def {function}({arg}):  # {returns}\n\n"
        f"`{arg}` is the value of one row's column \"{column}\"; values in the data:\n{values}\n{earlier}\n"
        "Use only the modules re, math, string, collections, itertools, functools, unicodedata, json, statistics "
        "and datetime; no files, network or processes; no names with double underscores.\n"
        "Answer with two Python code blocks: first the function (with its imports), then 2 to 4 assert lines "
        f"testing it on example values, e.g. assert {function}(...) == ..."
    )


def example_values(rows: list[dict[str, Any]], column: str, n: int = 6, limit: int = 300) -> list[str]:
    """The first ``n`` distinct values of ``column`` in ``rows``, as JSON, whole where they fit in ``limit``
    characters (else cut and marked): a model writes its tests on the values it sees, and a value cut
    short without a mark made it expect the wrong counts of the whole. (The data's own order, not the
    shortest first: the shortest were all of one kind in a measured case, and the tests went wrong.)"""
    shown = list(dict.fromkeys(json.dumps(r.get(column), ensure_ascii=False, default=str) for r in rows))[:n]
    return [v if len(v) <= limit else v[:limit] + " ... (cut here)" for v in shown]


def read_function(text: str, kind: str) -> tuple[str, list[str], list[str]]:
    """The model's answer -> (the function's module source, its assert tests, reasons it is unusable).

    The answer is Markdown with code blocks (a plain code answer counts as one block): top-level ``assert``
    statements become tests, wherever they are; the rest is the function's module source."""
    function = FUNCTIONS[kind][0]
    blocks = _FENCE.findall(text or "")
    code, tests = [], []
    for block in blocks or [text or ""]:
        try:
            tree = ast.parse(block)
        except SyntaxError as exc:
            return "", [], [f"a code block does not parse: line {exc.lineno}: {exc.msg}" if blocks else
                            "the answer has no Python code block"]
        for node in tree.body:
            (tests if isinstance(node, ast.Assert) else code).append(_node_source(block, node))
    source = "\n\n".join(code).strip()
    if not any(isinstance(n, ast.FunctionDef) and n.name == function for n in ast.parse(source).body):
        return "", [], [f"the answer defines no function {function}(...) at the top level"]
    return source, tests[:5], []


def operator_file(class_name: str, kind: str, describe: str, run: dict[str, Any], function_source: str) -> str:
    """The operator module around the model's function: a class on the operator base classes that applies
    it to the bound input column. The model writes the logic; the plumbing is ours, so it is right."""
    function = FUNCTIONS[kind][0]
    tree = ast.parse(function_source)
    imports = [_node_source(function_source, n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    body = [_node_source(function_source, n) for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
    column = run.get("input_key") or "text"
    doc = " ".join(describe.split()).replace('"', "'")
    if kind == "filter":
        names, extra = "Filter, InputColumn, Reject", ["import numpy as np"]
        members = (f"    input_key = InputColumn({column!r}, \"any\", nullable=True)\n\n"
                   "    def score(self, batch, ctx):\n"
                   "        return [_apply(v) for v in batch[ctx.cols.input_key]]\n\n"
                   "    def keep(self, batch, scores, ctx):\n"
                   f"        return np.asarray([bool(s) for s in scores], dtype=bool), {doc[:120]!r}\n")
    elif kind == "generate":
        names, extra = "Generator, InputColumn, OutputColumn, Reject", []
        members = (f"    input_key = InputColumn({column!r}, \"any\", nullable=True)\n"
                   f"    output_key = OutputColumn({run.get('output_key') or 'value'!r})\n\n"
                   "    def generate(self, batch, ctx):\n"
                   "        return {ctx.cols.output_key: [_apply(v) for v in batch[ctx.cols.input_key]]}\n")
    else:
        names, extra = "InputColumn, Refiner, Reject", []
        members = (f"    input_key = InputColumn({column!r}, \"str\", nullable=True)\n\n"
                   "    def refine_text(self, text):\n        return _apply(text)\n")
    # One value the model's function cannot take is that row's reject, with the error, not the run's end.
    guard = (f"def _apply(value):\n    try:\n        return {function}(value)\n"
             f"    except Exception as exc:\n        return Reject(f\"{function} failed: {{exc!r}}\")")
    head = "\n".join(dict.fromkeys([*imports, *extra]))
    return (f'"""{doc}\n\nWritten by the DataFlow agent: the function {function} is the model\'s; it passed the '
            'static check and its tests in the sandbox."""\n\n'
            + (head + "\n\n" if head else "") + f"from dataflow.core.operator import {names}\n\n\n"
            + "\n\n\n".join([*body, guard]) + "\n\n\n"
            + f'class {class_name}({KINDS[kind]}):\n    """{doc}"""\n\n' + members)


def _node_source(source: str, node: ast.stmt) -> str:
    lines = source.splitlines()
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return "\n".join(lines[first - 1:node.end_lineno])


def synthesize_operator(describe: str, kind: str, run: dict[str, Any], rows: list[dict[str, Any]], *,
                        serving: Any, spec_dir: str | Path, class_name: str = "NewOperator", log: Any = None,
                        max_attempts: int = 2, sandbox: Any = None, max_tokens: int = 700,
                        findings: list[str] = ()) -> Synthesized:
    """Ask the model for the function doing ``describe``; wrap, check, test and write it (module docstring)."""
    from dataflow.core.llm_types import LLMRequest

    kind = kind if kind in FUNCTIONS else "filter"
    messages = [{"role": "user", "content": synthesis_prompt(describe, kind, run, rows, list(findings))}]
    reasons: list[str] = []
    for attempt in range(1, max_attempts + 1):
        call = LLMRequest(messages=messages, max_tokens=max_tokens,
                          system="You write small, correct, safe Python functions.")
        number = log.prompt(call.chat_messages(), None, purpose="synthesis") if log else 0
        result = serving.generate([call])[0]
        if log:
            log.answer(number, result.text, result.error)
        source, tests = "", []
        if result.error:
            reasons = [f"the answer was not usable: {result.error}"]
        else:
            function, tests, reasons = read_function(result.text, kind)
            if not reasons:
                source = operator_file(class_name, kind, describe, run, function)
                reasons, failed = verify(source, class_name, tests, _kind_test(kind, run), rows, run=run,
                                         sandbox=sandbox)
                if log and failed:
                    log.decision("synthesis tests", attempt=attempt, failed=failed, passed=len(tests) - len(failed))
        if log:
            log.decision("synthesis", attempt=attempt, describe=describe, class_name=class_name, ok=not reasons,
                         reasons=reasons, source=source)
        if not reasons:
            path = Path(spec_dir) / "ops" / f"{_snake(class_name)}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source.rstrip() + "\n", encoding="utf-8")
            return Synthesized(True, f"ops/{path.name}:{class_name}", class_name, str(path), source, tests,
                               attempts=attempt)
        messages = [*messages[:1], {"role": "assistant", "content": result.text or ""},
                    {"role": "user", "content": "That function was refused:\n" + "\n".join(f"- {r}" for r in reasons)
                     + "\nWrite a corrected one, again as two code blocks."}]
    return Synthesized(False, reasons=reasons, attempts=max_attempts)


def verify(source: str, class_name: str, tests: list[str], kind_test: str, rows: list[dict[str, Any]], *,
           run: dict[str, Any], sandbox: Any = None) -> tuple[list[str], list[str]]:
    """(a) then (b) for a synthesized file: (reasons it is refused, the model's tests that failed).

    The operator must pass the static check and ``kind_test`` (it runs on every sample row and gives what
    its kind promises); of the model's own tests, more must pass than fail, and at least one. A 1.5B
    model often gets a test's expected value wrong while its function is right (it expected "strip the
    text" to delete every space): one wrong test does not sink a function its other tests confirm."""
    _, reasons = check_operator(source, [kind_test], rows, run=run, sandbox=sandbox)
    if reasons:
        return reasons, []
    for test in tests:
        reasons += _check_test(test)[1]
    if reasons:
        return reasons, []
    failed, logs = [], []
    for test in tests:
        status, log = test_in_sandbox(source, class_name, [test], rows, run=run, sandbox=sandbox)
        if status != "pass":
            failed.append(test)
            logs.append(f"sandbox test run: {status}: {log.strip()[-300:]}")
    if not tests:
        return ["the answer has no assert tests of the function"], []
    if len(failed) * 2 >= len(tests):
        return logs, failed
    return [], failed


def _kind_test(kind: str, run: dict[str, Any]) -> str:
    """The test every synthesized operator passes besides the model's: it runs on every sample row and
    gives what its kind promises."""
    if kind == "generate":
        return f"assert len(OUT) == len(ROWS) and all({run.get('output_key') or 'value'!r} in r for r in OUT)"
    if kind == "refine":
        return "assert len(OUT) == len(ROWS)"
    return "assert isinstance(OUT, list)"


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
