"""Input limits at the Python API: refused before anything runs or is stored."""

from __future__ import annotations

import pytest

from podium import Podium, expert
from podium.errors import InputRejected
from tests.scripted import scripted


@expert
def lookup(text: str) -> str:
    """Looks up a fact."""
    return text


@pytest.mark.parametrize(
    ("task", "says"),
    [
        ("", "empty"),
        ("\n\t  ", "empty"),
        ("x" * 1_000_000, "the limit is 20,000"),
        (b"caf\xe9", "not valid UTF-8"),
        ("a\x00b", "NUL"),
        ("\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f" * 3, "control characters"),
        (12345, "must be text"),
    ],
)
def test_bad_tasks_are_refused_and_nothing_is_stored(workspace, task, says):
    podium = Podium(
        planner=scripted(),
        experts=[lookup],
        workspace=workspace,
        builtins=False,
        plugins=False,
        warmup=False,
    )
    with pytest.raises(InputRejected, match=says):
        podium.run(task)
    assert podium.store.list_runs() == []
