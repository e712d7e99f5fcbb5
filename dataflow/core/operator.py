"""The operator base classes.

An operator is configured by its constructor (its *params*, validated against a schema derived from the
type hints) and bound to columns at ``run()`` time (its *bindings*, class attributes named ``input_*`` and
``output_*``)::

    op = WordNumberFilter(min_words=20)
    op.run(storage, input_key="text")

The base classes do reading, batching, writing, statistics and drop reasons; a subclass writes only its
batch logic. Kinds:

* :class:`Generator` (``generate``): adds columns, or rows.
* :class:`Refiner` (``refine``): rewrites a column in place.
* :class:`Filter` (``filter``): drops rows, each with a reason; :class:`RangeFilter` for score thresholds.
* :class:`Evaluator` (``evaluate``): adds score columns.
* :class:`DatasetOperator`: sees the whole dataset in two streaming passes (``scan`` every chunk, ``decide``
  once, ``apply`` to every chunk); dedup and dataset-level metrics are built on it.

Rejected rows. A row the operator could not process (a failed LLM call, an unparseable answer) is not
dropped as data: it goes to the step's rejects file with a reason, so a re-run can retry it. A kind
hook rejects a row by putting :class:`Reject` ``("reason")`` in place of one of the row's values: in a
column returned by ``generate``/``evaluate``/``refine``, in the ``scores`` of a filter, or in a row of
a generated DataFrame (which rejects the parent of that row, and all its children)::

    def evaluate(self, batch, ctx):
        return {"n_digits": [Reject("not a number") if not t.isdigit() else len(t) for t in batch.text]}

Rows a filter's ``score`` rejects never reach ``keep``. The LLM operator base
(:mod:`dataflow.core.llm_operator`) uses this for every failed call.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from dataflow.core.bindings import (  # noqa: F401 - re-exported: operator authors import them from here
    DROP_REASON,
    DTYPES,
    REJECT_REASON,
    ROW_ID,
    Bindings,
    Column,
    InputColumn,
    OutputColumn,
)
from dataflow.core.errors import BindingError, ParamsError
from dataflow.core.resources import runtime_params

if TYPE_CHECKING:
    from dataflow.core.context import StepContext

KINDS = ("generate", "refine", "filter", "evaluate", "dedup")


@dataclass(frozen=True)
class Reject:
    """A value a kind hook returns in place of a row's value: the row goes to the rejects with ``reason``."""

    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Cost:
    """What one running instance of an operator roughly needs: CPU cores, GPUs and memory (GiB), and,
    for a step that holds a model, how many instances (replicas) a cluster executor runs at once."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory_gb: float = 0.5
    replicas: int = 1


@dataclass
class BatchResult:
    """What one operator made of one batch. ``written`` lists the columns it set (used for delta caching)."""

    frame: pd.DataFrame
    written: list[str] = field(default_factory=list)
    dropped: pd.DataFrame | None = None  # removed rows, with DROP_REASON
    rejected: pd.DataFrame | None = None  # rows the operator could not process, with REJECT_REASON
    rows_changed: bool = False  # rows were added or reordered: cache the whole frame, not a delta
    metrics: dict[str, Any] | None = None
    kept: np.ndarray | None = None  # for filters: which input rows remain (keeps memoised stats aligned)


# Other names accepted for the params and bindings of a package's operators (the reference DataFlow's):
# {class name: (package, {"params": {...}, "bindings": {...}})}; see add_name_aliases.
_NAME_ALIASES: dict[str, tuple[str, Mapping[str, Mapping[str, Any]]]] = {}


def add_name_aliases(package: str, table: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> None:
    """Let the operators of ``package`` accept other names for their params and bindings.

    ``table`` is {class name: {"params": {other: ours | fn}, "bindings": {other: ours | None}}}: a param
    under another name is renamed to ours, or ``fn(value)`` returns our params for it ({} when the value
    needs none; it raises :class:`ParamsError` for a value we cannot honour); a binding is renamed, or
    accepted and unused (None). A name the operator itself declares is never renamed, but a function may
    convert its value (a reference prompt object to our template name). Our names stay
    primary: params are recorded (fingerprints, workers) and bindings resolved under them. Subclasses
    inherit their base's aliases."""
    for name, entry in table.items():
        _NAME_ALIASES[name] = (package, entry)


def name_aliases(cls: type) -> Mapping[str, Mapping[str, Any]]:
    """The other names ``cls`` accepts ({"params": ..., "bindings": ...}), from its nearest aliased base."""
    for klass in cls.__mro__:
        found = _NAME_ALIASES.get(klass.__name__)
        if found and klass.__module__.startswith(found[0]):
            return found[1]
    return {}


def _translate(cls: type, given: dict[str, Any], own: Any, section: str) -> dict[str, Any]:
    aliases = name_aliases(cls).get(section) or {}
    if not aliases or not any(name not in own or callable(aliases.get(name)) for name in given):
        return given
    out: dict[str, Any] = {}
    converted: dict[str, Any] = {}  # what functions return wins: use_n_gram=False overrides ngram
    for name, value in given.items():
        target = aliases.get(name, name)
        if name in own and not callable(target):
            target = name  # a declared name is ours: never renamed (a function may still convert its value)
        if callable(target):
            try:
                converted.update(target(value))
            except ParamsError as exc:
                raise ParamsError(f"{cls.__name__}: {name}={value!r}: {exc}") from None
        elif target is not None:
            if target in out or target in given and target != name:
                raise (ParamsError if section == "params" else BindingError)(
                    f"{cls.__name__}: {name!r} and {target!r} name the same {section[:-1]}; give one")
            out[target] = value
    return {**out, **converted}


def _params_wrapper(init):
    """Wrap ``__init__`` so the outermost call records its arguments (for schema checks and fingerprints)."""
    sig = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):  # noqa: N807
        outermost = "_params" not in self.__dict__
        if outermost:
            kwargs = _translate(type(self), kwargs, sig.parameters, "params")
            bound = sig.bind(self, *args, **kwargs)
            bound.apply_defaults()
            params: dict[str, Any] = {}
            for name, value in list(bound.arguments.items())[1:]:
                kind = sig.parameters[name].kind
                if kind is inspect.Parameter.VAR_KEYWORD:
                    params.update(value)
                elif kind is not inspect.Parameter.VAR_POSITIONAL:
                    params[name] = value
            self.__dict__["_params"] = type(self).validate_params(params)
        init(self, *args, **kwargs)

    __init__.__dataflow_wrapped__ = True
    return __init__


class Operator:
    """Base of every operator. Subclasses declare ``kind``, bindings and the batch logic."""

    kind: ClassVar[str] = "generate"
    #: Shared resources the operator uses, by kind ("llm", "embedder", ...; see
    #: :mod:`dataflow.core.resources`). The step's context hands them out (``ctx.serving`` is
    #: ``ctx.resource("llm")``); executors keep them alive across chunks and place the step by them.
    resources: ClassVar[tuple[str, ...]] = ()
    #: Rough cost of one running instance, for placing it on a pool or a cluster.
    cost: ClassVar[Cost] = Cost()
    #: Optional dependencies as {import name: pip requirement}; ``compile()`` checks they import.
    requires: ClassVar[dict[str, str]] = {}
    #: Bump when the logic changes so cached results of older versions are not reused.
    version: ClassVar[str] = "1"
    #: "batch": sees one chunk at a time; "dataset": see :class:`DatasetOperator`.
    granularity: ClassVar[str] = "batch"
    #: Params that build a working instance when the constructor has required ones (``fields`` of a JSON
    #: extractor, say): the contract test over all operators builds each with them.
    example_params: ClassVar[dict[str, Any]] = {}
    #: Params that hold file or directory paths: in a spec, a relative one is read from the spec's folder
    #: (as ``input`` and ``output`` are), so a spec runs the same from any working directory.
    path_params: ClassVar[tuple[str, ...]] = ()
    _bindings: ClassVar[dict[str, Column]] = {}
    _params_model: ClassVar[Any] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        bindings: dict[str, Column] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, Column):
                    if not name.startswith(("input_", "output_")):
                        raise TypeError(f"{cls.__name__}.{name}: binding names start with input_ or output_")
                    bindings[name] = value
        cls._bindings = bindings
        cls._params_model = None
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "__dataflow_wrapped__", False):
            cls.__init__ = _params_wrapper(init)

    def __init__(self, llm_serving: Any = None) -> None:
        self.llm_serving = llm_serving

    @classmethod
    def uses(cls, resource: str) -> bool:
        return resource in cls.resources

    def setup(self) -> None:
        """Called once in each worker before the first chunk (load a model, open a connection).

        The operator object then serves every chunk of its step that the worker runs."""

    def teardown(self) -> None:
        """Called once in each worker after its last chunk: release what :meth:`setup` acquired."""

    def fingerprint_extras(self) -> list[Any]:
        """What decides the output besides params and bindings, as JSON-able values, for the step's
        fingerprint: e.g. the text of a prompt template read from disk, which can change under the same
        name. The base has none."""
        return []

    # ----------------------------------------------------------------- metadata
    @classmethod
    def op_name(cls) -> str:
        return getattr(cls, "_registered_name", cls.__name__)

    @classmethod
    def params_model(cls):
        """A pydantic model of the constructor arguments, built from the signature and type hints."""
        if cls.__dict__.get("_params_model") is None:
            cls._params_model = _build_params_model(cls)
        return cls._params_model

    @classmethod
    def params_schema(cls) -> dict[str, Any]:
        schema = cls.params_model().model_json_schema()
        schema.pop("title", None)
        return schema

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Check ``params`` against the schema; return them (runtime objects such as servings untouched)."""
        import pydantic

        runtime = {k: params[k] for k in runtime_params() if k in params}
        config = {k: v for k, v in params.items() if k not in runtime}
        try:
            cls.params_model().model_validate(config)
        except pydantic.ValidationError as exc:
            details = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(params)'}: {err['msg']}" for err in exc.errors()
            )
            raise ParamsError(f"{cls.op_name()}: invalid params: {details}") from None
        return {**config, **runtime}

    @property
    def params(self) -> dict[str, Any]:
        """The configuration this instance was built with (runtime objects excluded)."""
        return {k: v for k, v in self.__dict__.get("_params", {}).items() if k not in runtime_params()}

    @classmethod
    def binding_specs(cls) -> dict[str, Column]:
        return dict(cls._bindings)

    def resolve_bindings(self, given: dict[str, Any]) -> Bindings:
        given = _translate(type(self), dict(given), self._bindings, "bindings")
        unknown = sorted(set(given) - set(self._bindings))
        if unknown:
            allowed = ", ".join(sorted(self._bindings)) or "none"
            raise BindingError(f"{self.op_name()}.run() got unknown binding(s) {', '.join(unknown)}; "
                               f"it takes: {allowed}")
        resolved = Bindings({name: col.default for name, col in self._bindings.items()})
        resolved.update(given)
        resolved.explicit = frozenset(given)
        # An output left unbound on a refiner means "in place".
        if self.kind == "refine" and resolved.get("output_key") is None and "input_key" in resolved:
            resolved["output_key"] = resolved["input_key"]
        return resolved

    def input_columns(self, bindings: Bindings) -> dict[str, Column]:
        """Columns this step reads, {column name: declaration}. Template-driven operators extend this."""
        return {value: self._bindings[name] for name, value in bindings.items()
                if value is not None and self._bindings[name].role == "input"}

    def output_columns(self, bindings: Bindings) -> list[str]:
        """Columns this step writes."""
        return [value for name, value in bindings.items()
                if value is not None and self._bindings[name].role == "output"]

    # ----------------------------------------------------------------- running
    def run(self, storage: Any, **bindings: Any) -> Any:
        """Run on ``storage`` with the given column bindings.

        Inside a :class:`~dataflow.core.pipeline.Pipeline`'s ``forward()`` this records a step; on a
        :class:`~dataflow.core.eager.DataFrameStorage` it runs at once.
        """
        return storage.apply(self, bindings)

    def process(self, batch: pd.DataFrame, ctx: StepContext) -> BatchResult:
        """Process one batch. Kind base classes implement this; subclasses implement the kind's hook."""
        raise NotImplementedError

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.op_name()}({args})"

    def __repr__(self) -> str:
        return self.describe()


class Generator(Operator):
    """Adds columns (or rows). Implement :meth:`generate`.

    ``generate`` returns either a mapping {column: values}, one value per input row, or a DataFrame with a
    ``_parent`` column giving, for each new row, the position of the input row it comes from (to add rows:
    several new rows may share a parent, and input rows without children are dropped with the reason
    given by :attr:`no_output_reason`). A :class:`Reject` among the values rejects that row (in a
    DataFrame: the parent of that row).
    """

    kind = "generate"
    no_output_reason: ClassVar[str] = "no output generated"

    def generate(self, batch: pd.DataFrame, ctx: StepContext) -> Any:
        raise NotImplementedError

    def process(self, batch: pd.DataFrame, ctx: StepContext) -> BatchResult:
        produced = self.generate(batch, ctx)
        if isinstance(produced, pd.DataFrame):
            return expand_rows(batch, produced, self.no_output_reason)
        return _assign(batch, produced)


class Evaluator(Generator):
    """Adds score columns without dropping rows. Implement :meth:`evaluate` (returns {column: values})."""

    kind = "evaluate"

    def evaluate(self, batch: pd.DataFrame, ctx: StepContext) -> dict[str, Any]:
        raise NotImplementedError

    def generate(self, batch: pd.DataFrame, ctx: StepContext) -> Any:
        return self.evaluate(batch, ctx)


class Refiner(Operator):
    """Rewrites one text column in place (or into ``output_key``).

    Implement :meth:`refine_text` (one string) or, to vectorise, :meth:`refine` (a whole Series), or,
    when the rewrite reads other columns too, :meth:`refine_rows` (the batch -> {column: values}: the
    rewritten ``output_key`` and any side column). Missing values pass through unchanged. A
    :class:`Reject` in place of a value rejects the row.
    """

    kind = "refine"
    input_key = InputColumn("text", "str", nullable=True)
    output_key = OutputColumn(None, "str", description="defaults to input_key (in place)")

    def refine_text(self, text: str) -> str:
        raise NotImplementedError

    def refine(self, values: pd.Series, ctx: StepContext) -> pd.Series:
        fn = self.refine_text
        return pd.Series([fn(v) if isinstance(v, str) else v for v in values], index=values.index,
                         dtype=object)

    def refine_rows(self, batch: pd.DataFrame, ctx: StepContext) -> dict[str, Any]:
        cols = ctx.cols
        return {cols.output_key: self.refine(batch[cols.input_key], ctx)}

    def process(self, batch: pd.DataFrame, ctx: StepContext) -> BatchResult:
        return _assign(batch, self.refine_rows(batch, ctx))


class Filter(Operator):
    """Drops rows, each with a reason.

    Implement :meth:`keep` returning a boolean mask, or ``(mask, reasons)`` where ``reasons`` is one string
    or one string per row (used where the mask is False). If the operator declares an ``output_key``
    binding, :meth:`score` is computed and written there, so thresholds can be revisited later.

    ``score`` may also return a mapping {name: values}: names that are output bindings are written to
    their bound columns (when bound), and ``keep`` receives the whole mapping. Rows where a score is a
    :class:`Reject` go to the rejects and are left out of what ``keep`` sees.
    """

    kind = "filter"

    def score(self, batch: pd.DataFrame, ctx: StepContext) -> Any:
        raise NotImplementedError

    def keep(self, batch: pd.DataFrame, scores: Any, ctx: StepContext) -> Any:
        raise NotImplementedError

    @property
    def default_reason(self) -> str:
        return f"rejected by {self.op_name()}"

    def process(self, batch: pd.DataFrame, ctx: StepContext) -> BatchResult:
        scores = None
        if type(self).score is not Filter.score:
            scores = self.score(batch, ctx)
        named = scores if isinstance(scores, Mapping) else {"output_key": scores} if scores is not None else {}
        ok, rejected = _rejects(batch, named.values())
        if rejected is not None:
            batch = batch[ok]
            named = {name: _take(values, ok) for name, values in named.items()}
            scores = named if isinstance(scores, Mapping) else named["output_key"]
        verdict = self.keep(batch, scores, ctx)
        mask, reasons = verdict if isinstance(verdict, tuple) else (verdict, self.default_reason)
        mask = np.asarray(mask, dtype=bool)
        as_array = not isinstance(scores, Mapping)  # a single score column is written as an array
        written = {ctx.cols[name]: np.asarray(_values(values)) if as_array else _values(values)
                   for name, values in named.items()
                   if name in self._bindings and self._bindings[name].role == "output" and ctx.cols.get(name)}
        out = batch.assign(**written) if written else batch
        result = split_dropped(out, mask, reasons, list(written))
        if rejected is not None:
            result.rejected = rejected
            result.kept = None  # rejected rows left too: the engine matches the survivors by row id
        return result


class RangeFilter(Filter):
    """A filter keeping rows whose score lies in ``[min_value, max_value]`` (either bound optional).

    Subclasses implement :meth:`score` and call ``super().__init__(min_value=..., max_value=...)``; the
    drop reasons name the bound that failed, e.g. ``"word_count < 20"``.
    """

    score_name: ClassVar[str] = "score"

    def __init__(self, min_value: float | None = None, max_value: float | None = None,
                 llm_serving: Any = None) -> None:
        super().__init__(llm_serving)
        self.min_value, self.max_value = min_value, max_value

    def keep(self, batch: pd.DataFrame, scores: Any, ctx: StepContext) -> Any:
        values = np.asarray(scores, dtype=float)
        mask = np.ones(len(values), dtype=bool)
        reasons = np.full(len(values), "", dtype=object)
        if self.max_value is not None:
            high = values > self.max_value
            reasons[high] = f"{self.score_name} > {self.max_value}"
            mask &= ~high
        if self.min_value is not None:
            low = (values < self.min_value) | np.isnan(values)
            reasons[low] = f"{self.score_name} < {self.min_value}"
            mask &= ~low
        return mask, reasons


class DatasetOperator(Operator):
    """An operator that needs the whole dataset: a barrier in the pipeline, run in two streaming passes.

    1. :meth:`scan` runs on every chunk (in parallel) and returns a small, picklable state;
    2. :meth:`decide` runs once on the states of all chunks, in chunk order, and returns a decision;
    3. :meth:`apply` runs on every chunk with that decision and returns a :class:`BatchResult`.

    Memory stays bounded by the states (e.g. signatures), never the rows.
    """

    granularity = "dataset"

    def scan(self, batch: pd.DataFrame, ctx: StepContext) -> Any:
        raise NotImplementedError

    def decide(self, states: list[Any]) -> Any:
        raise NotImplementedError

    def apply(self, batch: pd.DataFrame, decision: Any, ctx: StepContext) -> BatchResult:
        raise NotImplementedError


# --------------------------------------------------------------------- helpers shared by the kinds
def _values(col: Any) -> Any:
    return col.to_numpy() if isinstance(col, pd.Series) else col


def _is_reject(value: Any) -> bool:
    return type(value) is Reject


def _reject_reasons(columns: Any) -> dict[int, str]:
    """{row position: reason} of the rows holding a :class:`Reject` in any of ``columns`` (value
    sequences of equal length); the first column's reason wins."""
    reasons: dict[int, str] = {}
    for col in columns:
        col = _values(col)
        if isinstance(col, np.ndarray) and (col.dtype != object or _all_strings(col)):
            continue  # typed arrays and all-string ones cannot hold a Reject: skip the scan
        for i, value in enumerate(col):
            if _is_reject(value):
                reasons.setdefault(i, value.reason)
    return reasons


def _all_strings(values: Any) -> bool:
    """Whether every value is a str (one pass in C, stopping at the first other value)."""
    return pd.api.types.infer_dtype(values, skipna=False) == "string"


def _rejected_rows(batch: pd.DataFrame, reasons: dict[int, str]) -> tuple[np.ndarray, pd.DataFrame]:
    """(mask of the rows not in ``reasons``, the rows in it with their reasons)."""
    bad = sorted(reasons)
    ok = np.ones(len(batch), dtype=bool)
    ok[bad] = False
    return ok, batch.iloc[bad].assign(**{REJECT_REASON: [reasons[i] for i in bad]})


def _rejects(batch: pd.DataFrame, columns: Any) -> tuple[np.ndarray | None, pd.DataFrame | None]:
    """Split off the rows of ``batch`` holding a :class:`Reject` in ``columns``: (mask of the other rows,
    the rejected rows with their reasons), or (None, None) when there are none."""
    reasons = _reject_reasons(columns)
    return _rejected_rows(batch, reasons) if reasons else (None, None)


def _take(values: Any, mask: np.ndarray) -> Any:
    if isinstance(values, (pd.Series, np.ndarray)):
        return values[mask]
    return [v for v, k in zip(values, mask) if k]


def _assign(batch: pd.DataFrame, columns: dict[str, Any]) -> BatchResult:
    if not columns:
        return BatchResult(batch)
    values = {}
    for name, col in columns.items():
        col = _values(col)
        if len(col) != len(batch):
            raise ValueError(f"column '{name}' has {len(col)} values for {len(batch)} rows")
        values[name] = col
    ok, rejected = _rejects(batch, values.values())
    if rejected is not None:
        batch = batch[ok]
        values = {name: _take(col, ok) for name, col in values.items()}
    out = batch.assign(**values)
    return BatchResult(out, written=list(values), rejected=rejected)


def expand_rows(batch: pd.DataFrame, produced: pd.DataFrame, no_output_reason: str) -> BatchResult:
    """Rows of ``produced`` (with a ``_parent`` column of positions in ``batch``) replace their parents.

    Children inherit the parent's columns and get ids ``<parent id>.<k>``; parents without children are
    dropped with ``no_output_reason``, or with their own reason where ``produced.attrs["no_output_reasons"]``
    (one entry per row of ``batch``, None for the default) gives one; parents of a row holding a
    :class:`Reject` go to the rejects with its reason (their other children are discarded). Generators
    that add rows use it (directly, or by returning such a DataFrame from :meth:`Generator.generate`)."""
    if "_parent" not in produced.columns:
        raise ValueError("a generated DataFrame needs a '_parent' column (input row positions)")
    own = produced.attrs.get("no_output_reasons")
    why_empty = np.array([r or no_output_reason for r in own] if own is not None else [no_output_reason] * len(batch),
                         dtype=object)
    rejected = None
    new_cols = [c for c in produced.columns if c != "_parent"]
    child_reasons = _reject_reasons(produced[c] for c in new_cols)
    if child_reasons:
        of_child = produced["_parent"].to_numpy(dtype=np.int64)
        reasons: dict[int, str] = {}
        for child, why in sorted(child_reasons.items()):
            reasons.setdefault(int(of_child[child]), why)
        ok, rejected = _rejected_rows(batch, reasons)
        survivors = ok[of_child]
        # The surviving children point at their parents' positions in the batch without the rejects.
        produced = produced[survivors].assign(_parent=(np.cumsum(ok) - 1)[of_child[survivors]])
        batch, why_empty = batch[ok], why_empty[ok]
    parents = produced["_parent"].to_numpy(dtype=np.int64)
    base = batch.iloc[parents].reset_index(drop=True)
    for c in new_cols:
        base[c] = produced[c].to_numpy()
    # Child ids: "<parent id>.<k>" with k counting that parent's children, so ids stay stable on re-runs.
    k = pd.Series(parents).groupby(parents).cumcount().to_numpy()
    base[ROW_ID] = [f"{p}.{i}" for p, i in zip(base[ROW_ID].tolist(), k.tolist())]
    has_child = np.zeros(len(batch), dtype=bool)
    has_child[parents] = True
    dropped = None
    if not has_child.all():
        dropped = batch[~has_child].assign(**{DROP_REASON: why_empty[~has_child]})
    return BatchResult(base, written=new_cols, dropped=dropped, rejected=rejected, rows_changed=True)


def split_dropped(frame: pd.DataFrame, mask: np.ndarray, reasons: Any, written: Sequence[str] = ()
                  ) -> BatchResult:
    """Split ``frame`` by ``mask`` into kept rows and dropped rows annotated with their reasons."""
    if mask.all():
        return BatchResult(frame, written=list(written))
    drop = ~mask
    if isinstance(reasons, str):
        why: Any = reasons
    else:
        why = np.asarray(reasons, dtype=object)[drop]
    dropped = frame[drop].assign(**{DROP_REASON: why})
    return BatchResult(frame[mask], written=list(written), dropped=dropped, kept=mask)


def _build_params_model(cls: type[Operator]):
    import pydantic

    init = cls.__init__
    target = getattr(init, "__wrapped__", init)
    sig = inspect.signature(target)
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # unresolved forward references: fall back to Any rather than fail
        hints = {}
    fields: dict[str, Any] = {}
    extra = "forbid"
    for name, p in list(sig.parameters.items())[1:]:
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            extra = "allow"
            continue
        if p.kind is inspect.Parameter.VAR_POSITIONAL or name in runtime_params():
            continue
        annotation = hints.get(name, Any)
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[name] = (annotation, default)
    config = pydantic.ConfigDict(extra=extra, arbitrary_types_allowed=True)
    return pydantic.create_model(f"{cls.__name__}Params", __config__=config, **fields)
