"""Which files are the knowledge, and their fingerprint: what a build of the store is keyed on.

Standard library only, so a command that only asks "is the store built from these files?"
(`tutor trials` reading the library's manifest) parses no page and imports no splitter.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tutor.errors import IngestError

SUFFIXES = {".md", ".markdown", ".txt"}


def document_id(path: Path, root: Path | None) -> str:
    path = path.resolve()
    if root is not None:
        try:
            return path.relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def find_files(paths: list[Path]) -> list[Path]:
    """The knowledge files under the given files and folders, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif path.exists():
            found.append(path)
        else:
            raise IngestError(f"{path}: no such file or folder; check the path")
    return found


# The way pages are cut into chunks (tutor.knowledge): raised whenever it changes, so every store rebuilds.
CHUNKING = 3


def knowledge_fingerprint(settings) -> str:
    """Changes whenever a knowledge file or the chunking changes: the store then rebuilds itself."""
    digest = hashlib.sha256(f"{settings.chunk_size}/{settings.chunk_overlap}/{CHUNKING}".encode())
    root = settings.knowledge_dir
    if root.is_dir():
        for path in find_files([root]):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:20]
