"""Tables to match: CSV files, pandas DataFrames or SQLAlchemy tables, profiled once.

A :class:`ColumnProfile` is everything the matchers read about a column: its name, an optional
description, a coarse type, its distinct values (lower-cased, capped) and, for numeric
columns, a quantile sketch of the distribution. Profiles are built from at most
``max_rows`` rows, so a 10k-row table costs about what a 1k-row one does.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd

from podium.errors import InputRejected

from .names import humanize

QUANTILES = np.linspace(0.0, 1.0, 21)
MAX_DISTINCT = 1000


@dataclass
class ColumnProfile:
    """One column as the matchers see it."""

    name: str
    dtype: str  # integer | float | boolean | date | text | empty
    description: str = ""
    values: list[str] = field(default_factory=list)  # distinct, lower-cased, most common first
    n_distinct: int = 0
    null_fraction: float = 1.0
    quantiles: np.ndarray | None = None  # numeric columns only

    def samples(self, k: int = 5) -> list[str]:
        return self.values[:k]

    def text(self, k: int = 8) -> str:
        """The text the embedding matcher encodes: name, description and sample values."""
        parts = [humanize(self.name)]
        if self.description:
            parts.append(self.description)
        if self.values:
            parts.append("values: " + ", ".join(v[:40] for v in self.values[:k]))
        return "; ".join(parts)


@dataclass
class TableProfile:
    name: str
    columns: list[ColumnProfile]
    n_rows: int

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __len__(self) -> int:
        return len(self.columns)


TableLike: TypeAlias = "str | Path | pd.DataFrame | TableProfile"


def load_table(
    table: TableLike,
    *,
    name: str | None = None,
    descriptions: Mapping[str, str] | None = None,
    max_rows: int = 5000,
) -> TableProfile:
    """Profile a CSV path, a DataFrame, or ``<sqlalchemy-url>#<table>``.

    Raises :class:`InputRejected` with the fix when the input cannot be read: a missing file,
    a CSV that is not UTF-8, a table with no columns or duplicate column names.
    """
    if isinstance(table, TableProfile):
        return table
    if isinstance(table, pd.DataFrame):
        _check_columns([str(c) for c in table.columns], name or "dataframe")
        frame, label = table, name or "dataframe"
    else:
        text = str(table)
        if "://" in text:
            frame, label = _read_sql(text, max_rows)
        else:
            frame, label = _read_csv(Path(text), max_rows), name or Path(text).stem
    return profile_frame(frame, name=label, descriptions=descriptions, max_rows=max_rows)


def profile_frame(
    frame: pd.DataFrame,
    *,
    name: str,
    descriptions: Mapping[str, str] | None = None,
    max_rows: int = 5000,
) -> TableProfile:
    n_rows = len(frame)
    if n_rows > max_rows:
        frame = frame.sample(n=max_rows, random_state=0)
    descriptions = descriptions or {}
    columns = [
        _profile_column(str(col), frame.iloc[:, i], descriptions.get(str(col), ""))
        for i, col in enumerate(frame.columns)
    ]
    return TableProfile(name=name, columns=columns, n_rows=n_rows)


def _profile_column(name: str, series: pd.Series, description: str) -> ColumnProfile:
    non_null = series.dropna()
    if series.dtype == object:
        non_null = non_null[non_null.astype(str).str.strip() != ""]
    null_fraction = 1.0 - len(non_null) / len(series) if len(series) else 1.0
    if non_null.empty:
        return ColumnProfile(name, "empty", description, null_fraction=null_fraction)
    dtype, numeric = _infer_type(non_null)
    counts = Counter(str(v).strip().lower() for v in non_null)
    values = [v for v, _ in counts.most_common(MAX_DISTINCT)]
    quantiles = None
    if numeric is not None and len(numeric):
        quantiles = np.quantile(numeric.to_numpy(dtype=float), QUANTILES)
    return ColumnProfile(
        name=name,
        dtype=dtype,
        description=description,
        values=values,
        n_distinct=len(counts),
        null_fraction=null_fraction,
        quantiles=quantiles,
    )


def _infer_type(values: pd.Series) -> tuple[str, pd.Series | None]:
    if pd.api.types.is_bool_dtype(values):
        return "boolean", None
    if pd.api.types.is_numeric_dtype(values):
        integer = pd.api.types.is_integer_dtype(values) or bool(
            np.all(np.mod(values.to_numpy(dtype=float), 1) == 0)
        )
        return ("integer" if integer else "float"), values.astype(float)
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date", None
    as_text = values.astype(str).str.strip()
    if set(as_text.str.lower().unique()) <= {"true", "false", "yes", "no", "y", "n"}:
        return "boolean", None
    numeric = pd.to_numeric(as_text, errors="coerce")
    if numeric.notna().mean() >= 0.9:
        numeric = numeric.dropna()
        integer = bool(np.all(np.mod(numeric.to_numpy(dtype=float), 1) == 0))
        return ("integer" if integer else "float"), numeric
    if as_text.str.match(r"^\d{4}-\d{2}-\d{2}").mean() >= 0.9:
        return "date", None
    return "text", None


def _read_csv(path: Path, max_rows: int) -> pd.DataFrame:
    if not path.is_file():
        raise InputRejected(
            f"no CSV file at {path}",
            hint="give a CSV path, a DataFrame, or a table as '<sqlalchemy-url>#<table>'",
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputRejected(
            f"{path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})",
            hint="re-save it as UTF-8, e.g. iconv -f latin1 -t utf-8 in.csv > out.csv",
        ) from None
    header = next(csv.reader(io.StringIO(text)), None)
    if not header or not any(h.strip() for h in header):
        raise InputRejected(
            f"{path} has no header row", hint="the first line must name the columns"
        )
    _check_columns([h.strip() for h in header], str(path))
    frame = pd.read_csv(io.StringIO(text), nrows=max(max_rows * 5, 10_000), low_memory=False)
    frame.columns = [str(c).strip() for c in header]
    return frame


def _read_sql(spec: str, max_rows: int) -> tuple[pd.DataFrame, str]:
    import sqlalchemy as sa

    url, _, table = spec.partition("#")
    if not table:
        raise InputRejected(
            f"{spec!r} names a database but no table",
            hint="write '<sqlalchemy-url>#<table>', e.g. sqlite:///shop.db#orders",
        )
    try:
        engine = sa.create_engine(url)
    except Exception as exc:
        raise InputRejected(f"cannot open database {url!r}: {exc}") from exc
    try:
        meta = sa.MetaData()
        tab = sa.Table(table, meta, autoload_with=engine)
        with engine.connect() as conn:
            rows = conn.execute(sa.select(tab).limit(max_rows)).fetchall()
    except sa.exc.NoSuchTableError:
        known = sa.inspect(engine).get_table_names()
        raise InputRejected(
            f"no table {table!r} in {url}", hint=f"tables there: {', '.join(known) or 'none'}"
        ) from None
    except sa.exc.SQLAlchemyError as exc:
        raise InputRejected(f"cannot read {table!r} from {url}: {exc}") from exc
    finally:
        engine.dispose()
    names = [c.name for c in tab.columns]
    _check_columns(names, spec)
    return pd.DataFrame([tuple(r) for r in rows], columns=names), table


def _check_columns(names: list[str], where: str) -> None:
    if not names:
        raise InputRejected(f"{where} has no columns", hint="a table to match needs columns")
    dupes = [n for n, c in Counter(names).items() if c > 1]
    if dupes:
        raise InputRejected(
            f"{where} has duplicate column names: {', '.join(sorted(dupes))}",
            hint="rename them so each column has its own name; matches would be ambiguous",
        )
