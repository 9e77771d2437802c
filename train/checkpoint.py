"""Atomic checkpoint files and their validation (clear errors for malformed files)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

CKPT_FORMAT = "neural-train-checkpoint"
CKPT_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable or not what the caller expects."""


def atomic_write(path: str | Path, write) -> None:
    """Call ``write(file_object)`` on a temp file in the target folder, fsync, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; shipped files must be readable
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_checkpoint(path: str | Path, obj: dict) -> None:
    """Atomically save a checkpoint dict (format and version are added)."""
    obj = {"format": CKPT_FORMAT, "version": CKPT_VERSION, **obj}
    atomic_write(path, lambda f: torch.save(obj, f))


def load_checkpoint(path: str | Path, stage: str | None = None) -> dict:
    """Load and check a checkpoint; raises :class:`CheckpointError` with the reason."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for truncated or foreign files
        raise CheckpointError(
            f"{path}: not a readable torch checkpoint ({type(e).__name__})"
        ) from e
    if not isinstance(obj, dict) or obj.get("format") != CKPT_FORMAT:
        raise CheckpointError(f"{path}: not a {CKPT_FORMAT} file")
    if obj.get("version") != CKPT_VERSION:
        raise CheckpointError(f"{path}: checkpoint version {obj.get('version')} unsupported")
    for key in ("stage", "spec", "model", "network", "width", "classes", "mode", "vth", "alpha"):
        if key not in obj:
            raise CheckpointError(f"{path}: missing field {key!r}")
    if stage is not None and obj["stage"] != stage:
        raise CheckpointError(f"{path}: holds stage {obj['stage']!r}, expected {stage!r}")
    if not isinstance(obj["model"], dict):
        raise CheckpointError(f"{path}: field 'model' is not a state dict")
    return obj
