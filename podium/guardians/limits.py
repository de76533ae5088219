"""Size and encoding checks: the first guardian at the entry of every run."""

from __future__ import annotations

import unicodedata

from podium.errors import InputRejected

from .base import GuardInput, Stage, Verdict

MAX_TASK_CHARS = 20_000


def check_text(text: object, *, max_chars: int = MAX_TASK_CHARS, what: str = "task") -> str:
    """Return ``text`` as clean str, or raise InputRejected saying what is wrong and what to do.

    Accepts bytes only if they are valid UTF-8. Refuses empty text, text over ``max_chars``,
    and text that is mostly control characters (a binary file pasted as a task).
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputRejected(
                f"the {what} is not valid UTF-8 (bad byte at position {exc.start})",
                hint="save the text as UTF-8, or pass it as a Python str",
            ) from None
    if not isinstance(text, str):
        raise InputRejected(f"the {what} must be text, got {type(text).__name__}")
    bad = next((i for i, ch in enumerate(text) if "\ud800" <= ch <= "\udfff"), None)
    if bad is not None:
        raise InputRejected(
            f"the {what} is not valid UTF-8 (undecodable byte at position {bad})",
            hint="save or type the text as UTF-8",
        )
    if "\x00" in text:
        raise InputRejected(f"the {what} contains NUL bytes: it looks like binary data")
    stripped = text.strip()
    if not stripped:
        raise InputRejected(f"the {what} is empty", hint="say what you want Podium to do")
    if len(text) > max_chars:
        raise InputRejected(
            f"the {what} is {len(text):,} characters; the limit is {max_chars:,}",
            hint="shorten it, or ingest long material as documents and ask about it",
        )
    controls = sum(
        1
        for ch in stripped
        if unicodedata.category(ch) in ("Cc", "Cs", "Co") and ch not in "\n\r\t"
    )
    if controls > max(8, len(stripped) // 10):
        raise InputRejected(f"the {what} is mostly control characters: it looks like binary data")
    return text


class InputLimits:
    """Blocks empty, oversize, non-text input. Runs at both stages; costs microseconds."""

    name = "input_limits"
    stages: tuple[Stage, ...] = ("in",)
    budget_ms = 50.0

    def __init__(self, max_chars: int = MAX_TASK_CHARS) -> None:
        self.max_chars = max_chars

    async def inspect(self, item: GuardInput) -> Verdict:
        try:
            check_text(item.text, max_chars=self.max_chars)
        except InputRejected as exc:
            return Verdict(
                guardian=self.name, action="block", category="input", score=1.0, reason=exc.message
            )
        return Verdict(guardian=self.name, action="allow", category="input")
