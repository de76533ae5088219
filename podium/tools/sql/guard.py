"""The read-only guard: only a single SELECT (WITH allowed) ever reaches a database.

It works on sqlglot's syntax tree, not on text patterns, so comments, string literals and odd
spacing cannot hide a second statement. It is one of two locks: connections are also opened
read-only (see :mod:`podium.tools.sql.database`), so a parser gap still cannot write.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from podium.errors import SQLRefused

# Statement kinds that change data, schema, session or files. Anything sqlglot cannot parse
# into a known statement becomes exp.Command (PRAGMA, ATTACH, VACUUM, ...) and is refused too.
_FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = tuple(
    t
    for t in (
        getattr(exp, name, None)
        for name in (
            "Insert",
            "Update",
            "Delete",
            "Merge",
            "Create",
            "Drop",
            "Alter",
            "AlterTable",
            "TruncateTable",
            "Command",
            "Pragma",
            "Attach",
            "Detach",
            "Set",
            "Use",
            "Transaction",
            "Commit",
            "Rollback",
            "LoadData",
            "Copy",
            "Into",
            "Lock",
            "Grant",
            "Revoke",
            "Analyze",
            "Cache",
            "Uncache",
            "Refresh",
            "Replace",
            "Install",
            "Summarize",
            "Kill",
            "Declare",
        )
    )
    if isinstance(t, type)
)

# Functions that read files, sleep, signal other sessions or change state.
FORBIDDEN_FUNCTIONS = frozenset(
    {
        # SQLite
        "load_extension",
        "readfile",
        "writefile",
        "edit",
        "fts3_tokenizer",
        "zipfile",
        # PostgreSQL
        "pg_sleep",
        "pg_sleep_for",
        "pg_sleep_until",
        "pg_read_file",
        "pg_read_binary_file",
        "pg_ls_dir",
        "pg_stat_file",
        "lo_import",
        "lo_export",
        "lo_unlink",
        "dblink",
        "dblink_exec",
        "set_config",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_rotate_logfile",
        "nextval",
        "setval",
        "pg_advisory_lock",
        "pg_advisory_xact_lock",
        "txid_current",
        "pg_switch_wal",
        "query_to_xml",
        # MySQL / others
        "sleep",
        "benchmark",
        "load_file",
        "get_lock",
        "xp_cmdshell",
    }
)

_ALLOWED_ROOTS = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)


def check_read_only(sql: str, dialect: str | None = None) -> exp.Expression:
    """Return the parsed statement if it is a single read-only query; raise SQLRefused if not."""
    text = (sql or "").strip()
    if not text:
        raise SQLRefused("empty query", hint="ask a question the database can answer")
    if "\x00" in text:
        raise SQLRefused("the query contains a NUL byte")
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except ParseError as exc:
        raise SQLRefused(
            f"the query is not valid {dialect or 'SQL'}: {_first_line(exc)}",
            hint="only a single SELECT statement is accepted",
        ) from exc
    except Exception as exc:  # sqlglot raises a few other errors on odd input
        raise SQLRefused(f"the query could not be parsed: {_first_line(exc)}") from exc
    if len(statements) != 1:
        raise SQLRefused(
            f"{len(statements)} statements found; only a single SELECT is allowed",
            hint="stacked statements (a; b) are refused so a question cannot hide a write",
        )
    tree = statements[0]
    if not isinstance(tree, _ALLOWED_ROOTS):
        raise SQLRefused(
            f"{tree.key.upper()} statements are not allowed; only SELECT (WITH allowed)",
            hint="Podium opens databases read-only: it answers questions, it never changes data",
        )
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise SQLRefused(
                f"the query contains a {node.key.upper()} clause, which can change data",
                hint="only plain SELECT queries are executed",
            )
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in FORBIDDEN_FUNCTIONS:
                raise SQLRefused(
                    f"function {name}() is not allowed: it has side effects or reads files"
                )
    return tree


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
