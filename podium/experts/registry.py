"""The expert registry: three ways in (decorator/object, config entry, entry point).

A broken plugin or a bad config entry is recorded as a :class:`RegistryProblem` and shown by
``podium experts list``; it never takes the other experts down.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from podium.errors import RegistryError
from podium.workspace import ExpertSpec

from .base import Expert
from .decorator import FunctionExpert, expert

ENTRY_POINT_GROUP = "podium.experts"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class RegistryProblem:
    """Why one candidate expert was not registered."""

    source: str
    name: str
    reason: str


class ExpertRegistry:
    """Named experts the planner can use."""

    def __init__(self, experts: Iterable[Expert] = ()) -> None:
        self._experts: dict[str, Expert] = {}
        self._origins: dict[str, str] = {}
        self.problems: list[RegistryProblem] = []
        for item in experts:
            self.register(item)

    # -- registration ---------------------------------------------------------------------

    def register(
        self, item: Expert | Any, *, origin: str = "python", replace: bool = False
    ) -> Expert:
        """Register an Expert (or a function, decorated on the fly). Raises on a bad entry."""
        exp = item if isinstance(item, Expert) else expert(item)
        if not _NAME_RE.match(exp.name or ""):
            raise RegistryError(
                f"expert name {exp.name!r} is not valid",
                hint="use lower snake_case, starting with a letter, at most 64 characters",
            )
        if not (exp.description or "").strip():
            raise RegistryError(
                f"expert {exp.name!r} has no description",
                hint="the planner picks experts by description: say what it does and when",
            )
        if exp.name in self._experts and not replace:
            raise RegistryError(
                f"an expert named {exp.name!r} is already registered "
                f"(from {self._origins[exp.name]})",
                hint="give the new one another name, or pass replace=True to override",
            )
        self._experts[exp.name] = exp
        self._origins[exp.name] = origin
        return exp

    def try_register(self, item: Any, *, origin: str, name_hint: str) -> Expert | None:
        """Register, recording a problem instead of raising."""
        try:
            return self.register(item, origin=origin)
        except Exception as exc:  # a plugin may fail in any way; it must not stop the rest
            self.problems.append(RegistryProblem(origin, name_hint, _one_line(exc)))
            return None

    def load_specs(self, specs: Iterable[ExpertSpec], *, origin: str = "podium.toml") -> None:
        for spec in specs:
            label = spec.name or spec.callable
            try:
                obj = build_expert(resolve_object(spec.callable), spec)
            except Exception as exc:
                self.problems.append(RegistryProblem(origin, label, _one_line(exc)))
                continue
            self.try_register(obj, origin=origin, name_hint=label)

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Register every expert that installed packages advertise under ``group``."""
        for ep in entry_points(group=group):
            origin = f"entry point {ep.name} ({ep.value})"
            try:
                obj = build_expert(ep.load(), ExpertSpec(callable=ep.value))
            except Exception as exc:
                self.problems.append(RegistryProblem(origin, ep.name, _one_line(exc)))
                continue
            self.try_register(obj, origin=origin, name_hint=ep.name)

    # -- lookup ---------------------------------------------------------------------------

    def get(self, name: str) -> Expert:
        try:
            return self._experts[name]
        except KeyError:
            raise RegistryError(
                f"no expert named {name!r}",
                hint=f"registered experts: {', '.join(sorted(self._experts)) or 'none'}",
            ) from None

    def origin(self, name: str) -> str:
        return self._origins[name]

    def names(self) -> list[str]:
        return list(self._experts)

    def __contains__(self, name: object) -> bool:
        return name in self._experts

    def __iter__(self) -> Iterator[Expert]:
        return iter(self._experts.values())

    def __len__(self) -> int:
        return len(self._experts)


def resolve_object(path: str) -> Any:
    """Import 'package.module:attribute' (or 'package.module.attribute')."""
    module_name, _, attr = path.partition(":")
    if not attr:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise RegistryError(
            f"{path!r} is not an import path", hint="write it as 'package.module:attribute'"
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise RegistryError(
            f"cannot import {module_name!r}: {exc}",
            hint="is the package installed in this environment?",
        ) from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise RegistryError(f"{module_name!r} has no attribute {attr!r}") from None
    return obj


def build_expert(obj: Any, spec: ExpertSpec) -> Expert:
    """Turn what an import path points at into an Expert configured by ``spec``."""
    if inspect.isclass(obj) and issubclass(obj, Expert):
        try:
            exp: Expert = obj(**spec.options)
        except TypeError as exc:
            raise RegistryError(
                f"{obj.__name__} does not accept options {sorted(spec.options)}: {exc}"
            ) from exc
    elif isinstance(obj, Expert):
        # A shared instance may be registered under several names: configure a copy.
        exp = copy.copy(obj)
    elif callable(obj):
        exp = expert(obj)
    else:
        raise RegistryError(
            f"{spec.callable!r} is a {type(obj).__name__}, not an expert",
            hint="point at an Expert subclass or instance, or a typed function with a docstring",
        )
    if spec.name:
        exp.name = spec.name  # type: ignore[misc]
    if spec.description:
        exp.description = spec.description  # type: ignore[misc]
    if spec.model:
        exp.model = spec.model
    if spec.options and isinstance(exp, FunctionExpert):
        raise RegistryError(f"function expert {exp.name!r} takes no options")
    return exp


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
