"""The agent task suite: plain-language requests over small inputs, each with a checker of the output.

Each :class:`Task` names its folder here (``<name>/input.jsonl``), its domain, the request, whether no
registered operator does it (``new_op``: the agent must write one), a checker ``check(out, inp) ->
None | reason`` over the output rows (and the input rows, to say what should have survived), and a
reference answer: the steps a correct plan has (``reference``) and, for a new operator, a right answer
to the synthesis question (``reference_function``; ``reference_op`` is the file the agent makes of it). The references are not shown to the agent: tests use them to prove that each
checker passes on a right pipeline and fails on the raw input, and to script a perfect model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
Rows = list[dict[str, Any]]


@dataclass
class Task:
    name: str
    domain: str
    request: str
    check: Callable[[Rows, Rows], str | None]
    reference: list[dict[str, Any]]
    new_op: bool = False
    reference_function: str = ""  # a right answer to the synthesis question, for new_op tasks
    new_kind: str = "filter"
    new_run: dict[str, Any] = field(default_factory=dict)

    @property
    def new_name(self) -> str:
        return self.reference[0]["op"].rpartition(":")[2] if self.new_op else ""

    @property
    def reference_op(self) -> str:
        """The source of a right operator file, for new_op tasks."""
        from dataflow.agent.synthesis import operator_file

        if not self.new_op:
            return ""
        return operator_file(self.new_name, self.new_kind, self.request, self.new_run, self.reference_function)

    @property
    def input(self) -> Path:
        return ROOT / self.name / "input.jsonl"

    def rows(self) -> Rows:
        return [json.loads(line) for line in self.input.read_text(encoding="utf-8").splitlines() if line.strip()]


def step(op: str, run: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
    return {"op": op, "params": params, "run": run or {}}


# ------------------------------------------------------------------------------------------- checkers
def words(text: Any) -> int:
    return len(str(text or "").split())


def jaccard(a: str, b: str) -> float:
    x, y = set(a.lower().split()), set(b.lower().split())
    return len(x & y) / max(1, len(x | y))


ENGLISH = {"the", "and", "of", "to", "in", "a", "is", "on", "with", "for", "after", "when"}


def is_english(text: str) -> bool:
    tokens = re.findall(r"[a-zà-ÿ']+", text.lower())
    return sum(t in ENGLISH for t in tokens) >= max(1, len(tokens) // 10)


def all_of(*checks: Callable[[Rows, Rows], str | None]) -> Callable[[Rows, Rows], str | None]:
    def check(out: Rows, inp: Rows) -> str | None:
        for c in checks:
            why = c(out, inp)
            if why:
                return why
        return None
    return check


def count_is(expected: Callable[[Rows], int]) -> Callable[[Rows, Rows], str | None]:
    def check(out: Rows, inp: Rows) -> str | None:
        want = expected(inp)
        return None if len(out) == want else f"{len(out)} rows out, expected {want}"
    return check


def every(pred: Callable[[dict[str, Any]], bool], what: str, column: str = "text") -> Callable[[Rows, Rows], str | None]:
    def check(out: Rows, inp: Rows) -> str | None:
        if not out:
            return "no rows out"
        bad = [r for r in out if not pred(r)]
        return f"{len(bad)} row(s) {what}: {str(bad[0].get(column))[:80]!r}" if bad else None
    return check


def no_near_duplicates(out: Rows, inp: Rows) -> str | None:
    texts = [r["text"] for r in out]
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if jaccard(a, b) >= 0.8:
                return f"near-duplicates kept: {a[:50]!r} / {b[:50]!r}"
    return None


def new_column(values: Callable[[dict[str, Any]], Any], name: str | None = None) -> Callable[[Rows, Rows], str | None]:
    """Every input row is there, with a column (``name``, or any new one) equal to ``values(row)``."""
    def check(out: Rows, inp: Rows) -> str | None:
        if len(out) != len(inp):
            return f"{len(out)} rows out of {len(inp)}: no row should be dropped"
        added = [name] if name else sorted(set().union(*(r.keys() for r in out)) - set(inp[0]))
        for column in added:
            if all(_same(r.get(column), values(src)) for r, src in zip(out, inp)):
                return None
        return f"no output column ({', '.join(added) or 'none added'}) holds the expected values"
    return check


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, float) or isinstance(got, float):
        try:
            return abs(float(got) - float(want)) < 1e-6
        except (TypeError, ValueError):
            return False
    return got == want


PHONE = re.compile(r"\b\d{3}[-. ]\d{3}[-. ]\d{4}\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
VALID_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")


def positive_number(value: Any) -> bool:
    try:
        return not isinstance(value, bool) and float(value) > 0
    except (TypeError, ValueError):
        return False


def parses(code: str) -> bool:
    import ast

    try:
        ast.parse(code)
        return True
    except SyntaxError:
        return False


def sql_parses(sql: str) -> bool:
    import sqlglot

    try:
        parsed = sqlglot.parse(sql, read="sqlite")
        return len(parsed) == 1 and parsed[0] is not None and parsed[0].key == "select"
    except Exception:
        return False


def normal(text: str) -> str:
    text = re.sub(r"\b(a|an|the)\b", " ", re.sub(r"[^\w\s]", "", str(text).lower()))
    return " ".join(text.split())


def token_f1(pred: str, golds: list[str]) -> float:
    from collections import Counter

    best = 0.0
    for gold in golds:
        p, g = normal(pred).split(), normal(gold).split()
        common = sum((Counter(p) & Counter(g)).values())
        if common:
            precision, recall = common / len(p), common / len(g)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


# ------------------------------------------------------------------------ reference new operators' logic
# What a right answer to the synthesis question is (a function of one value of the bound column); the
# operator file around it is made as the agent makes it (dataflow.agent.synthesis.operator_file).
FN_PHONE = '''import re

PHONE = re.compile(r"\\b\\d{3}[-. ]\\d{3}[-. ]\\d{4}\\b")


def keep_row(value):
    return PHONE.search(str(value or "")) is None
'''

FN_PRICE = '''def keep_row(value):
    try:
        return not isinstance(value, bool) and float(value) > 0
    except (TypeError, ValueError):
        return False
'''

FN_SENTENCES = '''import re

END = re.compile(r"[.!?]+(?=\\s|$)")


def make_value(value):
    return len(END.findall(str(value or "")))
'''

FN_QUESTION = '''def keep_row(value):
    return str(value or "").rstrip().endswith("?")
'''

FN_EMAIL = '''import re

VALID = re.compile(r"^[\\w.+-]+@[\\w-]+(\\.[\\w-]+)+$")


def keep_row(value):
    return VALID.match(str(value or "")) is not None
'''

FN_TITLE = '''def rewrite(text):
    return text.title()
'''


def new_op_step(name: str, run: dict[str, Any]) -> dict[str, Any]:
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return {"op": f"ops/{snake}.py:{name}", "params": {}, "run": run}


TASKS: list[Task] = [
    # ---------------------------------------------------------------------------------- general text
    Task("en_long_dedup", "general_text",
         "keep English documents of at least 50 words and remove near-duplicates",
         all_of(every(lambda r: is_english(r["text"]), "not English"), every(lambda r: words(r["text"]) >= 50,
                "under 50 words"), no_near_duplicates, lambda o, i: None if len(o) >= 6 else "too few rows kept"),
         [step("LanguageFilter", {"input_key": "text"}, allowed_languages=["en"]),
          step("WordNumberFilter", {"input_key": "text"}, min_words=50),
          step("MinHashDeduplicateFilter", {"input_key": "text"}, threshold=0.7, tokenize="word", ngram=1)]),
    Task("min_words", "general_text", "keep texts of at least 20 words",
         all_of(every(lambda r: words(r["text"]) >= 20, "under 20 words"),
                count_is(lambda inp: sum(words(r["text"]) >= 20 for r in inp))),
         [step("WordNumberFilter", {"input_key": "text"}, min_words=20)]),
    Task("remove_urls", "general_text", "remove URLs from the text",
         all_of(every(lambda r: not re.search(r"https?://|www\.", r["text"]), "still has a URL"),
                count_is(len)),
         [step("RemoveUrlRefiner", {"input_key": "text"})]),
    Task("exact_dedup", "general_text", "remove exact duplicate texts",
         all_of(lambda o, i: None if len({r["text"] for r in o}) == len(o) else "duplicates left",
                count_is(lambda inp: len({r["text"] for r in inp}))),
         [step("ExactDeduplicateFilter", {"input_key": "text"})]),
    Task("strip_html", "general_text", "remove HTML tags from the text",
         all_of(every(lambda r: not re.search(r"</?\w+[^>]*>", r["text"]), "still has tags"), count_is(len)),
         [step("RemoveHtmlTagsRefiner", {"input_key": "text"})]),
    Task("drop_empty", "general_text", "drop rows whose text is empty or blank",
         all_of(every(lambda r: bool(str(r["text"]).strip()), "empty"),
                count_is(lambda inp: sum(bool(r["text"].strip()) for r in inp))),
         [step("ContentNullFilter", {"input_key": "text"})]),
    Task("lowercase", "general_text", "lowercase all the text",
         all_of(every(lambda r: r["text"] == r["text"].lower(), "not lowercase"), count_is(len)),
         [step("LowercaseRefiner", {"input_key": "text"})]),
    Task("anonymize_emails", "general_text", "anonymize the email addresses in the text",
         all_of(every(lambda r: not EMAIL.search(r["text"]), "still has an email address"), count_is(len)),
         [step("PIIAnonymizeRefiner", {"input_key": "text"})]),
    Task("lorem", "general_text", "drop placeholder lorem ipsum texts",
         all_of(every(lambda r: "lorem ipsum" not in r["text"].lower(), "is lorem ipsum"),
                count_is(lambda inp: sum("lorem ipsum" not in r["text"].lower() for r in inp))),
         [step("LoremIpsumFilter", {"input_key": "text"})]),
    Task("extra_spaces", "general_text", "collapse repeated spaces and strip the text",
         all_of(every(lambda r: "  " not in r["text"] and r["text"] == r["text"].strip(), "has extra spaces"),
                count_is(len)),
         [step("RemoveExtraSpacesRefiner", {"input_key": "text"})]),
    Task("remove_emoji", "general_text", "remove emoji from the texts",
         all_of(every(lambda r: not re.search("[\U0001F300-\U0001FAFF]", r["text"]), "still has emoji"),
                count_is(len)),
         [step("RemoveEmojiRefiner", {"input_key": "text"})]),
    # --------------------------------------------------------------------------------------- reasoning
    Task("reasoning_boxed", "reasoning", "keep the solutions that state a boxed final answer",
         all_of(every(lambda r: "\\boxed{" in r["generated_cot"], "has no boxed answer", "generated_cot"),
                count_is(lambda inp: sum("\\boxed{" in r["generated_cot"] for r in inp))),
         [step("ReasoningAnswerFormatterFilter", {"input_key": "generated_cot"})]),
    Task("reasoning_extract", "reasoning", "extract the final answer of each solution into a column",
         new_column(lambda r: re.search(r"\\boxed\{([^}]*)\}", r["generated_cot"]).group(1)),
         [step("ReasoningAnswerExtractionGenerator", {"input_key": "generated_cot", "output_key": "answer"})]),
    Task("reasoning_match_gold", "reasoning", "keep rows whose extracted answer equals the gold answer",
         all_of(every(lambda r: r["extracted_answer"] == r["gold_answer"], "answer differs from gold",
                      "extracted_answer"),
                count_is(lambda inp: sum(r["extracted_answer"] == r["gold_answer"] for r in inp))),
         [step("ReasoningAnswerGroundTruthFilter", {"input_key": "extracted_answer",
                                                    "input_gold_key": "gold_answer"})]),
    # -------------------------------------------------------------------------------------------- code
    Task("code_syntax", "code", "drop Python code that does not parse",
         all_of(every(lambda r: parses(r["code"]), "does not parse", "code"),
                count_is(lambda inp: sum(parses(r["code"]) for r in inp))),
         [step("CodeSyntaxFilter", {"input_key": "code"})]),
    Task("code_secrets", "code", "drop code files that contain credentials or API keys",
         all_of(every(lambda r: not re.search(r"AKIA|sk-proj|password\s*=", r["code"]), "has a secret", "code"),
                count_is(lambda inp: sum(not re.search(r"AKIA|sk-proj|password\s*=", r["code"]) for r in inp))),
         [step("CodeSecretFilter", {"input_key": "code"})]),
    Task("code_autogenerated", "code", "drop auto-generated code files",
         all_of(every(lambda r: "generated" not in r["text"].lower(), "is generated"),
                count_is(lambda inp: sum("generated" not in r["text"].lower() for r in inp))),
         [step("CodeAutoGeneratedFilter", {"input_key": "text"})]),
    # ---------------------------------------------------------------------------------------- text2sql
    Task("sql_parse", "text2sql", "keep the rows whose SQL query parses",
         all_of(every(lambda r: sql_parses(r["SQL"]), "does not parse", "SQL"),
                count_is(lambda inp: sum(sql_parses(r["SQL"]) for r in inp))),
         [step("SQLParseFilter", {"input_sql_key": "SQL"})]),
    Task("sql_template_dedup", "text2sql", "keep only one SQL query per query template",
         all_of(count_is(lambda inp: 5), lambda o, i: None if [r["id"] for r in o] == [0, 3, 5, 6, 7]
                else f"kept ids {[r['id'] for r in o]}"),
         [step("SQLTemplateDeduplicateFilter", {"input_sql_key": "SQL"})]),
    # --------------------------------------------------------------------------------------- knowledge
    Task("knowledge_citations", "knowledge", "remove citation markers like [1] from the passages",
         all_of(every(lambda r: not re.search(r"\[\d+(,\s*\d+)*\]", r["text"]), "still has citations"),
                count_is(len)),
         [step("ReferenceRemoverRefiner", {"input_key": "text"})]),
    Task("knowledge_sentences", "knowledge", "keep passages with at least 3 sentences",
         all_of(every(lambda r: len(SENTENCE_END.findall(r["text"])) >= 3, "has under 3 sentences"),
                count_is(lambda inp: sum(len(SENTENCE_END.findall(r["text"])) >= 3 for r in inp))),
         [step("SentenceNumberFilter", {"input_key": "text"}, min_sentences=3)]),
    # ------------------------------------------------------------------------------------- agentic RAG
    Task("rag_exact_match", "agentic_rag",
         "mark whether each refined answer exactly matches one of the golden answers",
         new_column(lambda r: any(normal(r["refined_answer"]) == normal(g) for g in r["golden_doc_answer"])),
         [step("AgenticRAGExactMatchEvaluator", {"input_prediction_key": "refined_answer",
                                                 "input_ground_truth_key": "golden_doc_answer"})]),
    Task("rag_token_f1", "agentic_rag", "score the token F1 of each refined answer against the golden answers",
         new_column(lambda r: token_f1(r["refined_answer"], r["golden_doc_answer"])),
         [step("AgenticRAGQAF1SampleEvaluator", {"input_prediction_key": "refined_answer",
                                                 "input_ground_truth_key": "golden_doc_answer"})]),
    # --------------------------------------------------------------------------- needs a new operator
    Task("new_drop_phone", "general_text", "drop rows whose text contains a phone number",
         all_of(every(lambda r: not PHONE.search(r["text"]), "has a phone number"),
                count_is(lambda inp: sum(not PHONE.search(r["text"]) for r in inp))),
         [new_op_step("DropPhoneNumbers", {"input_key": "text"})],
         new_op=True, reference_function=FN_PHONE, new_run={"input_key": "text"}),
    Task("new_positive_price", "general_text", "keep rows whose price field is a positive number",
         all_of(every(lambda r: positive_number(r["price"]), "price not positive", "price"),
                count_is(lambda inp: sum(positive_number(r["price"]) for r in inp))),
         [new_op_step("PositivePrice", {"input_key": "price"})],
         new_op=True, reference_function=FN_PRICE, new_run={"input_key": "price"}),
    Task("new_sentence_count", "general_text", "add a column n_sentences with the number of sentences of the text",
         new_column(lambda r: len(SENTENCE_END.findall(r["text"])), "n_sentences"),
         [new_op_step("SentenceCounter", {"input_key": "text", "output_key": "n_sentences"})],
         new_op=True, reference_function=FN_SENTENCES, new_kind="generate",
         new_run={"input_key": "text", "output_key": "n_sentences"}),
    Task("new_question_mark", "general_text", "keep only rows whose question ends with a question mark",
         all_of(every(lambda r: r["question"].rstrip().endswith("?"), "no question mark", "question"),
                count_is(lambda inp: sum(r["question"].rstrip().endswith("?") for r in inp))),
         [new_op_step("EndsWithQuestionMark", {"input_key": "question"})],
         new_op=True, reference_function=FN_QUESTION, new_run={"input_key": "question"}),
    Task("new_valid_email", "general_text", "keep rows whose email field is a valid email address",
         all_of(every(lambda r: VALID_EMAIL.match(r["email"]) is not None, "invalid email", "email"),
                count_is(lambda inp: sum(VALID_EMAIL.match(r["email"]) is not None for r in inp))),
         [new_op_step("ValidEmail", {"input_key": "email"})],
         new_op=True, reference_function=FN_EMAIL, new_run={"input_key": "email"}),
    Task("new_title_case", "general_text", "convert the name field to title case",
         all_of(every(lambda r: r["name"] == r["name"].title(), "not title case", "name"), count_is(len)),
         [new_op_step("TitleCase", {"input_key": "name"})],
         new_op=True, reference_function=FN_TITLE, new_kind="refine", new_run={"input_key": "name"}),
]
