"""Workspaces: a folder with a ``podium.toml`` naming its databases, documents, experts and
models, plus its store. ``podium init`` writes one; the demo workspace ships in the package and
is materialised under ``$PODIUM_HOME`` (default ``~/.podium``) on first use.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from podium.errors import ConfigError
from podium.executors.spec import ExecutorSpec
from podium.guardians.policy import GuardPolicy
from podium.tracing import TracingSpec

CONFIG_NAME = "podium.toml"
DEMO_VERSION = "5"  # bump when podium/demo changes: existing copies are refreshed


class DatabaseSpec(BaseModel):
    """One ``[[databases]]`` entry."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][\w-]*$")
    url: str = Field(description="SQLAlchemy URL; relative sqlite paths are workspace-relative.")
    description: str = ""


class DocumentsSpec(BaseModel):
    """One ``[[documents]]`` entry."""

    model_config = ConfigDict(extra="forbid")

    path: str
    description: str = ""


class ExpertSpec(BaseModel):
    """One ``[[experts]]`` entry of ``podium.toml``."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, description="Overrides the object's own name.")
    callable: str = Field(description="'package.module:attribute' of an Expert or function.")
    model: str | None = Field(default=None, description="Model URI the expert should use.")
    description: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class ModelsSpec(BaseModel):
    """Role → model URI. Empty means what this machine has for the role: the offline ladder
    (Qwen2.5-Coder 1.5B plans, synthesises and finalises; 0.5B drafts) when installed, else
    SmolLM2-135M. Any rung can be a remote model: ``openai-compatible:URL#model``."""

    model_config = ConfigDict(extra="forbid")

    planner: str = Field(default="", description="Plans the task; default the ladder's 1.5B.")
    synthesizer: str = Field(default="", description="Defaults to the planner.")
    large: str = Field(default="", description="The model experts escalate to; default planner.")
    small: str = Field(
        default="", description="The drafting generator of experts; default the ladder's 0.5B."
    )
    embeddings: str = "local:minilm"
    reranker: str = Field(
        default="",
        description="Path to a sentence-transformers cross-encoder that reorders the top "
        "retrieved passages (none ships offline; empty: fused dense+BM25 order).",
    )
    expand_queries: Literal["none", "auto", "large"] = Field(
        default="none",
        description="The large model writes a passage for a document question and the search "
        "reads it beside the question: auto, when the search is unsure of its top passage "
        "(+0.011 nDCG@10 on Climate-FEVER's held-out half); large, always. One large-model "
        "call, seconds on a CPU, per expanded question.",
    )


class LimitsSpec(BaseModel):
    """Per-run limits. Hitting a budget ends the run cleanly with what it has and the reason."""

    model_config = ConfigDict(extra="forbid")

    max_task_chars: int = Field(default=20_000, gt=0)
    max_steps: int = Field(default=8, gt=0, le=64)
    plan_attempts: int = Field(default=3, gt=0, le=10)
    step_timeout_s: float = Field(default=120.0, gt=0)
    max_seconds: float = Field(default=900.0, gt=0, description="Wall time of one run.")
    max_tokens: int | None = Field(default=None, gt=0, description="Model tokens of one run.")
    max_large_calls: int | None = Field(
        default=None,
        ge=0,
        description="Calls to the large model (planner, synthesizer, escalations) in one run.",
    )


class ApprovalsSpec(BaseModel):
    """``[approvals]``: which steps wait for a person before the run goes on (the approval
    node: ``Podium.resume``, ``podium approve``, Approve/Reject on the chat page).

    "Expensive" is said concretely, in two ways a workspace can name:

    * ``before`` — experts whose every step waits *before it runs*: an expert that spends
      what a person should agree to first (a paid remote model, a long job, a call that
      leaves the machine). Their cost is known before they start.
    * ``max_rows`` — a step whose result has more rows than this waits *before the run uses
      it*. A query's cost shows only once it ran, in what it returned: a result of hundreds of
      rows is no answer anyone reads in a chat (the page shows the first 20), but a scan of
      whole tables handed out in bulk — every order, every customer's name — which on a
      production database is the expensive query, and an export of personal data. The rows
      are counted from the result's ``row_count`` (``truncated``: cut at the database's row
      cap, so more than any limit) or its ``rows`` evidence, whatever the expert.

    Approving lets the step run, or its result be used; rejecting fails the step and skips
    the steps that need it, and the answer says so. Empty (the default): nothing asks.
    """

    model_config = ConfigDict(extra="forbid")

    before: list[str] = Field(
        default_factory=list, description="Experts whose steps ask before they run."
    )
    max_rows: int | None = Field(
        default=None,
        gt=0,
        description="A result of more rows than this asks before the run uses it.",
    )


class LearningSpec(BaseModel):
    """``[learning]``: what Podium relearns from verified examples on its own (podium.learning)."""

    model_config = ConfigDict(extra="forbid")

    refresh_every: int | None = Field(
        default=None,
        ge=1,
        description="Refresh an expert's learned parts in the background after every N new "
        "verified examples of it (default: off; run `podium learn`).",
    )
    data: str = Field(
        default="",
        description="Folder of the training slices the trained heads relearn on (fact_check/, "
        "guard/, injection/); relative to the workspace.",
    )


class WorkspaceConfig(BaseModel):
    """The whole ``podium.toml``. Every section refuses keys it does not know, so a typo is
    an error naming the key rather than a setting silently left at its default."""

    model_config = ConfigDict(extra="forbid")

    name: str = "workspace"
    models: ModelsSpec = Field(default_factory=ModelsSpec)
    databases: list[DatabaseSpec] = Field(default_factory=list)
    documents: list[DocumentsSpec] = Field(default_factory=list)
    experts: list[ExpertSpec] = Field(default_factory=list)
    store_url: str = Field(default="", description="SQLAlchemy URL; default is a file here.")
    checkpoint_url: str = Field(
        default="",
        description="LangGraph checkpoints: default the store's URL when it is PostgreSQL, "
        "else a SQLite file here.",
    )
    executor: ExecutorSpec | None = Field(
        default=None, description='Where experts run: "inprocess" (default) or "ray".'
    )
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    guardians: GuardPolicy = Field(default_factory=GuardPolicy)
    approvals: ApprovalsSpec = Field(default_factory=ApprovalsSpec)
    tracing: TracingSpec | None = None  # OpenTelemetry traces of runs (podium.tracing)
    learning: LearningSpec = Field(default_factory=LearningSpec)

    @field_validator("databases")
    @classmethod
    def _unique_db_names(cls, dbs: list[DatabaseSpec]) -> list[DatabaseSpec]:
        names = [d.name for d in dbs]
        if len(set(names)) != len(names):
            raise ValueError(f"database names must be unique, got {names}")
        return dbs


class Workspace:
    """A loaded workspace: its folder and its validated configuration."""

    def __init__(self, root: Path, config: WorkspaceConfig) -> None:
        self.root = root.resolve()
        self.config = config

    # -- loading --------------------------------------------------------------------------

    @classmethod
    def load(cls, root: str | Path) -> Workspace:
        root = Path(root).expanduser()
        path = root / CONFIG_NAME
        if not path.is_file():
            raise ConfigError(
                f"{root} is not a Podium workspace (no {CONFIG_NAME})",
                hint=f"create one with: podium init {root}",
            )
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
        try:
            config = WorkspaceConfig.model_validate(_flatten(raw))
        except ValidationError as exc:
            unknown = _unknown_keys(exc)
            if unknown:
                raise ConfigError(
                    f"{path}: unknown " + "; ".join(unknown),
                    hint="fix the spelling, or remove the key: "
                    "each section takes only the keys listed",
                ) from exc
            raise ConfigError(f"{path} has invalid settings:\n{exc}") from exc
        return cls(root, config)

    @classmethod
    def init(
        cls,
        root: str | Path,
        *,
        databases: list[str] = (),  # type: ignore[assignment]
        documents: list[str] = (),  # type: ignore[assignment]
        name: str | None = None,
        planner: str | None = None,
        guardians: bool = True,
    ) -> Workspace:
        """Create a workspace folder with a ``podium.toml``; refuses to overwrite one.

        Guardians are on unless ``guardians=False`` (safe by default: tasks and retrieved
        documents are screened for injected instructions; ``[guardians] enabled`` in the file).
        """
        root = Path(root).expanduser().resolve()
        if (root / CONFIG_NAME).exists():
            raise ConfigError(f"{root / CONFIG_NAME} already exists", hint="edit it instead")
        config = WorkspaceConfig(
            name=name or root.name,
            databases=[
                DatabaseSpec(name=_db_name(url, i), url=url) for i, url in enumerate(databases)
            ],
            documents=[DocumentsSpec(path=str(Path(p).expanduser())) for p in documents],
            guardians=GuardPolicy(enabled=guardians),
        )
        if planner:
            config.models.planner = planner
        root.mkdir(parents=True, exist_ok=True)
        ws = cls(root, config)
        ws.save()
        return ws

    def save(self) -> None:
        data = _without_empty(self.config.model_dump(mode="json"))
        (self.root / CONFIG_NAME).write_text(tomli_w.dumps(data), encoding="utf-8")

    # -- what the rest of Podium asks for -------------------------------------------------

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def data_dir(self) -> Path:
        path = self.root / ".podium"
        path.mkdir(exist_ok=True)
        return path

    @property
    def store_url(self) -> str:
        return self.resolve_url(self.config.store_url) or (
            f"sqlite:///{self.data_dir / 'store.sqlite'}"
        )

    @property
    def checkpoint_path(self) -> Path:
        return self.data_dir / "checkpoints.sqlite"

    @property
    def checkpoint_url(self) -> str:
        if self.config.checkpoint_url:
            return self.resolve_url(self.config.checkpoint_url)
        store = self.store_url
        return store if store.startswith("postgres") else f"sqlite:///{self.checkpoint_path}"

    def database(self, name: str | None = None) -> DatabaseSpec:
        """A configured database by name (the first one when no name is given)."""
        if not self.config.databases:
            raise ConfigError(
                f"workspace {self.name!r} has no database",
                hint="add one: podium init DIR --db sqlite:///path/to.db, or edit podium.toml",
            )
        if name is None:
            return self.config.databases[0]
        for db in self.config.databases:
            if db.name == name:
                return db
        known = ", ".join(d.name for d in self.config.databases)
        raise ConfigError(f"no database named {name!r} in this workspace", hint=f"known: {known}")

    def database_url(self, name: str | None = None) -> str:
        return self.resolve_url(self.database(name).url)

    def document_paths(self) -> list[Path]:
        return [self._resolve_path(d.path) for d in self.config.documents]

    def resolve_url(self, url: str) -> str:
        """Make relative ``sqlite:///file`` URLs relative to the workspace folder."""
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/"):
            rest = url[len(prefix) :]
            if rest and not rest.startswith(":memory:"):
                path, sep, query = rest.partition("?")
                return f"{prefix}{(self.root / path).resolve()}{sep}{query}"
        return url

    def _resolve_path(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.root / p).resolve()

    def __repr__(self) -> str:
        return f"<Workspace {self.name} at {self.root}>"


def podium_home() -> Path:
    return Path(os.environ.get("PODIUM_HOME", "~/.podium")).expanduser()


def demo_workspace(home: Path | None = None) -> Workspace:
    """The shipped demo workspace, materialised (and its database generated) on first use."""
    from podium.demo.shop import build_shop_db

    root = (home or podium_home()) / "demo"
    marker = root / ".demo-version"
    if not (marker.is_file() and marker.read_text().strip() == DEMO_VERSION):
        source = Path(__file__).parent / "demo"
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / CONFIG_NAME, root / CONFIG_NAME)
        if (root / "docs").exists():
            shutil.rmtree(root / "docs")
        shutil.copytree(source / "docs", root / "docs")
        build_shop_db(root / "shop.sqlite")
        marker.write_text(DEMO_VERSION)
    return Workspace.load(root)


def _without_empty(value: Any) -> Any:
    """TOML has no null: leave out unset values (and empty strings, lists, tables)."""
    if isinstance(value, dict):
        cleaned = {k: _without_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value


def _flatten(raw: dict[str, Any]) -> dict[str, Any]:
    """Accept both ``[workspace] name = ..`` and a top-level ``name = ..``."""
    data = dict(raw)
    section = data.pop("workspace", None)
    if isinstance(section, dict):
        data = {**section, **data}
    store = data.pop("store", None)
    if isinstance(store, dict):
        # [store] is folded into the top level: its own unknown keys are reported here.
        for key in sorted(set(store) - {"url", "checkpoint_url"}):
            data.setdefault(f"store.{key}", store[key])
    if isinstance(store, dict) and "url" in store:
        data.setdefault("store_url", store["url"])
    if isinstance(store, dict) and "checkpoint_url" in store:
        data.setdefault("checkpoint_url", store["checkpoint_url"])
    return data


def _unknown_keys(exc: ValidationError) -> list[str]:
    """``key 'planer' in [models] (did you mean 'planner'? ...)`` for each key no model knows."""
    out = []
    for error in exc.errors():
        if error["type"] != "extra_forbidden":
            continue
        *parents, key = error["loc"]
        model = _model_at(tuple(parents))
        known = sorted(model.model_fields) if model is not None else []
        if parents == [] and str(key).startswith("store."):
            section, key, known = (
                "[store]",
                str(key).removeprefix("store."),
                ["checkpoint_url", "url"],
            )
        elif parents:
            name = ".".join(p for p in parents if isinstance(p, str))
            index = [p for p in parents if isinstance(p, int)]
            section = f"[[{name}]] #{index[0] + 1}" if index else f"[{name}]"
        else:
            section = "[workspace] (or the top level)"
        close = difflib.get_close_matches(str(key), known, n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        out.append(f"key {key!r} in {section} ({guess}known: {', '.join(known)})")
    return out


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The config model that parses the section at ``loc`` (list indexes pass through)."""
    model: type[BaseModel] = WorkspaceConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        found = _model_in(field.annotation)
        if found is None:
            return None
        model = found
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``annotation`` (``X``, ``X | None``, ``list[X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _db_name(url: str, index: int) -> str:
    stem = Path(url.split("?")[0].rsplit("/", 1)[-1]).stem
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in stem).strip("_")
    if not cleaned or not cleaned[0].isalpha():
        cleaned = f"db{index + 1}"
    return cleaned
