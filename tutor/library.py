"""The library's trials (name, year, journal, sample, chunks) and its manifest: a small JSON file in the
data folder, so `tutor trials` lists them without opening Chroma or loading a model.

One source of truth: the list is always computed by `trial_infos` from the store's chunks and the parsed
pages. The manifest is that list saved beside the store with what it was computed from (the collection,
the knowledge fingerprint, the store's revision); any write through `Store.ingest` removes it, the next
tutor to load writes it again, and a reader that finds it missing or stale asks the store itself.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from typing import TYPE_CHECKING

from tutor.errors import TutorError
from tutor.knowledge_files import find_files, knowledge_fingerprint
from tutor.schema import TrialInfo
from tutor.settings import Settings

if TYPE_CHECKING:
    from tutor.schema import Chunk
    from tutor.trialpage import TrialRecord

MANIFEST_FORMAT = 1  # bump when the file's fields change: an older file is then ignored and rewritten


def read_records(knowledge_dir: Path) -> dict[str, TrialRecord]:
    """The parsed trial pages of a knowledge folder, by trial name (the first page of a name wins)."""
    from tutor.knowledge import load_document  # parses pages: not needed to read the manifest

    records: dict[str, TrialRecord] = {}
    for path in find_files([knowledge_dir]) if knowledge_dir.is_dir() else []:
        try:
            doc = load_document(path, knowledge_dir)
        except TutorError:
            continue
        if doc.record is not None:
            records.setdefault(doc.record.name, doc.record)
    return records


def trial_infos(chunks: Iterable[Chunk], records: dict[str, TrialRecord]) -> list[TrialInfo]:
    """The trials with a page in the store, by year then name, each with its chunk count."""
    counts: dict[str, int] = {}
    documents: dict[str, str] = {}
    for chunk in sorted(chunks, key=lambda c: (c.document, c.index)):
        if chunk.trial:
            counts[chunk.trial] = counts.get(chunk.trial, 0) + 1
            documents.setdefault(chunk.trial, chunk.document)
    infos = []
    for name in counts:
        record = records.get(name)
        infos.append(TrialInfo(
            name=name, title=record.title if record else name, year=record.year if record else None,
            journal=record.journal if record else None, sample=record.sample if record else None,
            chunks=counts[name], document=documents[name],
        ))
    return sorted(infos, key=lambda t: (t.year or "", t.name))


def manifest_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "library.json"


def _usable(settings: Settings) -> bool:
    # On a Chroma server another process may write at any time: only the server knows the library.
    return not settings.chroma_url


def read_manifest(settings: Settings, collection: str, fingerprint: str) -> dict | None:
    """The saved manifest when it describes this collection built from these knowledge files, else None."""
    path = manifest_path(settings)
    if not _usable(settings) or not (Path(settings.data_dir) / "chroma.sqlite3").is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("format") != MANIFEST_FORMAT \
            or saved.get("collection") != collection or saved.get("fingerprint") != fingerprint:
        return None
    return saved


def saved_trials(settings: Settings) -> list[TrialInfo] | None:
    """The library from the manifest, without opening the store; None when it is missing or stale."""
    from tutor.store import collection_name

    saved = read_manifest(settings, collection_name(settings), knowledge_fingerprint(settings))
    if saved is None:
        return None
    try:
        return [TrialInfo.model_validate(t) for t in saved["trials"]]
    except (KeyError, TypeError, ValueError):
        return None


def is_current(store, revision: str | None) -> bool:
    """Does the saved manifest describe this store at this revision?"""
    saved = read_manifest(store.settings, store.name, store.fingerprint() or "")
    return saved is not None and saved.get("revision") == revision


def save(store, chunks: Iterable[Chunk] | None = None, revision: str | None = None,
         records: dict[str, TrialRecord] | None = None) -> None:
    """Save the library of a store beside it, whole or not at all (a reader never sees half a file):
    its chunks (read from the store unless given, with the revision they are from) and the pages."""
    settings = store.settings
    if not _usable(settings):
        return
    if chunks is None:
        revision = store.revision()  # read first: a write meanwhile leaves the manifest stale, never wrong
        chunks = store.chunks()[0]
    trials = trial_infos(chunks, records if records is not None else read_records(settings.knowledge_dir))
    # The fingerprint the store records: what it was last wholly built from.
    body = {"format": MANIFEST_FORMAT, "collection": store.name, "fingerprint": store.fingerprint() or "",
            "revision": revision, "trials": [t.model_dump() for t in trials]}
    path = manifest_path(settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".library.", suffix=".json", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(body, out, indent=1)
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only data folder: `tutor trials` asks the store instead


def forget_manifest(settings: Settings) -> None:
    """The store is about to change: the saved library no longer describes it."""
    try:
        manifest_path(settings).unlink(missing_ok=True)
    except OSError:
        pass
