"""Atomic file replacement: write beside the target, flush to disk, rename over it, flush the folder.

``os.replace`` is atomic on one file system: a reader opens either the old file or the new one. A reader
that already holds the old file keeps its inode (Linux), so it is never disturbed and never blocks us.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path


def temporary_beside(target: Path) -> Path:
    """A fresh hidden name in the target's folder (same file system, so the rename is atomic)."""
    return target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Make the renames in ``folder`` durable (a crash after this keeps the new names)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_text_atomically(target: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``target``, fsync it and rename it over ``target``."""
    temporary = temporary_beside(target)
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    fsync_dir(target.parent)
