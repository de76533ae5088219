"""SQL databases the experts act on: read-only guard, connections, schema introspection."""

from .database import (
    ColumnInfo,
    Database,
    QueryFailed,
    QueryResult,
    SchemaInfo,
    TableInfo,
    open_database,
)
from .guard import check_read_only

__all__ = [
    "ColumnInfo",
    "Database",
    "QueryFailed",
    "QueryResult",
    "SchemaInfo",
    "TableInfo",
    "check_read_only",
    "open_database",
]
