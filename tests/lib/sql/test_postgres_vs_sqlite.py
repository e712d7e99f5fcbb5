"""Spider-train databases copied into a real PostgreSQL: their gold queries, transpiled by
:func:`dataflow.lib.sql.sqlite_to_postgres.sqlite_to_postgres` (sqlglot plus the SQLite semantics gold SQL
relies on), return what they return on SQLite (>= 95%); the rest are printed by cause.
"""

from __future__ import annotations

import collections
import json
import time

import pytest

from dataflow.lib.sql import DatabaseSet, has_order_by, results_match
from tests.shared_fixtures import FIXTURES

SPIDER = FIXTURES / "text2sql/spider"
DATABASES = 20
pytestmark = pytest.mark.skipif(not SPIDER.exists(), reason="Spider fixtures not present")



def chosen_databases() -> list[str]:
    """Every 6th of the databases under 300 KB (sorted by name; music_2 has no rows): 20 of them."""
    root = SPIDER / "database"
    names = sorted(p.name for p in root.iterdir() if p.name != "music_2"
                   and (p / f"{p.name}.sqlite").stat().st_size < 300_000)
    return names[::max(1, len(names) // DATABASES)][:DATABASES]


def test_gold_queries_on_postgres_match_sqlite(postgres_url, capsys):
    from dataflow.lib.sql.sqlite_to_postgres import column_kinds, copy_sqlite_to_postgres, sqlite_to_postgres

    start = time.monotonic()
    names = chosen_databases()
    types = {}
    for name in names:
        path = SPIDER / "database" / name / f"{name}.sqlite"
        copy_sqlite_to_postgres(path, postgres_url, name)
        types[name] = column_kinds(path)
    lite = DatabaseSet(db_root=str(SPIDER / "database"))
    pg = DatabaseSet(db_url=postgres_url)
    causes: collections.Counter = collections.Counter()
    examples: dict[str, str] = {}
    compared = 0
    for row in json.loads((SPIDER / "train_spider.json").read_text()):
        if row["db_id"] not in types:
            continue
        gold = lite.execute(row["db_id"], row["query"])
        if not gold.ok:
            continue
        compared += 1
        try:
            sql = sqlite_to_postgres(row["query"], types[row["db_id"]])
        except Exception as exc:  # noqa: BLE001 - a sqlglot failure is a cause like any other
            causes[f"transpile: {type(exc).__name__}"] += 1
            continue
        result = pg.execute(row["db_id"], sql)
        if not result.ok:
            cause = f"postgres error: {result.error.split(':')[0][:60]}"
        elif results_match(gold.rows, result.rows, has_order_by(row["query"]), float_tolerance=1e-6):
            causes["same"] += 1
            continue
        elif has_order_by(row["query"]) and "limit" in row["query"].lower():
            cause = "different result: ties under ORDER BY ... LIMIT"
        elif has_order_by(row["query"]) and results_match(gold.rows, result.rows, float_tolerance=1e-6):
            cause = "same rows, ties in another order under ORDER BY"
        else:
            cause = "different result"
        causes[cause] += 1
        examples.setdefault(cause, f"{row['query']}  ->  {sql}")
    lite.close()
    pg.close()
    same = causes.pop("same", 0)
    with capsys.disabled():
        print(f"\n{len(names)} Spider databases in PostgreSQL, {compared} runnable gold queries: {same} same "
              f"({same / compared:.1%}), {time.monotonic() - start:.1f}s")
        print(f"{'count':>5}  cause  (first example)")
        for cause, count in causes.most_common():
            print(f"{count:>5}  {cause}  ({examples[cause][:150]})")
    assert compared > 900
    assert same / compared >= 0.95
