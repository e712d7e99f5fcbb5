"""A scripted model for the agent: it answers each of the agent's questions (told apart by the JSON
schema of the call) from its own queue, in turn; the last answer of a queue repeats.

Questions: ``actions`` (split the request, or an action's effect), ``fill`` (an operator's params and
bindings; a dict of queues by operator name answers per operator), ``new`` (a new operator's name and
bindings), ``code`` (the synthesized function, a call without a schema) and ``plan`` (a whole spec:
refinement)."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.operators.reasoning.scripted_serving import ScriptedServing


def question(call: Any) -> str:
    props = (call.schema or {}).get("properties", {})
    for key, name in (("actions", "actions"), ("effect", "actions"), ("params", "fill"), ("name", "new"),
                      ("steps", "plan")):
        if key in props:
            return name
    return "code"


def agent_model(**queues: Any) -> ScriptedServing:
    """``agent_model(fill=[{...}], new=[...], ...)``: dicts are sent as JSON, strings as they are. Without
    an ``actions`` queue, an effect question is answered with ``effect`` (default "drop rows")."""
    effect = queues.pop("effect", "drop rows")
    queues = {k: {op: list(q) for op, q in v.items()} if isinstance(v, dict) else list(v) for k, v in queues.items()}

    def respond(call: Any) -> str | None:
        asked = question(call)
        queue = queues.get(asked)
        if isinstance(queue, dict):  # per operator: the one the prompt names
            named = re.search(r"Operator:\n(\w+)", call.messages[-1]["content"])
            queue = queue.get(named.group(1)) if named else None
        if not queue:
            if asked == "actions":
                return json.dumps({"effect": effect})
            return None
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer if isinstance(answer, str) else json.dumps(answer)

    return ScriptedServing(respond)


def function_answer(function: str, tests: list[str]) -> str:
    """A synthesis answer: the function and its tests as two Markdown code blocks."""
    return f"```python\n{function}\n```\n\n```python\n" + "\n".join(tests) + "\n```\n"
