"""The LLM operator base: render the prompt -> ask the serving -> parse and validate -> rows, or rejects.

An LLM operator writes only its prompt (a Jinja2 template), the JSON schema of the answer and how to
read one answer; the base renders the prompts, sends one request per row through the step's serving
(``ctx.serving``), and turns every answer into the row's values, or into a rejected row with a reason::

    @register_operator
    class SQLWriter(LLMGenerator):
        \"""Writes one SQL query per question (the template also reads the row's ``db_schema`` column).\"""

        default_template = "sql/write"               # its {{ question }} is the input_key column
        prompt_inputs = {"question": "input_key"}
        input_key = InputColumn("question")
        output_key = OutputColumn("sql", "str")

        def schema(self):
            return {"type": "object", "properties": {"sql": {"type": "string"}}, "required": ["sql"]}

        def parse(self, answer):
            sql = answer.parsed["sql"].strip()
            return {"output_key": sql} if sql.upper().startswith("SELECT") else Reject("not a SELECT query")

It takes the base's constructor params: ``prompt_template`` (a registered name or the template text;
``default_template`` when not given), ``system_prompt``, ``temperature``, ``max_tokens`` and ``seed``,
kept together as one :class:`Sampling` in ``self.sampling``. Operators with their own constructor pass
their settings to ``super().__init__``, which is the one place a :class:`Sampling` is built.

Hooks (each has a default; an :class:`LLMFilter` also writes ``keep``):

* :meth:`LLMOperator.schema`: the JSON schema the answer must follow (validated and repaired by the
  serving), or ``None`` for free text.
* :meth:`LLMOperator.parse`: one answer -> ``{output binding name: value}``; with
  ``LLMGenerator.new_rows``, a list of such dicts (the new rows made from the input row). Return
  :class:`~dataflow.core.operator.Reject` ``("why")``, or raise ``ValueError``/``KeyError``/``TypeError``,
  for an answer that is unusable. The default writes the parsed JSON, or the stripped text (an empty
  text is rejected), to ``output_key``.
* :meth:`LLMOperator.prompt_values`: values of the template variables in :attr:`provided_variables`
  (from params; a list is one value per row, so wrap a shared list: ``[value] * len(batch)``). Variables in :attr:`prompt_inputs` are read from the bound columns; any other variable
  of the template is a column of the row, which ``compile()`` checks like an input binding.
* :meth:`LLMOperator.prompts`: one prompt per row; an entry may also be an ``LLMRequest`` (sampling set
  for that row, from ``self.sampling.request(...)``), a ``Reject`` (rejected without a call) or ``None``
  (no call; the row's outputs are null).

Kinds: :class:`LLMGenerator`, :class:`LLMEvaluator`, :class:`LLMRefiner` and :class:`LLMFilter` (its
``score`` hands ``keep`` the answers as {binding or key name: values}). A failed call rejects its row
with ``llm: <error>``; an answer ``parse`` cannot read, with ``invalid answer: <error>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd
import pydantic

from dataflow.core.llm_types import LLMRequest, LLMResult
from dataflow.core.operator import (
    Bindings,
    Column,
    Evaluator,
    Filter,
    Generator,
    Operator,
    Refiner,
    Reject,
)
from dataflow.core.prompts import PromptTemplate, resolve_template

if TYPE_CHECKING:
    from dataflow.core.context import StepContext

__all__ = ["LLMEvaluator", "LLMFilter", "LLMGenerator", "LLMOperator", "LLMRefiner", "Reject", "Sampling",
           "column_texts", "read_answer", "text_of"]


class Sampling(pydantic.BaseModel):
    """How an operator asks the model: the system prompt and the sampling settings of its requests."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    system_prompt: str | None = None
    temperature: float = pydantic.Field(0.0, ge=0)
    max_tokens: int = pydantic.Field(512, gt=0)
    top_p: float = pydantic.Field(1.0, gt=0, le=1)
    seed: int | None = None
    stop: tuple[str, ...] | None = None

    def request(self, prompt: str, schema: Any = None, **changes: Any) -> LLMRequest:
        """One request for ``prompt`` with these settings; ``changes`` override some (``seed=...``)."""
        s = self.model_copy(update=changes) if changes else self
        return LLMRequest(prompt=prompt, system=s.system_prompt, json_schema=schema, temperature=s.temperature,
                          max_tokens=s.max_tokens, top_p=s.top_p, seed=s.seed,
                          stop=list(s.stop) if s.stop is not None else None)


def text_of(value: Any) -> str:
    """A cell as prompt text: missing values (None, NaN) become the empty string."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def column_texts(batch: pd.DataFrame, column: str | None) -> list[str]:
    """The cells of ``column`` as prompt texts; empty strings when the column is not bound."""
    if not column:
        return [""] * len(batch)
    return [text_of(v) for v in batch[column].tolist()]


class LLMOperator(Operator):
    """Base of the operators that ask an LLM; use it through a kind below. See the module docstring."""

    resources = ("llm",)
    #: Template used when the constructor gets no ``prompt_template``.
    default_template: ClassVar[str | None] = None
    #: Template variables filled from bound columns: {variable: input binding name}.
    prompt_inputs: ClassVar[dict[str, str]] = {}
    #: Template variables the operator fills itself, from :meth:`prompt_values`.
    provided_variables: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, prompt_template: str | None = None, system_prompt: str | None = None,
                 temperature: float = 0.0, max_tokens: int = 512, seed: int | None = None,
                 llm_serving: Any = None) -> None:
        super().__init__(llm_serving)
        self.prompt_template = prompt_template or self.default_template
        self.template: PromptTemplate | None = (resolve_template(self.prompt_template)
                                                if self.prompt_template else None)
        self.sampling = Sampling(system_prompt=system_prompt, temperature=temperature, max_tokens=max_tokens,
                                 seed=seed)

    # ----------------------------------------------------------------- templates
    def prompt_templates(self) -> list[PromptTemplate]:
        """Every template the operator renders (their columns are inputs; their text is fingerprinted): its
        :class:`PromptTemplate` attributes, ``self.template`` first, then any other it resolved (a second
        prompt, such as a rewrite or a critique)."""
        return [v for v in vars(self).values() if isinstance(v, PromptTemplate)]

    def fingerprint_extras(self) -> list[Any]:
        # A template named in the params can be edited on disk (a user prompts_dir): its text counts.
        return sorted(t.source for t in self.prompt_templates())

    def template_variables(self) -> frozenset[str]:
        """Template variables the operator fills (the others are row columns)."""
        return frozenset(self.prompt_inputs) | self.provided_variables

    def input_columns(self, bindings: Bindings) -> dict[str, Column]:
        cols = super().input_columns(bindings)
        for template in self.prompt_templates():
            cols.update({c: Column(c, "input", "any") for c in template.columns(self.template_variables())})
        return cols

    # ----------------------------------------------------------------- hooks
    def schema(self) -> Any:
        """The JSON schema (a dict or a pydantic model class) the answer must follow; None: free text."""
        return None

    def parse(self, answer: LLMResult) -> Any:
        """One answer -> {output binding name: value} (or a :class:`Reject`); see the module docstring."""
        if answer.parsed is not None:
            return {"output_key": answer.parsed}
        text = (answer.text or "").strip()
        return {"output_key": text} if text else Reject("llm: empty answer")

    def prompt_values(self, batch: pd.DataFrame, ctx: StepContext) -> dict[str, Any]:
        """Values of :attr:`provided_variables`: a list gives one value per row, anything else is shared."""
        return {}

    def prompts(self, batch: pd.DataFrame, ctx: StepContext) -> list[Any]:
        """One prompt per row (str, LLMRequest, Reject or None): the template rendered with the row."""
        return self.render_prompts(batch, **self.template_values(batch, ctx))

    def template_values(self, batch: pd.DataFrame, ctx: StepContext) -> dict[str, Any]:
        """The variables the operator fills: :attr:`prompt_inputs` from their columns, then
        :meth:`prompt_values`."""
        values: dict[str, Any] = {var: column_texts(batch, ctx.cols.get(binding))
                                  for var, binding in self.prompt_inputs.items()}
        values.update(self.prompt_values(batch, ctx))
        return values

    def render_prompts(self, batch: pd.DataFrame, template: PromptTemplate | None = None,
                       **supplied: list[Any] | Any) -> list[str]:
        """``template`` (default: the operator's) rendered for every row of ``batch``: the variables in
        ``supplied`` (a list: one value per row) and the row's columns for the others."""
        from dataflow.core.fileio import frame_to_records

        template = template or self.template
        if template is None:
            raise ValueError(f"{self.op_name()} has no prompt template")
        columns = template.columns(self.template_variables())
        rows = frame_to_records(batch[columns], internal=True) if columns else [{} for _ in range(len(batch))]
        return [template.render(**row, **{k: v[i] if isinstance(v, list) else v for k, v in supplied.items()})
                for i, row in enumerate(rows)]

    # ----------------------------------------------------------------- asking
    def call(self, ctx: StepContext, requests: list[LLMRequest]) -> list[LLMResult]:
        """The serving's results for ``requests``, in order."""
        return ctx.serving.generate(requests) if requests else []

    def ask(self, batch: pd.DataFrame, ctx: StepContext, prompts: list[Any] | None = None,
            parse: Any = None) -> list[Any]:
        """Per row: what ``parse`` (default :meth:`parse`) made of the answer, a :class:`Reject` (failed
        call, unusable answer, rejected prompt) or None (no call)."""
        prompts = self.prompts(batch, ctx) if prompts is None else prompts
        todo = [i for i, p in enumerate(prompts) if isinstance(p, (str, LLMRequest))]
        schema = self.schema()
        requests = [p if isinstance(p, LLMRequest) else self.sampling.request(p, schema)
                    for p in (prompts[i] for i in todo)]
        answers = list(prompts)
        for i, result in zip(todo, self.call(ctx, requests)):
            answers[i] = read_answer(result, parse or self.parse)
        return answers

    # ----------------------------------------------------------------- answers -> columns
    def output_bindings(self, cols: Bindings) -> list[str]:
        """Names of the output bindings bound to a column in this step, in declaration order."""
        return [name for name, col in self._bindings.items() if col.role == "output" and cols.get(name)]

    def answer_columns(self, answers: list[Any], cols: Bindings) -> dict[str, list[Any]]:
        """{bound column: values} from per-row answers ({binding: value} dicts, Reject or None)."""
        return {cols[name]: [_value(a, name) for a in answers] for name in self.output_bindings(cols)}

    def answer_rows(self, answers: list[Any], cols: Bindings) -> pd.DataFrame:
        """New rows from per-row answers (lists of {binding: value} dicts), as a DataFrame with ``_parent``;
        a rejected answer becomes one row of Rejects, which rejects its parent; a string is no rows, and
        the reason its row is dropped (else ``no_output_reason``)."""
        names = self.output_bindings(cols)
        parents: list[int] = []
        values: dict[str, list[Any]] = {cols[n]: [] for n in names}
        for i, answer in enumerate(answers):
            if isinstance(answer, str):
                continue
            for child in [answer] if isinstance(answer, Reject) else answer or []:
                parents.append(i)
                for n in names:
                    values[cols[n]].append(_value(child, n))
        rows = pd.DataFrame({"_parent": pd.Series(parents, dtype="int64"),
                             **{c: pd.Series(v, dtype=object) for c, v in values.items()}})
        if any(isinstance(a, str) for a in answers):
            rows.attrs["no_output_reasons"] = [a if isinstance(a, str) else None for a in answers]
        return rows


def read_answer(result: LLMResult, parse: Any) -> Any:
    """``parse(result)``, or a :class:`Reject` for a failed call or an answer ``parse`` cannot read."""
    if result.error is not None:
        return Reject(f"llm: {result.error}")
    try:
        return parse(result)
    except (KeyError, TypeError, ValueError) as exc:
        return Reject(f"invalid answer: {type(exc).__name__}: {exc}")


def _value(answer: Any, name: str) -> Any:
    if isinstance(answer, Reject) or answer is None:
        return answer
    return answer.get(name)


class LLMGenerator(LLMOperator, Generator):
    """Adds the answer's columns to each row; with :attr:`new_rows`, each answer's rows replace the row."""

    #: ``parse`` returns a list of new rows; an input row whose answer has none is dropped with
    #: ``no_output_reason`` (or with the answer itself when it is a string: the row's own reason).
    new_rows: ClassVar[bool] = False

    def generate(self, batch: pd.DataFrame, ctx: StepContext) -> Any:
        answers = self.ask(batch, ctx)
        if self.new_rows:
            return self.answer_rows(answers, ctx.cols)
        return self.answer_columns(answers, ctx.cols)


class LLMEvaluator(LLMOperator, Evaluator):
    """Adds the answer's score columns; drops nothing."""

    def evaluate(self, batch: pd.DataFrame, ctx: StepContext) -> dict[str, Any]:
        return self.answer_columns(self.ask(batch, ctx), ctx.cols)


class LLMRefiner(LLMOperator, Refiner):
    """Rewrites ``input_key`` (in place unless ``output_key`` is bound) with the answer; ``parse`` may also
    fill side columns."""

    def refine_rows(self, batch: pd.DataFrame, ctx: StepContext) -> dict[str, Any]:
        return self.answer_columns(self.ask(batch, ctx), ctx.cols)


class LLMFilter(LLMOperator, Filter):
    """Scores rows with the LLM, then :meth:`keep` decides. ``keep`` receives {name: values} holding every
    output binding, every key in :attr:`answer_keys` and every other key ``parse`` returned (None for rows
    without an answer); the output bindings are written (also on dropped rows, so ``dataflow inspect``
    shows why)."""

    #: Keys ``parse`` returns besides output bindings, present for ``keep`` even when no row was asked.
    answer_keys: ClassVar[tuple[str, ...]] = ()

    def score(self, batch: pd.DataFrame, ctx: StepContext) -> Any:
        answers = self.ask(batch, ctx)
        names = [n for n, col in self._bindings.items() if col.role == "output"] + list(self.answer_keys)
        for answer in answers:
            if isinstance(answer, dict):
                names.extend(k for k in answer if k not in names)
        return {name: [_value(a, name) for a in answers] for name in names or ["output_key"]}
