"""Policy cards: the collaboration policy an expert runs with when a plan does not say.

``podium bench TASK --write-policy`` measures every strategy on the task and writes the
Pareto-best one — the fewest large-model calls among the strategies within one point of the
best quality — with its fitted threshold and calibrator into the workspace
(``.podium/policies/<expert>.json``). The dispatcher then fills in a step's policy in this
order, and records which one it used (:func:`policy_for`):

1. ``plan``: the step's own ``policy`` (set by a user, a Python workflow or a plan file);
2. ``card``: the expert's policy card in the workspace;
3. ``default``: the expert's ``default_policy`` attribute, if it has one.

The planner model never writes policies; it only names experts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from podium.errors import ConfigError

from .policies import PolicySource, StepPolicy, parse_policy

# Quality within this much of the best counts as "as good" when choosing the cheapest.
TOLERANCE = 0.01


class PolicyCard(BaseModel):
    """What a bench run found for one expert, and the policy it recommends."""

    model_config = ConfigDict(extra="forbid")

    expert: str = Field(description="The registry name of the expert the card is for.")
    strategy: str = Field(description="The bench strategy chosen (small_only, cascade, ...).")
    policy: StepPolicy
    metric: str = "accuracy"
    quality: float
    ci95: tuple[float, float]
    large_calls_per_example: float
    reached_large: float
    best_strategy: str = Field(description="The strategy with the highest quality.")
    best_quality: float
    n: int
    task: str
    small: str
    large: str
    written_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    command: str = ""

    def line(self) -> str:
        """One line for ``podium experts list``."""
        written = self.policy.model_dump(mode="json")["options"]
        opts = ", ".join(f"{k}={v}" for k, v in written.items() if k != "calibrator")
        kind = f"{self.policy.kind}({opts})" if opts else self.policy.kind
        return (
            f"{kind}: {self.metric} {self.quality:.3f} at {self.large_calls_per_example:.2f} "
            f"large calls/ex (n={self.n}; best alone: {self.best_strategy} {self.best_quality:.3f})"
        )


def choose(strategies: Mapping[str, Any], tolerance: float = TOLERANCE) -> str:
    """The Pareto-best strategy: within ``tolerance`` of the best quality, the fewest
    large-model calls per example (then the higher quality, then the name)."""
    if not strategies:
        raise ValueError("no strategies to choose from")
    best = max(s.accuracy for s in strategies.values())
    near = [name for name, s in strategies.items() if s.accuracy >= best - tolerance - 1e-12]
    return min(
        near,
        key=lambda n: (
            strategies[n].large_calls_per_example,
            -strategies[n].accuracy,
            n,
        ),
    )


def cards_dir(workspace: Any) -> Path:
    return Path(workspace.data_dir) / "policies"


def write_card(workspace: Any, card: PolicyCard) -> Path:
    folder = cards_dir(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{card.expert}.json"
    path.write_text(card.model_dump_json(indent=1), encoding="utf-8")
    return path


# Cards read so far, by path, with the file's modification time: a step looks its expert's card
# up with one stat (the dispatcher does it for every step), and a card that ``podium bench
# --write-policy`` rewrites is read again.
_READ: dict[str, tuple[int, PolicyCard]] = {}


def read_card(workspace: Any, expert: str) -> PolicyCard | None:
    """The expert's card, or None; a card that no longer validates is an error that says so."""
    if workspace is None:
        return None
    name = os.path.join(workspace.root, ".podium", "policies", f"{expert}.json")  # no mkdir
    try:
        mtime = os.stat(name).st_mtime_ns
    except OSError:
        return None
    known = _READ.get(name)
    if known is not None and known[0] == mtime:
        return known[1]
    path = Path(name)
    try:
        card = PolicyCard.model_validate(json.loads(path.read_text(encoding="utf-8")))
        _READ[name] = (mtime, card)
        return card
    except (ValueError, OSError) as exc:
        raise ConfigError(
            f"the policy card {path} is not valid: {exc}",
            hint=f"write it again with podium bench ... --write-policy, or delete {path}",
        ) from exc


def read_cards(workspace: Any) -> dict[str, PolicyCard]:
    if workspace is None or not cards_dir(workspace).is_dir():
        return {}
    out = {}
    for path in sorted(cards_dir(workspace).glob("*.json")):
        card = read_card(workspace, path.stem)
        if card is not None:
            out[card.expert] = card
    return out


def policy_for(
    planned: StepPolicy | None, expert: Any, workspace: Any
) -> tuple[StepPolicy | None, PolicySource | None]:
    """The policy a step runs with, and where it came from (None, None: a plain call)."""
    if planned is not None:
        return planned, "plan"
    card = read_card(workspace, expert.name)
    if card is not None:
        return card.policy, "card"
    default = getattr(expert, "default_policy", None)
    if default is not None:
        return parse_policy(default), "default"
    return None, None
