"""What a database's tables look like, as the schema linker, key inference and prompts read
them (no connection needed, so the modules that use them do not import the database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ColumnInfo:
    name: str
    type: str
    primary_key: bool = False
    foreign_key: str | None = None
    samples: list[Any] = field(default_factory=list)


@dataclass
class TableInfo:
    name: str
    columns: list[ColumnInfo]
    row_count: int | None = None

    def ddl(self, columns: list[str] | None = None, samples: bool = True) -> str:
        """A compact CREATE TABLE a model can read; optionally only some columns."""
        parts = []
        for c in self.columns:
            if columns is not None and c.name not in columns:
                continue
            line = f"  {c.name} {c.type}"
            if c.primary_key:
                line += " PRIMARY KEY"
            if c.foreign_key:
                line += f" REFERENCES {c.foreign_key}"
            if samples and c.samples:
                shown = ", ".join(repr(v) for v in c.samples[:3])
                line += f"  -- e.g. {shown}"
            parts.append(line)
        return f"CREATE TABLE {self.name} (\n" + ",\n".join(parts) + "\n);"
