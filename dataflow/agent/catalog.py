"""The operator catalogue the agent plans from, and a shortlist of it for one request.

A :class:`Catalog` holds one :class:`CatalogEntry` per registered operator, built from the registry's
metadata (what ``dataflow ops list --json`` prints), so it covers whatever domains and plugins are
installed. A small model cannot read the whole catalogue in its prompt, so :meth:`Catalog.shortlist`
picks the entries for a request by BM25 (:class:`dataflow.lib.retrieval.BM25Index`) over each
operator's name (CamelCase split into words), summary, description, param names, domain and kind. The
query is the request plus the data's column names. Words are folded to a crude stem on both sides
(``duplicates`` and ``duplicate`` match). An operator whose required input columns all exist in the data
gets a small boost (:data:`INPUT_MATCH_BOOST`), since it can run without an earlier step.

``render()`` gives the compact text a prompt shows per entry: name, kind, the one-line summary, the
bindings (required inputs first) and the key params with their defaults.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: Multiplier of the BM25 score of an operator whose required input columns are all in the data.
INPUT_MATCH_BOOST = 1.25
#: Multiplier of the BM25 score per word of the operator's name that the request says (names are the most
#: telling metadata: "remove exact duplicate texts" is ExactDeduplicateFilter, not NgramHashDeduplicateFilter).
NAME_MATCH_BOOST = 1.3
#: Words of operator names that say nothing about what an operator is for.
_GENERIC_NAME_WORDS = frozenset({"filter", "refin", "refiner", "generator", "evaluator", "remov", "remover", "text", "sampl", "agentic",
                                 "rag", "code", "sql", "text2sql", "reason", "answer"})
#: Params a prompt does not need to see: the operator's defaults are right for a plan.
HIDDEN_PARAMS = frozenset({"prompt_template", "system_prompt", "max_tokens", "llm_serving"})
MAX_SHOWN_PARAMS = 6

# Request words (stemmed) -> the words operator docs use for them (stemmed). Languages by name are
# asked for by code in the params (``allowed_languages=["en"]``).
SYNONYMS = {
    "english": "languag en", "french": "languag fr", "german": "languag de", "chines": "languag zh",
    "spanish": "languag es", "russian": "languag ru", "japanes": "languag ja", "duplicat": "dedup",
    "long": "length min max", "short": "length min max", "length": "min max", "toxic": "toxicity",
    "personal": "pii", "privacy": "pii", "secret": "credential", "password": "credential",
    "word": "number count", "character": "char number count", "empty": "null blank whitespac",
    "blank": "empty null whitespac",
}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[A-Za-z0-9]+")


@dataclass
class CatalogEntry:
    """One operator as the agent sees it (a slice of the registry's metadata)."""

    name: str
    domain: str
    kind: str
    summary: str
    description: str
    params: dict[str, Any]  # the params JSON schema
    run_args: dict[str, dict[str, Any]]  # binding name -> role, default, dtype, nullable, description
    resources: list[str]
    missing_requirements: list[str]  # pip names of optional dependencies that are not installed

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> CatalogEntry:
        return cls(meta["name"], meta["domain"], meta["kind"], meta["summary"], meta["description"],
                   meta["params"], meta["run_args"], list(meta.get("resources", [])),
                   [r["pip"] for r in meta.get("requires", []) if not r.get("installed", True)])

    @property
    def inputs(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.run_args.items() if v["role"] == "input"}

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.run_args.items() if v["role"] == "output"}

    @property
    def required_inputs(self) -> dict[str, dict[str, Any]]:
        """Input bindings that must name a column (not optional)."""
        return {k: v for k, v in self.inputs.items() if not (v.get("nullable") and v.get("default") is None)}

    def search_text(self) -> str:
        # The name and the summary say what the operator is for: counted twice against the long description.
        head = f"{split_name(self.name)} {self.summary}"
        words = [head, head, self.description, self.domain.replace("_", " "), self.kind]
        words += [p.replace("_", " ") for p in self.params.get("properties", {})]
        return " ".join(words)

    def render(self) -> str:
        """``Name [kind, domain, uses llm]: summary`` then the bindings and the key params, one line each."""
        tags = [self.kind, self.domain, *(f"uses {r}" for r in self.resources)]
        if self.missing_requirements:
            tags.append("needs pip " + " ".join(self.missing_requirements))
        required = self.required_inputs
        binds = [f"{k}={_show(v['default'])} ({'input' if k in required else 'optional input'})"
                 for k, v in self.inputs.items()]
        binds += [f"{k}={_show(v['default'])} (output)" for k, v in self.outputs.items()]
        lines = [f"{self.name} [{', '.join(tags)}]: {self.summary}"]
        if binds:
            lines.append("  run: " + ", ".join(binds))
        params = self.key_params()
        if params:
            lines.append("  params: " + ", ".join(params))
        return "\n".join(lines)

    def key_params(self) -> list[str]:
        """``name: type = default`` (or ``required``) for the first params a plan may set."""
        props = self.params.get("properties", {})
        required = set(self.params.get("required", []))
        shown = []
        for name, prop in props.items():
            if name in HIDDEN_PARAMS and name not in required:
                continue
            value = "required" if name in required else f"= {_show(prop.get('default'))}"
            shown.append(f"{name}: {_type_name(prop)} {value}")
        return shown[:MAX_SHOWN_PARAMS] + (["..."] if len(shown) > MAX_SHOWN_PARAMS else [])


class Catalog:
    """Every operator the registry knows, as :class:`CatalogEntry` s, with retrieval over them."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self.entries = {e.name: e for e in entries}
        self._index = None
        self._said: dict[str, set[str]] = {}
        self._weights: dict[str, float] | None = None  # catalogue word -> IDF
        self._word_weight: dict[str, float] = {}  # a request's word -> its weight (word_weight)

    @classmethod
    def from_registry(cls, names: Iterable[str] | None = None) -> Catalog:
        from dataflow.core.registry import OPERATORS, operator_metadata

        classes = OPERATORS.all()
        picked = classes if names is None else {n: OPERATORS.get(n) for n in names}
        return cls(CatalogEntry.from_metadata(operator_metadata(c)) for c in picked.values())

    def __len__(self) -> int:
        return len(self.entries)

    def said(self, name: str) -> set[str]:
        """The stemmed words operator ``name``'s name, summary, description, param names, binding names and
        default columns say."""
        if name not in self._said:
            e = self.entries[name]
            columns = [f"{k} {v['default']}" if isinstance(v.get("default"), str) else k for k, v in e.run_args.items()]
            self._said[name] = set(stem_text(" ".join([e.name, e.summary, e.description, *columns,
                                                        *e.params.get("properties", {})]).replace("_", " ")).split())
        return self._said[name]

    def word_weight(self, word: str) -> float:
        """The IDF over the operators of the rarest catalogue word that says stemmed ``word`` (rare words
        weigh more); a word no operator says weighs most of all. Memoised: each candidate of each action
        asks again for the same words."""
        import math

        if self._weights is None:
            from collections import Counter

            df = Counter(w for name in self.entries for w in self.said(name))
            self._weights = {w: math.log(1 + len(self.entries) / c) for w, c in df.items()}
        if word not in self._word_weight:
            unseen = math.log(1 + 2 * len(self.entries))
            self._word_weight[word] = max((v for w, v in self._weights.items() if _says({w}, word)), default=unseen)
        return self._word_weight[word]

    def __getitem__(self, name: str) -> CatalogEntry:
        return self.entries[name]

    def index(self) -> Any:
        if self._index is None:
            from dataflow.lib.retrieval import BM25Index

            names = list(self.entries)
            self._index = BM25Index(names, [stem_text(self.entries[n].search_text()) for n in names])
        return self._index

    def shortlist(self, request: str, columns: Sequence[str] = (), n: int = 12) -> list[CatalogEntry]:
        """The ``n`` entries that best match ``request`` (and the data's ``columns``), best first."""
        query = expand_query(stem_text(" ".join([request, *(c.replace("_", " ") for c in columns)])))
        hits = self.index().search([query], k=len(self.entries))[0]
        available = set(columns)
        said = set(expand_query(stem_text(request)).split())  # "word" says WordNumberFilter's "number" too

        def score(hit: Any) -> float:
            needed = {v["default"] for v in self.entries[hit.id].required_inputs.values()}
            fits = available and None not in needed and needed <= available
            named = sum(_says(said, w) for w in set(stem_text(hit.id).split()) - _GENERIC_NAME_WORDS)
            return hit.score * (INPUT_MATCH_BOOST if fits else 1.0) * NAME_MATCH_BOOST ** named

        ranked = sorted(hits, key=lambda h: (-score(h), h.id))
        return [self.entries[h.id] for h in ranked[:n]]

    @staticmethod
    def render(entries: Iterable[CatalogEntry]) -> str:
        return "\n".join(e.render() for e in entries)


def _says(words: set[str], name_word: str) -> bool:
    """Whether the request's stemmed ``words`` say ``name_word`` (or a longer or shorter form of it:
    "extract" and "extraction")."""
    return any(w == name_word or (min(len(w), len(name_word)) >= 5 and (w.startswith(name_word)
               or name_word.startswith(w))) for w in words)


def expand_query(stemmed: str) -> str:
    """Add the words operators use for what a request says in other words (stemmed; see :data:`SYNONYMS`)."""
    extra = [SYNONYMS[w] for w in stemmed.split() if w in SYNONYMS]
    return " ".join([stemmed, *extra])


def split_name(name: str) -> str:
    """``MinHashDeduplicateFilter`` -> ``Min Hash Deduplicate Filter``."""
    return _CAMEL.sub(" ", name)


def stem(word: str) -> str:
    """A crude English stem, the same for documents and queries: ``duplicates``, ``duplicated``,
    ``deduplicating`` and ``duplicate`` fold to ``duplicat``, ``deduplicat``."""
    w = word.lower()
    if len(w) <= 3:
        return w
    if w.endswith("ies"):
        w = w[:-3] + "y"
    elif w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    elif w.endswith("ing") and len(w) >= 6:
        w = w[:-3]
    elif w.endswith("ed") and len(w) >= 5:
        w = w[:-2]
    return w[:-1] if w.endswith("e") and len(w) >= 4 else w


def stem_text(text: str) -> str:
    return " ".join(stem(w) for w in _WORD.findall(split_name(text)))


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def _type_name(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return "|".join(map(str, prop["enum"]))
    if "anyOf" in prop:
        return "|".join(_type_name(p) for p in prop["anyOf"] if p.get("type") != "null") + "?"
    typ = prop.get("type", "any")
    return f"list[{_type_name(prop['items'])}]" if typ == "array" and "items" in prop else typ
