"""Requests to change data, recognised before any model writes SQL.

Podium only reads. A request to delete, update, insert, drop, truncate, attach, run a pragma or
grant rights must get an answer that says so — not a SELECT the model wrote instead (asked to
"delete every customer in Germany", a model that cannot write will happily count them, and the
count then reads like the outcome of the deletion). Two signals, either suffices:

* **SQL in the question**: a write statement's own syntax (``DROP TABLE``, ``DELETE FROM``,
  ``UPDATE .. SET``, ``INSERT INTO``, ``PRAGMA``, ``ATTACH``, ``GRANT .. TO``, ...).
* **An imperative write verb** opening a sentence or clause, after optional politeness ("please",
  "can you", "go ahead and", "I want to"): delete, remove, update, set, insert, add, drop, ...

Questions *about* changes ("How many orders were updated in May?", "Which singers were added
last?") do not open with the verb and pass. Checked against every question of the Spider slice:
none is taken for a write request (``tests/nl2sql/test_intent.py``).
"""

from __future__ import annotations

import re

READ_ONLY_ANSWER = (
    "Podium only reads this database: it cannot {action}, and nothing was changed. "
    "Ask a question about the data instead (for example, how many rows such a change would "
    "affect)."
)

_SQL_WRITES: tuple[tuple[str, str], ...] = (
    (r"\bdrop\s+(?:table|view|index|database|schema|trigger|column)\b", "drop a table"),
    (r"\bdelete\s+from\b", "delete rows"),
    (r"\bupdate\s+[\w\"`\[\].]+\s+set\b", "update rows"),
    (r"\binsert\s+(?:or\s+\w+\s+)?into\b", "insert rows"),
    (r"\breplace\s+into\b", "insert rows"),
    (r"\btruncate\b", "truncate a table"),
    (r"\balter\s+(?:table|database|user|role)\b", "alter the schema"),
    (
        r"\bcreate\s+(?:temp\w*\s+)?(?:table|view|index|database|trigger|user|role)\b",
        "create objects",
    ),
    (r"\battach\s+(?:database\b|['\"])", "attach a database"),
    (r"\bdetach\s+(?:database\b|\w+)", "detach a database"),
    (r"\bpragma\b", "run a PRAGMA"),
    (r"\bvacuum\s*(?:into\b|;|$)", "vacuum the database"),
    (
        r"\b(?:grant|revoke)\s+(?:select|insert|update|delete|all|usage|"
        r"[\w ,]+?\s+on\s+\S+\s+(?:to|from))\b",
        "grant or revoke rights",
    ),
    (r"\bmerge\s+into\b", "merge rows"),
    (r"\bload_extension\s*\(|\bwritefile\s*\(", "touch files"),
)

# Verb -> what the refusal says Podium cannot do.
_VERBS: dict[str, str] = {
    "delete": "delete data",
    "remove": "remove data",
    "erase": "erase data",
    "wipe": "wipe data",
    "purge": "purge data",
    "destroy": "destroy data",
    "drop": "drop tables or data",
    "truncate": "truncate tables",
    "update": "update data",
    "change": "change data",
    "modify": "modify data",
    "edit": "edit data",
    "set": "set values",
    "rename": "rename anything",
    "replace": "replace data",
    "overwrite": "overwrite data",
    "insert": "insert data",
    "add": "add data",
    "append": "append data",
    "create": "create tables or rows",
    "attach": "attach databases",
    "detach": "detach databases",
    "grant": "grant rights",
    "revoke": "revoke rights",
    "increase": "change values",
    "decrease": "change values",
    "raise": "change values",
    "lower": "change values",
    "reset": "reset data",
    "clear": "clear data",
    "mark": "change data",
    "move": "move data",
    "merge": "merge data",
    "alter": "alter the schema",
    "execute": "execute statements that write",
}
_POLITE = (
    r"(?:(?:please|kindly|now|then|also|and|so|ok(?:ay)?|just|quickly|go ahead and|"
    r"(?:can|could|would|will) you(?: please)?|i (?:want|need|would like) (?:you )?to|"
    r"i'd like (?:you )?to|let's|you (?:must|should|need to)|ignore [^.;:!?]* and)\s+)*"
)
_IMPERATIVE = re.compile(
    r"(?:^|[.;:!?\n]\s*|\band\s+then\s+|,\s*then\s+)" + _POLITE + r"(" + "|".join(_VERBS) + r")\b"
    r"(?!\s+(?:me|us)\b)",  # "set me up with a list ..." is not a write
    re.I,
)
_OBJECT_AFTER = re.compile(
    r"^\s+(?:all|every|each|the|any|a|an|this|that|these|those|them|it|my|our|their|rows?|"
    r"records?|entries|[A-Z\"'`]|\w+\s+(?:from|in|into|to|of|where|table)\b)",
)


def write_request(question: str) -> str | None:
    """What change the question asks for (``"delete rows"``), or None for a read request."""
    for pattern, action in _SQL_WRITES:
        if re.search(pattern, question, re.I):
            return action
    for match in _IMPERATIVE.finditer(question):
        rest = question[match.end() :]
        if _OBJECT_AFTER.match(rest):
            return _VERBS[match.group(1).lower()]
    return None


def read_only_answer(action: str) -> str:
    return READ_ONLY_ANSWER.format(action=action)
