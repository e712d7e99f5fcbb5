
import pytest

from dataflow.agent.session import SessionLog
from dataflow.agent.synthesis import (
    check_operator,
    check_source,
    example_values,
    operator_file,
    read_function,
    synthesize_operator,
)
from dataflow.sandbox import Sandbox
from tests.agent.scripted import function_answer
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


def test_a_plain_operator_passes_the_static_check():
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


PHONE_FUNCTION = """import re

PHONE = re.compile(r"\\d{3}[-. ]\\d{3}[-. ]\\d{4}")


def keep_row(value):
    return PHONE.search(str(value or "")) is None"""


def test_the_answer_is_read_from_code_blocks_with_asserts_as_tests():
    answer = ("Here it is:\n```python\n" + PHONE_FUNCTION + "\n\nassert keep_row('x')\n```\nTests:\n```\n"
              "assert keep_row('555-123-4567') is False\n```")
    source, tests, reasons = read_function(answer, "filter")
    assert reasons == [] and source.split() == PHONE_FUNCTION.split()  # the asserts taken out
    assert tests == ["assert keep_row('x')", "assert keep_row('555-123-4567') is False"]
    assert read_function("```python\ndef other(v):\n    return v\n```", "filter")[2] == [
        "the answer defines no function keep_row(...) at the top level"]
    assert "does not parse" in read_function("```python\ndef keep_row(:\n```", "filter")[2][0]


@pytest.mark.parametrize("kind, function, run, rows, expected", [
    ("filter", PHONE_FUNCTION, {"input_key": "text"}, ROWS, [{"text": "no number here"}, {"text": "plain words"}]),
    ("generate", "def make_value(value):\n    return len(str(value).split())", {"input_key": "text", "output_key": "n"},
     ROWS[:1], [{"text": "call me at 555-123-4567", "n": 4}]),
    ("refine", "def rewrite(text):\n    return text.title()", {"input_key": "name"}, [{"name": "ada lovelace"}],
     [{"name": "Ada Lovelace"}]),
])
def test_the_function_is_wrapped_in_an_operator_of_its_kind(kind, function, run, rows, expected, box):
    source = operator_file("Written", kind, "what it is for", run, function)
    assert check_source(source) == ("Written", [])
    assert check_operator(source, [f"assert OUT == {expected!r}"], rows, run=run, sandbox=box) == ("Written", [])


def test_synthesis_repairs_a_refused_function_and_writes_the_accepted_operator(tmp_path, box):
    bad = "import os\n\n\n" + PHONE_FUNCTION
    answers = [function_answer(bad, ["assert keep_row('a')"]),
               function_answer(PHONE_FUNCTION, ["assert keep_row('ring 555.000.1111') is False"])]
    serving = ScriptedServing(lambda call: answers.pop(0))
    log = SessionLog(tmp_path / "s.agent.jsonl")
    made = synthesize_operator("drop rows with a phone number", "filter", {"input_key": "text"}, ROWS,
                               serving=serving, spec_dir=tmp_path, class_name="DropPhoneNumbers", log=log, sandbox=box)
    assert made.ok and made.attempts == 2, made.reasons
    assert made.op == "ops/drop_phone_numbers.py:DropPhoneNumbers"
    written = (tmp_path / "ops" / "drop_phone_numbers.py").read_text()
    assert written == operator_file("DropPhoneNumbers", "filter", "drop rows with a phone number",
                                    {"input_key": "text"}, PHONE_FUNCTION).rstrip() + "\n"
    assert '"call me at 555-123-4567"' in serving.calls[0].messages[-1]["content"]  # the column's values
    assert "import of 'os' is not allowed" in serving.calls[1].messages[-1]["content"]
    verdicts = [e for e in log.events if e["kind"] == "decision" and e["what"] == "synthesis"]
    assert [v["ok"] for v in verdicts] == [False, True]


def test_a_function_whose_own_tests_fail_is_refused(tmp_path, box):
    wrong = function_answer("def keep_row(value):\n    return True", ["assert keep_row('555-123-4567') is False"])
    made = synthesize_operator("drop phones", "filter", {"input_key": "text"}, ROWS, serving=ScriptedServing(
        lambda call: wrong), spec_dir=tmp_path, max_attempts=1, sandbox=box)
    assert not made.ok and "sandbox test run: fail" in made.reasons[0]


def test_synthesis_gives_up_with_the_reasons(tmp_path, box):
    serving = ScriptedServing(lambda call: "I cannot write that.")
    made = synthesize_operator("anything", "filter", {"input_key": "text"}, ROWS, serving=serving,
                               spec_dir=tmp_path, max_attempts=2, sandbox=box)
    assert not made.ok and made.attempts == 2 and "no Python code block" in made.reasons[0]
    assert not (tmp_path / "ops").exists()


def test_the_prompt_shows_distinct_whole_values_and_marks_a_cut_one():
    rows = [{"text": "x" * 500}, {"text": "two. sentences."}, {"text": "two. sentences."}, {"text": "one."}]
    assert example_values(rows, "text") == ['"' + "x" * 299 + " ... (cut here)", '"two. sentences."', '"one."']


def test_a_value_the_function_cannot_take_is_that_rows_reject(box):
    source = operator_file("PositivePrice", "filter", "keep positive prices", {"input_key": "price"},
                           "def keep_row(value):\n    return float(value) > 0")
    rows = [{"price": 12.5}, {"price": "3.99"}, {"price": -4}, {"price": "free"}]
    assert check_operator(source, ["assert [r['price'] for r in OUT] == [12.5, '3.99']"], rows,
                          run={"input_key": "price"}, sandbox=box) == ("PositivePrice", [])
