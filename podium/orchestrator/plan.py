"""Plans: a typed DAG of steps, each naming an expert, its input and the steps it needs."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable
from types import GenericAlias
from typing import Any, Literal, cast

from pydantic import BaseModel, Field, create_model
from typing_extensions import TypeForm

from podium.errors import PlanError

from .policies import StepPolicy

_REF = re.compile(r"\{(s\d+|[A-Za-z_][\w-]*)\}")


class Step(BaseModel):
    """One unit of work for one expert.

    ``input`` is what the expert should do, in words. It may mention an earlier step's output
    as ``{step_id}``; the dispatcher fills it in before the expert runs.
    """

    id: str = Field(min_length=1, max_length=32)
    expert: str = Field(min_length=1)
    input: str = Field(min_length=1, max_length=4000)
    depends_on: list[str] = Field(default_factory=list)
    args: dict[str, Any] = Field(default_factory=dict, description="Extra expert arguments.")
    approve: bool = Field(
        default=False, description="Ask a person before this step runs (a workflow's choice)."
    )
    policy: StepPolicy | None = Field(
        default=None, description="A collaboration policy (vote, verify, cascade, ...)."
    )


class Plan(BaseModel):
    steps: list[Step] = Field(min_length=1)
    notes: list[str] = Field(
        default_factory=list, description="Corrections the semantic router made, and why."
    )

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def ready(self, done: Iterable[str], started: Iterable[str]) -> list[Step]:
        """Steps not yet started whose dependencies are all done."""
        done_set, started_set = set(done), set(started)
        return [
            s
            for s in self.steps
            if s.id not in started_set and all(d in done_set for d in s.depends_on)
        ]


# Plans validated so far, by the identity of the state's plan dict (kept here, so the id is not
# reused): dispatch, next_steps and synthesize read the same plan after every superstep of a
# run, and validating a 64-step plan each time cost more than one step. State values are never
# mutated in place (a node returns updates), so the same dict is the same plan.
_PLANS: dict[int, tuple[dict[str, Any], Plan]] = {}
_PLANS_KEPT = 64
_PLANS_LOCK = threading.Lock()


def state_plan(raw: dict[str, Any] | None) -> Plan:
    """The run state's plan as a :class:`Plan`, validated once per plan dict."""
    if raw is None:
        return Plan.model_validate(raw)  # the same error as ever
    hit = _PLANS.get(id(raw))
    if hit is not None and hit[0] is raw:
        return hit[1]
    plan = Plan.model_validate(raw)
    with _PLANS_LOCK:
        while len(_PLANS) >= _PLANS_KEPT:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[id(raw)] = (raw, plan)
    return plan


def validate_plan(plan: Plan, experts: Iterable[str], *, max_steps: int = 16) -> list[str]:
    """Everything wrong with a plan, as sentences a planner model can act on."""
    known = set(experts)
    problems: list[str] = []
    if len(plan.steps) > max_steps:
        problems.append(f"the plan has {len(plan.steps)} steps; the limit is {max_steps}")
    ids = [s.id for s in plan.steps]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        problems.append(f"step ids must be unique; repeated: {', '.join(dupes)}")
    for s in plan.steps:
        if s.expert not in known:
            problems.append(
                f"step {s.id} uses unknown expert {s.expert!r}; choose one of {sorted(known)}"
            )
        for dep in s.depends_on:
            if dep not in ids:
                problems.append(f"step {s.id} depends on {dep!r}, which is not a step id")
            if dep == s.id:
                problems.append(f"step {s.id} depends on itself")
        if s.policy is not None:
            for name in policy_experts(s.policy):
                if name not in known and name != "large":
                    problems.append(
                        f"step {s.id}'s {s.policy.kind} policy names unknown expert {name!r}; "
                        f"choose 'large' or one of {sorted(known)}"
                    )
        for ref in _REF.findall(s.input):
            if ref in ids and ref not in s.depends_on:
                problems.append(f"step {s.id} uses {{{ref}}} but does not list it in depends_on")
    if not problems and has_cycle(plan):
        problems.append("the steps' depends_on form a cycle; a plan must be a DAG")
    return problems


def policy_experts(policy: StepPolicy) -> list[str]:
    """The expert names a policy's options refer to (voters, verifiers, finaliser, ...)."""
    return policy.experts()


def has_cycle(plan: Plan) -> bool:
    deps = {s.id: set(s.depends_on) for s in plan.steps}
    state: dict[str, int] = {}

    def visit(node: str) -> bool:
        if state.get(node) == 1:
            return True
        if state.get(node) == 2:
            return False
        state[node] = 1
        if any(visit(d) for d in deps.get(node, ()) if d in deps):
            return True
        state[node] = 2
        return False

    return any(visit(n) for n in deps)


def fill_references(text: str, outputs: dict[str, str]) -> str:
    """Replace ``{s1}`` with step s1's output text."""
    return _REF.sub(lambda m: outputs.get(m.group(1), m.group(0)), text)


# A pronoun that stands for something named elsewhere ("how long does *it* take?"), not the
# dummy subject of "is it true that ..." / "is it possible to ...".
_POINTS_BACK = re.compile(r"\b(?:it|its|they|them|their|those|these)\b", re.I)
_DUMMY_IT = re.compile(r"\b(?:is|was|would|will) it (?:true|false|the case|possible)\b", re.I)


def with_subject(text: str, raw_input: str, earlier: list[str]) -> str:
    """A step's request made to stand on its own: when the planner made the step depend on
    earlier ones but wrote "it" for what they asked about instead of ``{s1}`` ("Do you ship
    to Switzerland?" then "How long does it take?"), the earlier requests come first, so the
    expert reads what "it" is. A request that names its references is left as it is."""
    if not earlier or _REF.search(raw_input):
        return text
    if not _POINTS_BACK.search(_DUMMY_IT.sub("", text)):
        return text
    return " ".join([*(e.strip() for e in earlier), text])


def plan_schema(
    expert_names: list[str], max_steps: int = 6, *, with_policy: bool = False
) -> type[BaseModel]:
    """A Plan model whose ``expert`` field only admits registered experts.

    Used for constrained decoding: the grammar built from this schema makes an unknown
    expert name impossible to generate. Cached per expert set: building a pydantic model
    costs ~10 ms, which was the largest single piece of a scripted run's overhead.

    ``with_policy`` adds each step's optional, validated ``policy`` (for plans written by
    people or programs). The planner model is not given it: a step without a policy gets
    the expert's policy card at dispatch (:mod:`.policy_cards`).
    """
    return _plan_schema(tuple(expert_names), max_steps, with_policy)


@functools.lru_cache(maxsize=64)
def _plan_schema(
    expert_names: tuple[str, ...], max_steps: int, with_policy: bool = False
) -> type[BaseModel]:
    expert_type = Literal[tuple(expert_names)]  # type: ignore[valid-type]
    fields: dict[str, Any] = {
        "id": (str, Field(pattern=r"^s[1-9][0-9]?$")),
        "expert": (expert_type, ...),
        "input": (str, Field(min_length=3, max_length=300)),
        "depends_on": (list[str], Field(default_factory=list, max_length=3)),
    }
    if with_policy:
        fields["policy"] = (StepPolicy | None, None)
    step_model = create_model("PlannedStep", **fields)
    # ``list[step_model]``, built at run time: its item type exists only once created above.
    steps_type = cast("TypeForm[list[BaseModel]]", GenericAlias(list, (step_model,)))
    return create_model(
        "PlannedSteps", steps=(steps_type, Field(min_length=1, max_length=max_steps))
    )


def ensure_valid(plan: Plan, experts: Iterable[str], *, max_steps: int = 16) -> Plan:
    problems = validate_plan(plan, experts, max_steps=max_steps)
    if problems:
        raise PlanError("invalid plan: " + "; ".join(problems))
    return plan
