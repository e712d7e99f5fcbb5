"""SQL databases for text-to-SQL data: safe execution (read-only, time-limited, row-capped), schema
introspection rendered for prompts, and result comparison with Spider test-suite semantics.

A pure library: it imports nothing from ``dataflow.operators`` or ``dataflow.serving``; ``psycopg`` and
``sqlglot`` (the ``text2sql`` extra) are imported on first use.
"""

from dataflow.lib.sql.compare import has_order_by, normalize_value, results_match, values_equal
from dataflow.lib.sql.database import Database, DatabaseSet, ExecResult, PostgresDatabase, SQLiteDatabase
from dataflow.lib.sql.schema import Column, ForeignKey, Schema, Table

__all__ = ["Column", "Database", "DatabaseSet", "ExecResult", "ForeignKey", "PostgresDatabase", "SQLiteDatabase",
           "Schema", "Table", "has_order_by", "normalize_value", "results_match", "values_equal"]
