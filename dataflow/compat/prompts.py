"""The reference DataFlow's prompt classes, each standing for the template of ours that does its job.

An operator given one (``prompt_template=MathQuestionFilterPrompt()``) uses our template named by
``template_name`` (``dataflow/prompts/<name>.jinja``): the task is the same, the wording is ours. A
prompt class of the reference not listed here is refused with a message naming it.
"""

from __future__ import annotations

import string


class PromptABC:
    """Base of the stand-ins: ``template_name`` is our template."""

    template_name: str = ""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.args, self.kwargs = args, kwargs

    def __repr__(self) -> str:
        return f"{type(self).__name__}() -> {self.template_name}"


def _prompt(name: str, template: str) -> type[PromptABC]:
    return type(name, (PromptABC,), {"template_name": template, "__doc__": f"Our ``{template}`` template."})


_TEMPLATES = {
    "general_text": {"CondorQuestionPrompt": "general_text/condor_generate",
                     "CondorRefinePrompt": "general_text/condor_refine",
                     "AlpagasusPrompt": "general_text/alpagasus"},
    "reasoning": {"AnswerGeneratorPrompt": "reasoning/answer", "QuestionSynthesisPrompt": "reasoning/question_generate",
                  "QuestionFilterPrompt": "reasoning/question_filter",
                  "QuestionCategoryPrompt": "reasoning/question_category",
                  "QuestionDifficultyPrompt": "reasoning/question_difficulty",
                  "QuestionSequentialFusionGeneratorPrompt": "reasoning/question_fusion",
                  "QuestionParallelFusionGeneratorPrompt": "reasoning/question_fusion",
                  "QuestionConditionFusionGeneratorPrompt": "reasoning/question_fusion"},
}

def jinja_from_format(text: str, append: str = "") -> str:
    """A ``str.format`` template as Jinja: literal text verbatim (``{{`` and ``}}`` become single braces, as
    format makes them), each ``{field}`` a variable; ``append`` (a Jinja snippet) goes at the end."""
    parts = []
    for literal, field, _spec, _conversion in string.Formatter().parse(text):
        if literal:
            parts.append("{% raw %}" + literal + "{% endraw %}")
        if field:
            parts.append("{{ " + field + " }}")
    return "".join(parts) + append


class DiyPrompt(PromptABC):
    """The reference's do-it-yourself prompt: the user's text, with ``{question}`` where the row goes."""

    append = ""  # the answer prompt is the user's text followed by the question

    def __init__(self, prompt_template: str) -> None:
        super().__init__(prompt_template)
        self.prompt_template = prompt_template

    @property
    def template_name(self) -> str:  # inline template text: our operators take it in place of a name
        return jinja_from_format(self.prompt_template, self.append)


class DiyAnswerGeneratorPrompt(DiyPrompt):
    append = "\n{{ question }}"


DIY = {"DiyAnswerGeneratorPrompt": DiyAnswerGeneratorPrompt,
       **{name: type(name, (DiyPrompt,), {}) for name in ("DiyQuestionFilterPrompt", "DiyQuestionSynthesisPrompt")}}

MODEL_EVALUATION = {name: _prompt(name, "reasoning/answer_judge")
                    for name in ("AnswerJudgePrompt", "AnswerJudgePromptQuestion")}
GENERAL_TEXT = {name: _prompt(name, t) for name, t in _TEMPLATES["general_text"].items()}
# The reference has one family per flavour (Math..., General..., Diy...) over the same tasks.
REASONING = {flavour: {flavour + name: _prompt(flavour + name, t) for name, t in _TEMPLATES["reasoning"].items()}
             for flavour in ("Math", "General")}
REASONING["Diy"] = DIY
