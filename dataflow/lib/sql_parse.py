"""SQL as parsed trees (sqlglot): parse errors, Spider hardness, query templates, dialect transpiling.

Pure functions over query text; no database. sqlglot is imported on first use, so importing this module
costs nothing when the Text-to-SQL extra is not installed.

* :func:`parse_query` parses one statement in a dialect and raises :class:`SQLParseError` with a
  one-line message (sqlglot's own carries terminal escape codes and several lines).
* :func:`spider_hardness` / :func:`spider_counts`: the hardness of Spider's evaluation script
  (Yu et al., 2018), counted on the tree. See :func:`spider_counts` for the rules.
* :func:`sql_template`: the query with its literals masked and its identifiers normalised, so that
  queries differing only in constants (or in the case and quoting of names) compare equal.
* :func:`transpile`: one query from one dialect to another; constructs the target cannot express raise.
* :func:`extract_sql`: the SQL query in a model's free-text answer (its last fenced code block).
"""

from __future__ import annotations

import re
from typing import Any

HARDNESS_LEVELS = ("easy", "medium", "hard", "extra")
#: The optional dependency, as operators declare it in ``requires``.
SQLGLOT = {"sqlglot": "sqlglot==30.31.0"}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# sqlglot names the token it stopped at by its repr; the message keeps only the text.
_TOKEN = re.compile(r"<Token token_type: [^,]*, text: (.*?), line: \d+, col: \d+, start: \d+, end: \d+, "
                    r"comments: \[.*?\]>")


class SQLParseError(ValueError):
    """The text is not one SQL statement in the dialect; the message says why and where."""


def error_message(exc: Exception) -> str:
    """One line from a sqlglot error: the first problem, with its line and column when known."""
    errors = getattr(exc, "errors", None)
    if errors:
        first = errors[0]
        where = ""
        if first.get("line") is not None:
            where = f" (line {first['line']}, col {first['col']}"
            near = (first.get("highlight") or "").strip()
            where += f", near {near!r})" if near else ")"
        description = _TOKEN.sub(lambda m: repr(m.group(1)), first.get("description") or "parse error")
        return f"{description}{where}"
    text = _ANSI.sub("", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def parse_query(sql: str, dialect: str = "sqlite", *, require_query: bool = True,
                sqlite_quoted_strings: bool = True) -> Any:
    """The tree of the one statement in ``sql`` (a trailing ``;`` is allowed).

    Raises :class:`SQLParseError` when it does not parse, holds no or several statements, or, with
    ``require_query``, is not a query (SELECT, a set operation, VALUES; sqlglot reads a bare
    ``hello world`` as a column with an alias).

    ``sqlite_quoted_strings``: SQLite reads ``"France"`` as a string when no column has that name, and
    Spider's gold SQL writes strings that way (a fifth of its queries); sqlglot reads it as a column.
    In the ``sqlite`` dialect, an unqualified double-quoted name on the value side of a comparison,
    ``LIKE``, ``IN`` or ``BETWEEN`` is therefore taken as a string literal, so that templates mask it
    and other dialects receive ``'France'``."""
    import sqlglot
    from sqlglot import exp

    if not isinstance(sql, str) or not sql.strip():
        raise SQLParseError("empty SQL")
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        raise SQLParseError(error_message(exc)) from None
    if len(statements) != 1:
        raise SQLParseError(f"expected one statement, found {len(statements)}")
    tree = statements[0]
    if dialect == "sqlite" and sqlite_quoted_strings:
        tree = _quoted_values_as_strings(tree)
    if require_query and not isinstance(tree, exp.Query):
        raise SQLParseError(f"not a query: {type(tree).__name__.upper()} statement")
    return tree


def _quoted_values_as_strings(tree: Any) -> Any:
    from sqlglot import exp

    predicates = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike, exp.In,
                  exp.Between, exp.Glob)

    def literal(node: Any) -> Any:
        if isinstance(node, exp.Column) and not node.table and node.this.quoted and \
                isinstance(node.parent, predicates) and node.arg_key != "this":
            return exp.Literal.string(node.name)
        return node

    return tree.transform(literal)


# ------------------------------------------------------------------------------------ Spider hardness
def _main_select(tree: Any) -> tuple[Any, int]:
    """(the query that Spider calls the main one, 1 if a set operation follows it else 0).

    Spider's parser reads ``A UNION B UNION C`` as A with ``union = (B UNION C)``: the main query is the
    leftmost SELECT and the set operation is one nested query. sqlglot nests to the left."""
    from sqlglot import exp

    set_op = 0
    while isinstance(tree, (exp.SetOperation, exp.Subquery)):
        if isinstance(tree, exp.SetOperation):
            set_op = 1
        tree = tree.this
    return tree, set_op


def _conditions(expr: Any) -> tuple[list[Any], int, int]:
    """(leaf conditions, ANDs, ORs) of an AND/OR tree, through parentheses."""
    from sqlglot import exp

    if expr is None:
        return [], 0, 0
    if isinstance(expr, exp.Paren):
        return _conditions(expr.this)
    if isinstance(expr, exp.Connector):
        left, lands, lors = _conditions(expr.this)
        right, rands, rors = _conditions(expr.expression)
        is_and = isinstance(expr, exp.And)
        return left + right, lands + rands + is_and, lors + rors + (not is_and)
    return [expr], 0, 0


def _negated(cond: Any) -> bool:
    """Spider's ``not_op``: NOT before the operator (NOT IN, NOT LIKE, NOT BETWEEN, NOT EXISTS).
    Spider's parser cannot read ``IS NOT NULL``; it counts here as a plain IS condition."""
    from sqlglot import exp

    if isinstance(cond, exp.Not):
        return not isinstance(cond.this, exp.Is)
    return bool(cond.args.get("negate"))


def _is_like(cond: Any) -> bool:
    from sqlglot import exp

    inner = cond.this if isinstance(cond, exp.Not) else cond
    return isinstance(inner, (exp.Like, exp.ILike))


def _agg_units(expr: Any) -> int:
    """Aggregates among the (at most two) operands of one Spider value unit: ``max(a) - min(a)``: 2."""
    from sqlglot import exp

    if isinstance(expr, exp.Paren):
        return _agg_units(expr.this)
    if isinstance(expr, (exp.Add, exp.Sub, exp.Mul, exp.Div)):
        return _agg_units(expr.this) + _agg_units(expr.expression)
    return int(isinstance(expr, exp.AggFunc))


def _leading_agg(expr: Any) -> bool:
    """A SELECT item's aggregate in Spider's parse: the one it starts with (``max(a) - min(a)``: one)."""
    from sqlglot import exp

    expr = expr.unalias() if isinstance(expr, exp.Alias) else expr
    while isinstance(expr, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Paren)):
        expr = expr.this
    return isinstance(expr, exp.AggFunc)


def spider_counts(tree: Any) -> tuple[int, int, int]:
    """(component1, component2, others) of a parsed query, as Spider's ``evaluation.py`` counts them.

    Counted on the main query only (the leftmost SELECT of a set operation; nested queries are not
    looked into):

    * component1: one each for WHERE, GROUP BY, ORDER BY, LIMIT; one per table joined beyond the first
      (``JOIN`` or comma); one per ``OR`` and one per ``LIKE`` among the conditions of ON, WHERE and
      HAVING.
    * component2: one per nested query: a subquery in a condition of ON, WHERE or HAVING (``IN
      (SELECT ...)``, ``> (SELECT ...)``, ``EXISTS``), and one for a following UNION / INTERSECT /
      EXCEPT. A subquery in FROM is a table, not a nested query.
    * others: one each for more than one aggregate, more than one SELECT item, more than one WHERE
      condition, more than one GROUP BY column.

    The aggregate count is the official script's, quirks included, so that labels match published
    Spider breakdowns: it counts the SELECT items that start with an aggregate, the aggregates in
    GROUP BY and ORDER BY items (two for ``sum(a) - sum(b)``), and, because the script reads the
    ``not`` flag of a condition where it means its aggregate, the negated conditions (``NOT IN``,
    ``NOT LIKE``, ...) of WHERE and HAVING plus every AND/OR joining HAVING conditions; an aggregate
    inside HAVING itself is not counted.

    Checked against the official parser and counters on Spider train: the level agrees on 6,997 of
    the 6,999 queries that parser reads; the two others compare two columns joined by OR, where the
    official parser drops the condition after the OR.
    """
    from sqlglot import exp

    select, set_op = _main_select(tree)
    if not isinstance(select, exp.Select):
        return 0, set_op, 0
    where = _conditions(select.args["where"].this) if select.args.get("where") else ([], 0, 0)
    having = _conditions(select.args["having"].this) if select.args.get("having") else ([], 0, 0)
    joins = select.args.get("joins") or []
    on = [_conditions(j.args.get("on")) for j in joins]
    conds = where[0] + having[0] + [c for leaves, _, _ in on for c in leaves]
    ors = where[2] + having[2] + sum(o for _, _, o in on)
    group = select.args["group"].expressions if select.args.get("group") else []
    order = select.args["order"].expressions if select.args.get("order") else []

    comp1 = sum(bool(select.args.get(k)) for k in ("where", "group", "order", "limit"))
    comp1 += len(joins) + ors + sum(_is_like(c) for c in conds)

    queries = (exp.Select, exp.SetOperation)
    nested = [q for c in conds for q in c.find_all(*queries) if q.find_ancestor(*queries) is select]
    comp2 = len(nested) + set_op

    aggs = sum(_leading_agg(e) for e in select.expressions)
    aggs += sum(_agg_units(e) for e in group) + sum(_agg_units(o.this) for o in order)
    aggs += sum(_negated(c) for c in where[0]) + sum(_negated(c) for c in having[0])
    aggs += having[1] + having[2]
    others = (aggs > 1) + (len(select.expressions) > 1) + (len(where[0]) > 1) + (len(group) > 1)
    return comp1, comp2, int(others)


def hardness_of_counts(comp1: int, comp2: int, others: int) -> str:
    """Spider's thresholds over the three counts."""
    if comp1 <= 1 and others == 0 and comp2 == 0:
        return "easy"
    if comp2 == 0 and ((others <= 2 and comp1 <= 1) or (comp1 <= 2 and others < 2)):
        return "medium"
    if (comp2 == 0 and ((others > 2 and comp1 <= 2) or (2 < comp1 <= 3 and others <= 2))) or \
            (comp1 <= 1 and others == 0 and comp2 <= 1):
        return "hard"
    return "extra"


def spider_hardness(tree: Any) -> str:
    """easy / medium / hard / extra of a parsed query (:func:`spider_counts`, Spider's thresholds)."""
    return hardness_of_counts(*spider_counts(tree))


# ------------------------------------------------------------------------------------ templates
def sql_template(tree: Any, dialect: str = "sqlite", *, mask_literals: bool = True,
                 normalize_identifiers: bool = True, strip_aliases: bool = False) -> str:
    """The query's template text: literals masked, names normalised, one canonical layout.

    ``mask_literals``: every number and string becomes ``?`` (``LIMIT 3`` too; ``NULL``, ``TRUE`` and
    ``*`` stay). ``normalize_identifiers``: names lowercased and unquoted (``"Name"`` == ``name``).
    ``strip_aliases``: table aliases are replaced by the table name and column aliases dropped
    (``FROM singer AS T1 ... T1.name`` == ``FROM singer ... singer.name``). The layout is sqlglot's
    generated SQL, so whitespace, keyword case and optional ``AS`` never matter."""
    from sqlglot import exp

    tree = tree.copy()
    if strip_aliases:
        tables: dict[str, str] = {}
        for table in tree.find_all(exp.Table):
            if table.alias:
                tables[table.alias.lower()] = table.name
                table.set("alias", None)
        for col in tree.find_all(exp.Column):
            if col.table and col.table.lower() in tables:
                col.set("table", exp.to_identifier(tables[col.table.lower()]))
        tree = tree.transform(lambda n: n.this if isinstance(n, exp.Alias) else n)
    if mask_literals:
        tree = tree.transform(lambda n: exp.Placeholder() if isinstance(n, exp.Literal) else n)
    if normalize_identifiers:
        for ident in tree.find_all(exp.Identifier):
            ident.set("this", ident.name.lower())
            ident.set("quoted", False)
    return tree.sql(dialect=dialect)


# ------------------------------------------------------------------------------------ dialects
def transpile(sql: str, read: str = "sqlite", write: str = "postgres", *, pretty: bool = False) -> str:
    """``sql`` (one query in ``read``: SELECT, a set operation, VALUES) written in ``write``.

    Raises :class:`SQLParseError` when it does not parse, and ``ValueError`` when it uses something
    ``write`` cannot express (sqlglot's unsupported-construct check, raised instead of warned)."""
    import sqlglot
    from sqlglot.errors import ErrorLevel

    tree = parse_query(sql, read)
    try:
        return tree.sql(dialect=write, pretty=pretty, unsupported_level=ErrorLevel.RAISE)
    except sqlglot.errors.SqlglotError as exc:
        raise ValueError(f"unsupported in {write}: {error_message(exc)}") from None


def format_sql(tree: Any, dialect: str = "sqlite", *, pretty: bool = True) -> str:
    """The tree as canonical SQL text in ``dialect`` (sqlglot's layout, one line unless ``pretty``)."""
    return tree.sql(dialect=dialect, pretty=pretty)


# ------------------------------------------------------------------------------------ model answers
# A fenced code block: ``` ... ``` (its first word may be a language tag, on its own line or not).
_FENCE = re.compile(r"```(.*?)```", re.S)
_TAG = re.compile(r"([A-Za-z0-9_+-]+)(?=\s)")
_SQL_TAGS = frozenset({"sql", "sqlite", "postgres", "postgresql", "psql", "mysql", "duckdb"})
_QUERY_START = re.compile(r"(?:--[^\n]*\n\s*)*\(*\s*(?:SELECT|WITH)\b", re.I)


def extract_sql(text: str | None) -> str | None:
    """The SQL query in a model's answer: the body of its LAST fenced code block tagged ``sql`` (or a SQL
    dialect: ``sqlite``, ``postgresql``, ...), else of its last untagged block that starts with SELECT or
    WITH; None when there is none (empty blocks are skipped).

    The last block wins because a reasoning answer drafts queries before its final one. Only closed
    blocks count (an answer cut off inside its block holds a truncated query). The query is returned
    stripped, without trailing semicolons; whether it parses or runs is for the caller to check."""
    if not isinstance(text, str):
        return None
    tagged: str | None = None
    untagged: str | None = None
    for match in _FENCE.finditer(text):
        block = match.group(1)
        tag = _TAG.match(block)
        if tag and tag.group(1).lower() in _SQL_TAGS:
            tagged = _statement(block[tag.end():]) or tagged
        elif _QUERY_START.match(block.lstrip()):
            untagged = _statement(block) or untagged
    return tagged if tagged is not None else untagged


def _statement(body: str) -> str:
    return body.strip().rstrip(";").strip()
