import json

import pytest

from dataflow.agent.session import SessionLog
from dataflow.agent.synthesis import TEMPLATE, check_operator, check_source, synthesize_operator
from dataflow.sandbox import Sandbox
from tests.operators.reasoning.scripted_serving import ScriptedServing

HEADER = "from dataflow.core.operator import Filter, InputColumn\n\n\n"
ROWS = [{"text": "call me at 555-123-4567"}, {"text": "no number here"}, {"text": "plain words"}]

PHONE_FILTER = HEADER + '''import re

PHONE = re.compile(r"\\d{3}[-. ]\\d{3}[-. ]\\d{4}")


class DropPhoneNumbers(Filter):
    """Drop rows whose text contains a phone number."""

    input_key = InputColumn("text", "str")

    def keep(self, batch, scores, ctx):
        texts = batch[ctx.cols.input_key].fillna("")
        return [PHONE.search(t) is None for t in texts], "contains a phone number"
'''


def filter_with(body: str, top: str = "") -> str:
    """A filter whose keep() runs ``body`` (one statement) before keeping every row."""
    return (HEADER + top + "\n\nclass Sneaky(Filter):\n    input_key = InputColumn('text', 'str')\n\n"
            "    def keep(self, batch, scores, ctx):\n        " + body + "\n        return [True] * len(batch)\n")


@pytest.fixture(scope="module")
def box():
    with Sandbox(workers=1) as sandbox:
        yield sandbox


def test_the_template_and_a_plain_operator_pass_the_static_check():
    assert check_source(TEMPLATE) == ("KeepLongLines", [])
    assert check_source(PHONE_FILTER) == ("DropPhoneNumbers", [])
    documented = PHONE_FILTER.replace("Drop rows whose", "Calls super().__init__(); drops rows whose")
    assert check_source(documented) == ("DropPhoneNumbers", [])


REFUSED = {
    "socket": ("import socket", "socket.create_connection(('example.com', 80))", "import of 'socket'"),
    "ssh key via open": ("", "open('/root/.ssh/id_rsa').read()", "'open' is not allowed"),
    "ssh key via pandas": ("import pandas as pd", "pd.read_csv('~/.ssh/id_rsa')", "'.read_csv'"),
    "ssh key via numpy": ("import numpy as np", "np.fromfile('/root/.ssh/id_rsa')", "'.fromfile'"),
    "subprocess": ("import subprocess", "subprocess.run(['ls'])", "import of 'subprocess'"),
    "os.system": ("from os import system", "system('ls')", "import from 'os'"),
    "dunder import": ("", "__import__('os').system('ls')", "'__import__' is not allowed"),
    "subclasses walk": ("", "().__class__.__bases__[0].__subclasses__()", "'__subclasses__'"),
    "builtins dict": ("", "__builtins__['eval']('1')", "the name '__builtins__'"),
    "getattr dunder": ("", "getattr(batch, '__class__')", "'getattr' is not allowed"),
    "getattr computed": ("", "getattr(batch, '_' + '_class_' + '_')", "'getattr' is not allowed"),
    "getattr alias": ("", "fetch = getattr", "'getattr' is not allowed"),
    "sys through typing": ("import typing", "typing.sys.modules", "'.sys'"),
    "os through a private name": ("import collections", "collections._sys", "private attribute '._sys'"),
    "pandas file object": ("import pandas as pd", "pd.HDFStore('/root/x.h5')", "'.HDFStore'"),
    "function globals": ("", "self.keep.__globals__", "'__globals__'"),
    "format string dunder": ("", "'{0.__class__}'.format(batch)", "a string naming a dunder"),
    "eval": ("", "eval('1 + 1')", "'eval' is not allowed"),
    "exec": ("", "exec('x = 1')", "'exec' is not allowed"),
    "compile": ("", "compile('1', 'f', 'eval')", "'compile' is not allowed"),
    "importlib": ("import importlib", "importlib.import_module('os')", "import of 'importlib'"),
    "ctypes": ("import ctypes", "ctypes.CDLL(None)", "import of 'ctypes'"),
    "sys": ("import sys", "sys.modules", "import of 'sys'"),
    "pandas eval": ("", "batch.eval('a + 1')", "'.eval'"),
    "code at import": ("import json\nSTOLEN = json.dumps([1])", "pass", "only imports, classes"),
    "relative import": ("from . import secrets", "pass", "import from '.'"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_escapes_are_refused_by_the_static_check_with_a_reason(case):
    top, body, why = REFUSED[case]
    _, reasons = check_source(filter_with(body, top))
    assert reasons, case
    assert any(why in r for r in reasons), reasons
    assert all(r.startswith("line ") for r in reasons)


def test_a_file_without_exactly_one_operator_class_is_refused():
    _, reasons = check_source("import re\n\nX = 1\n")
    assert "exactly one class" in reasons[-1]
    _, reasons = check_source("def broken(:\n")
    assert "syntax error" in reasons[0]


def test_an_operator_runs_on_the_real_base_classes_in_the_sandbox(box):
    tests = ["assert [r['text'] for r in OUT] == ['no number here', 'plain words']",
             "assert run_op([{'text': 'ring 555.000.1111'}]) == []"]
    assert check_operator(PHONE_FILTER, tests, ROWS, run={"input_key": "text"}, sandbox=box) == ("DropPhoneNumbers", [])
    _, reasons = check_operator(PHONE_FILTER, ["assert len(OUT) == 3"], ROWS, sandbox=box)
    assert reasons and reasons[0].startswith("sandbox test run: fail: test 1 failed: assert len(OUT) == 3")


def test_tests_are_checked_too(box):
    _, reasons = check_operator(PHONE_FILTER, ["import os; assert os.listdir('/')"], ROWS, sandbox=box)
    assert reasons and "not allowed in tests" in reasons[0]


def test_what_slips_past_the_static_check_is_contained_by_the_sandbox(box):
    busy = filter_with("while len(batch) >= 0: pass")
    assert check_source(busy)[1] == []
    _, reasons = check_operator(busy, ["assert OUT"], ROWS, sandbox=box, timeout=3)
    assert reasons and reasons[0].startswith("sandbox test run: timeout")
    greedy = filter_with("hoard = [0] * (10 ** 10)")
    assert check_source(greedy)[1] == []
    _, reasons = check_operator(greedy, ["assert OUT"], ROWS, sandbox=box, memory_mb=700)
    assert reasons and reasons[0].startswith("sandbox test run: memory")


def answer(code, tests):
    return json.dumps({"code": code, "tests": tests})


def test_synthesis_repairs_a_refused_file_and_writes_the_accepted_one(tmp_path, box):
    bad = "import os\n" + PHONE_FILTER
    answers = [answer(bad, ["assert OUT"]), answer(PHONE_FILTER, ["assert len(OUT) == 2"])]
    serving = ScriptedServing(lambda call: answers.pop(0))
    log = SessionLog(tmp_path / "s.agent.jsonl")
    made = synthesize_operator("drop rows with a phone number", "filter", {"input_key": "text"}, ROWS,
                               serving=serving, spec_dir=tmp_path, log=log, sandbox=box)
    assert made.ok and made.attempts == 2, made.reasons
    assert made.op == "ops/drop_phone_numbers.py:DropPhoneNumbers"
    assert (tmp_path / "ops" / "drop_phone_numbers.py").read_text() == PHONE_FILTER
    second_prompt = serving.calls[1].messages[-1]["content"]
    assert "import of 'os' is not allowed" in second_prompt
    verdicts = [e for e in log.events if e["kind"] == "decision" and e["what"] == "synthesis"]
    assert [v["ok"] for v in verdicts] == [False, True]


def test_synthesis_gives_up_with_the_reasons(tmp_path, box):
    serving = ScriptedServing(lambda call: "not json")
    made = synthesize_operator("anything", "filter", {"input_key": "text"}, ROWS, serving=serving,
                               spec_dir=tmp_path, max_attempts=2, sandbox=box)
    assert not made.ok and made.attempts == 2 and "not valid JSON" in made.reasons[0]
    assert not (tmp_path / "ops").exists()


def test_the_answer_schema_makes_a_small_grammar():
    # A bounded string (maxLength) becomes a nest of optional rules that llama.cpp refuses to compile.
    pytest.importorskip("llama_cpp")
    from dataflow.agent.spec_schema import schema_to_grammar
    from dataflow.agent.synthesis import ANSWER_SCHEMA

    assert len(schema_to_grammar(ANSWER_SCHEMA)) < 2000
