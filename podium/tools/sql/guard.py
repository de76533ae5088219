"""The read-only guard: only a single SELECT (WITH allowed) ever reaches a database.

It works on sqlglot's syntax tree, not on text patterns, so comments, string literals and odd
spacing cannot hide a second statement. It is one of two locks: connections are also opened
read-only (see :mod:`podium.tools.sql.database`), so a parser gap still cannot write.
"""

from __future__ import annotations

import re

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
            "Install",
            "Summarize",
            "Kill",
            "Declare",
        )
    )
    if isinstance(t, type)
)

# Functions that read files, sleep, signal other sessions or change state. On SQLite (a
# connection opened mode=ro with query_only) this list is the guard; on every other dialect
# a function must also be on SAFE_FUNCTIONS below (an allow-list: PostgreSQL alone has
# hundreds of admin functions — dblink_*, lo_*, pg_file_*, pg_notify, pg_promote, ... —
# and extensions add more, so a deny-list always has gaps).
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

# Functions a read-only question may use on PostgreSQL (and any dialect but SQLite), by the
# name the database itself runs: aggregates, maths, strings, dates, JSON, arrays, casts.
SAFE_FUNCTIONS = frozenset(
    """
    count sum avg min max every bool_and bool_or bit_and bit_or stddev stddev_pop stddev_samp
    variance var_pop var_samp corr covar_pop covar_samp regr_slope regr_intercept
    percentile_cont percentile_disc mode median string_agg array_agg json_agg jsonb_agg
    json_object_agg jsonb_object_agg xmlagg row_number rank dense_rank percent_rank cume_dist
    ntile lag lead first_value last_value nth_value
    abs ceil ceiling floor round trunc sign sqrt cbrt power pow exp ln log log10 mod div pi
    degrees radians sin cos tan asin acos atan atan2 greatest least random width_bucket gcd lcm
    factorial scale
    length char_length character_length octet_length bit_length lower upper initcap trim btrim
    ltrim rtrim lpad rpad substr substring left right replace translate reverse repeat concat
    concat_ws position strpos split_part regexp_replace regexp_match regexp_matches
    regexp_split_to_array regexp_split_to_table regexp_like regexp_count regexp_substr
    starts_with format to_char to_number to_date to_timestamp ascii chr md5 encode decode
    quote_ident quote_literal quote_nullable overlay string_to_array array_to_string unnest
    array_length array_position array_positions array_remove array_cat array_append
    array_prepend cardinality array_upper array_lower
    now current_date current_time current_timestamp localtime localtimestamp
    date_part date_trunc date_bin extract age make_date make_time make_timestamp
    make_timestamptz make_interval justify_days justify_hours justify_interval isfinite
    to_timestamp timezone
    coalesce nullif cast try_cast case if iif ifnull nvl
    json_build_object jsonb_build_object json_build_array jsonb_build_array
    json_extract_path jsonb_extract_path json_extract_path_text jsonb_extract_path_text
    json_array_length jsonb_array_length json_typeof jsonb_typeof to_json to_jsonb
    json_each jsonb_each json_array_elements jsonb_array_elements row_to_json
    generate_series exists any all some in between like ilike
    """.split()
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
            if dialect not in (None, "sqlite"):
                native = _native_name(node, dialect)
                if native not in SAFE_FUNCTIONS:
                    raise SQLRefused(
                        f"function {native}() is not on the list of read-only functions",
                        hint="aggregates, maths, string, date and JSON functions are allowed",
                    )
    return tree


_LEADING_NAME = re.compile(r"\s*([A-Za-z_][\w$]*)")


def _native_name(node: exp.Func, dialect: str) -> str:
    """The function's name as the database runs it (sqlglot's class names differ: its
    ``TimeToStr`` is PostgreSQL's ``to_char``); a qualified ``schema.fn`` keeps the schema so
    it never matches the allow-list."""
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    try:
        rendered = node.sql(dialect=dialect)
    except Exception:
        return node.sql_name().lower()
    match = _LEADING_NAME.match(rendered)
    return match.group(1).lower() if match else node.sql_name().lower()


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
