"""Every operator sharing a name with the reference DataFlow accepts the reference's constructor params
and ``run()`` bindings. The reference's signatures are read with ``ast`` from its wheel (fetched at test
time, never installed); params are given at the reference's defaults, bindings by name."""

from __future__ import annotations

import ast
import inspect
import warnings

import pytest

from dataflow.core.errors import BindingError, ParamsError
from dataflow.core.operator import name_aliases
from dataflow.core.registry import OPERATORS
from tests.reference_wheel import reference_root

_NO_LITERAL = object()


def _signatures() -> dict[str, dict[str, dict[str, object]]]:
    """{class name: {"__init__": {param: default or _NO_LITERAL or None-if-required}, "run": ...}}."""
    found: dict[str, dict[str, dict[str, object]]] = {}
    for path in sorted((reference_root() / "operators").rglob("*.py")):
        try:
            with warnings.catch_warnings():  # the reference's invalid escape sequences
                warnings.simplefilter("ignore")
                tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            continue
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            methods = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name in ("__init__", "run"):
                    args = item.args
                    names = [a.arg for a in args.args][1:]
                    defaults = [inspect.Parameter.empty] * (len(names) - len(args.defaults)) + list(args.defaults)
                    pairs = list(zip(names, defaults))
                    pairs += [(a.arg, d if d is not None else inspect.Parameter.empty)
                              for a, d in zip(args.kwonlyargs, args.kw_defaults)]
                    methods[item.name] = {name: _literal(d) for name, d in pairs}
            found[node.name] = methods
    return found


def _literal(node):
    if node is inspect.Parameter.empty:
        return inspect.Parameter.empty
    try:
        return ast.literal_eval(node)
    except ValueError:
        return _NO_LITERAL  # a class or a call: the reference's own objects


@pytest.fixture(scope="module")
def reference():
    return _signatures()


def _shared(reference):
    ours = set(OPERATORS.names())
    return sorted(name for name in reference if name in ours)


def test_operators_accept_the_reference_params_and_bindings(reference):
    shared = _shared(reference)
    assert len(shared) >= 90, f"expected the ~95 shared operators, found {len(shared)}"
    failures, default_diffs = [], []
    for name in shared:
        cls = OPERATORS.get(name)
        init = inspect.signature(getattr(cls.__init__, "__wrapped__", cls.__init__)).parameters
        aliases = name_aliases(cls)
        ref_init = reference[name].get("__init__", {})
        given = {}
        for param, default in ref_init.items():
            if param in ("self", "args", "kwargs"):
                continue
            if default is inspect.Parameter.empty or default is _NO_LITERAL:
                if param not in init and param not in aliases.get("params", {}):
                    failures.append(f"{name}({param}=...): unknown param")
                continue
            given[param] = default
            if param in init and init[param].default is not inspect.Parameter.empty \
                    and init[param].default != default:
                default_diffs.append(f"{name}.{param}: reference {default!r}, ours {init[param].default!r}")
        try:
            op = cls(**{**cls.example_params, **given})
        except (ParamsError, TypeError) as exc:
            failures.append(f"{name}(**reference defaults): {exc}")
            continue
        bindings = {b: d if isinstance(d, str) else f"col_{b}"
                    for b, d in reference[name].get("run", {}).items() if b not in ("storage", "self")}
        try:
            op.resolve_bindings(bindings)
        except BindingError as exc:
            failures.append(f"{name}.run(): {exc}")
    print(f"{len(shared)} shared operators; same-named params whose defaults differ (docs/migration.md):")
    print("\n".join(default_diffs))
    assert not failures, "\n".join(failures)


def test_a_value_we_cannot_honour_is_refused_with_the_reason():
    cls = OPERATORS.get("ReasoningAnswerGroundTruthFilter")
    with pytest.raises(ParamsError, match="compare_method='exact'.*math"):
        cls(compare_method="exact")


def test_reference_names_are_recorded_under_ours():
    cls = OPERATORS.get("MinHashDeduplicateFilter")
    op = cls(num_perm=128, threshold=0.9, use_n_gram=False, ngram=5)
    assert "use_n_gram" not in op.params and op.params["ngram"] == 1  # single characters, as the reference
    assert cls(**op.params).params == op.params  # a worker rebuilds it from the recorded params
    bound = OPERATORS.get("ReasoningAnswerGroundTruthFilter")().resolve_bindings(
        {"input_test_answer_key": "generated_cot", "input_gt_answer_key": "golden_answer"})
    assert (bound["input_key"], bound["input_gold_key"]) == ("generated_cot", "golden_answer")
    with pytest.raises(BindingError, match="same binding"):
        OPERATORS.get("ReasoningAnswerGroundTruthFilter")().resolve_bindings(
            {"input_test_answer_key": "a", "input_key": "b"})
