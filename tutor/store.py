"""Embed chunks and keep them in Chroma, one collection per embedder (model and runtime).

The embedded `PersistentClient` is the default; `TUTOR_CHROMA_URL` points at a Chroma
server instead. Collections measure cosine distance, so relevance = 1 - distance lies in
[0, 1] and the relevance floor means the same thing everywhere.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from tutor import library
from tutor.embeddings import SentenceVectors, embedding_name, embedding_runtime, get_embeddings, saved_vectors
from tutor.errors import ConfigError, IngestError, StoreError
from tutor.knowledge_files import document_id, find_files, knowledge_fingerprint  # noqa: F401  (tutor.py reads it here)
from tutor.schema import Chunk
from tutor.settings import Settings

BATCH = 64
Progress = Callable[[int, int], None]
# what a chunk keeps in the store beside its text: every field of Chunk but these two
_CHUNK_FIELDS = tuple(f for f in Chunk.model_fields if f not in ("id", "text"))


@dataclass
class IngestReport:
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    documents: int = 0
    errors: list[str] = field(default_factory=list)
    total: int = 0  # chunks in the collection afterwards


def collection_name(settings: Settings) -> str:
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", embedding_name(settings)).strip("-._")
    return f"{settings.collection}.{slug}"[:500]


def chroma_client(settings: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise ConfigError(
                    f"TUTOR_CHROMA_URL={settings.chroma_url!r} is not a URL; use http://host:port"
                )
            return chromadb.HttpClient(
                host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https", settings=chroma_settings,
            )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.data_dir), settings=chroma_settings)
    except ConfigError:
        raise
    except Exception as exc:  # chromadb raises many types; the user needs one message
        if not settings.chroma_url and any(sign in str(exc).lower() for sign in DAMAGED):
            raise StoreError(
                f"the Chroma store in {settings.data_dir} is damaged ({exc}); rebuild it: move chroma.sqlite3 and "
                f"the index folders beside it out of TUTOR_DATA_DIR (keep records.sqlite3 there: it holds the "
                f"learner records), then run `tutor ingest`"
            ) from exc
        raise StoreError(f"cannot open the Chroma store at {settings.chroma_url or settings.data_dir} ({exc}); "
                         + store_fix(settings)) from exc


# What SQLite says of a file that is not, or no longer, a database.
DAMAGED = ("file is not a database", "malformed", "database disk image")


def store_fix(settings: Settings) -> str:
    """What to check when the store cannot be reached or read."""
    if settings.chroma_url:
        return f"check that `chroma run` is up at TUTOR_CHROMA_URL={settings.chroma_url}"
    return "check TUTOR_DATA_DIR is a writable folder"


class Store:
    """The knowledge base: a Chroma collection used through langchain-chroma."""

    def __init__(self, settings: Settings):
        from langchain_chroma import Chroma

        self.settings = settings
        self.embedding = embedding_name(settings)
        self.runtime = embedding_runtime(settings)
        self.embeddings = get_embeddings(settings)
        # Unit vectors of texts this embedder has made: retrieval keeps the question's here, and the
        # offline model reads it back instead of embedding the question again; the library's sentences
        # the offline model weighs are saved for the next process too.
        self.sentences = SentenceVectors(self.embeddings, saved=saved_vectors(self.embeddings))
        self.client = chroma_client(settings)
        self.name = collection_name(settings)
        self._seen: tuple = (None, None)  # (the store's change mark, the revision read with it)
        self._probe: sqlite3.Connection | None = None  # a read-only connection to the embedded store's file
        self._probe_file: tuple | None = None
        self._probe_lock = threading.Lock()
        self._file = None if settings.chroma_url else (Path(settings.data_dir) / "chroma.sqlite3").resolve()
        try:
            self.vectors = Chroma(
                client=self.client,
                collection_name=self.name,
                embedding_function=self.embeddings,
                collection_metadata={"embedding_model": self.embedding, "embedding_runtime": self.runtime},
                collection_configuration={"hnsw": {"space": "cosine"}},
            )
            self.collection = self.vectors._collection
        except Exception as exc:
            raise StoreError(f"cannot open collection {self.name!r} ({exc}); {store_fix(settings)}") from exc
        meta = self.collection.metadata or {}
        recorded = meta.get("embedding_model")
        # A collection from before runtimes were recorded was built on torch.
        runtime = meta.get("embedding_runtime", "torch" if "/" not in str(recorded) else self.runtime)
        if recorded != self.embedding or runtime != self.runtime:
            raise StoreError(
                f"collection {self.name!r} was built with embedding model {recorded!r} on {runtime}, not "
                f"{self.embedding!r} on {self.runtime}; set TUTOR_COLLECTION to a new name or delete the collection"
            )

    # -- reading -----------------------------------------------------------------------

    def count(self) -> int:
        return self.collection.count()

    def chunks(self, with_embeddings: bool = False) -> tuple[list[Chunk], list[list[float]] | None]:
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        got = self.collection.get(include=include)
        chunks = [
            Chunk(id=i, text=t, **{k: m[k] for k in _CHUNK_FIELDS if k in m})
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])
        ]
        return chunks, (got["embeddings"] if with_embeddings else None)

    def fingerprint(self) -> str | None:
        return (self.collection.metadata or {}).get("knowledge_fingerprint")

    def revision(self) -> str | None:
        """A token that changes with every write through `ingest`, read fresh from Chroma:
        another process sharing a Chroma server may have written (one small request). On the embedded
        store it is read again only when its database file changed since (`_changes`)."""
        changes = self._changes()  # before the read: a write after it is seen at the next call
        if changes is not None and changes == self._seen[0]:
            return self._seen[1]
        try:
            value = (self.client.get_collection(self.name).metadata or {}).get("revision")
        except Exception as exc:
            raise StoreError(f"cannot read collection {self.name!r} ({exc}); {store_fix(self.settings)}") from exc
        self._seen = (changes, value)
        return value

    def _changes(self) -> tuple | None:
        """A mark that changes whenever anything commits to the embedded store's SQLite file, from any
        connection or process: SQLite's `PRAGMA data_version` (microseconds, where a metadata read through
        Chroma takes about half a millisecond), with the file's identity (a store moved aside and built
        again is a new file). None on a Chroma server, or when the file cannot be read: ask Chroma."""
        if self._file is None:
            return None
        try:
            with self._probe_lock:
                identity = os.stat(self._file)
                if self._probe is None or self._probe_file != (identity.st_dev, identity.st_ino):
                    if self._probe is not None:
                        self._probe.close()
                    self._probe = sqlite3.connect(f"{self._file.as_uri()}?mode=ro", uri=True, check_same_thread=False,
                                                  isolation_level=None)
                    self._probe_file = (identity.st_dev, identity.st_ino)
                # fetchall: the statement runs to its end, so no read lock outlives it
                return (self._probe_file, self._probe.execute("PRAGMA data_version").fetchall()[0][0])
        except (OSError, ValueError, sqlite3.Error):
            return None

    # -- writing -----------------------------------------------------------------------

    def _set_fingerprint(self, value: str) -> None:
        self._update_metadata(knowledge_fingerprint=value)

    def _bump_revision(self) -> None:
        self._update_metadata(revision=uuid.uuid4().hex[:16])

    def _update_metadata(self, **values: str) -> None:
        # Chroma replaces the whole metadata, and another process may have changed it: read it fresh.
        current = self.client.get_collection(self.name).metadata or {}
        meta = {k: v for k, v in current.items() if not k.startswith("hnsw:")}
        meta.update(values)
        self.collection.modify(metadata=meta)

    def ingest(self, paths: Iterable[Path] | None = None, progress: Progress | None = None) -> IngestReport:
        """Bring the store in line with the given files (default: the knowledge folder).

        Idempotent: unchanged chunks stay, edited documents replace their chunks, and the
        chunks of a document whose file is gone are removed. A file that cannot be read is
        reported and its chunks (if any) are left as they were.
        """
        from tutor.knowledge import Document, Splitter, load_document

        root = self.settings.knowledge_dir
        full_sync = paths is None
        targets = [root] if full_sync else list(paths)
        if full_sync and not root.is_dir():
            raise ConfigError(f"knowledge folder {root} does not exist; set TUTOR_KNOWLEDGE_DIR")
        report = IngestReport()
        splitter = Splitter(self.settings.chunk_size, self.settings.chunk_overlap)
        documents: list[Document] = []
        failed: set[str] = set()
        for target in targets:
            try:
                files = find_files([target])
            except IngestError as exc:
                report.errors.append(str(exc))
                continue
            for path in files:
                try:
                    documents.append(load_document(path, root))
                except IngestError as exc:
                    report.errors.append(str(exc))
                    failed.add(document_id(path, root))
        new_chunks = {doc.id: splitter.split(doc) for doc in documents}
        report.documents = len(documents)

        existing: dict[str, set[str]] = {}
        got = self.collection.get(include=["metadatas"])
        for cid, meta in zip(got["ids"], got["metadatas"]):
            existing.setdefault(str(meta.get("document")), set()).add(cid)

        to_add: list[Chunk] = []
        to_delete: list[str] = []
        for doc_id, chunks in new_chunks.items():
            have = existing.get(doc_id, set())
            ids = {c.id for c in chunks}
            to_add.extend(c for c in chunks if c.id not in have)
            to_delete.extend(have - ids)
            report.unchanged += len(have & ids)
        for doc_id, ids in existing.items():
            if doc_id in new_chunks or doc_id in failed:
                continue
            outside = Path(doc_id).is_absolute()
            if (full_sync and not outside) or (outside and not Path(doc_id).exists()):
                to_delete.extend(ids)

        total = len(to_add)
        if progress:
            progress(0, total)
        if to_add or to_delete:  # bumped before and after: readers never keep a half-written state
            library.forget_manifest(self.settings)
            self._bump_revision()
        for start in range(0, total, BATCH):
            batch = to_add[start : start + BATCH]
            # Embed each passage with its heading path ("Mechanism of Action: ..."), so a question
            # that names the topic finds passages whose own words do not.
            vectors = self.embeddings.embed_documents([embedding_text(c) for c in batch])
            self.collection.upsert(
                ids=[c.id for c in batch],
                embeddings=vectors,
                documents=[c.text for c in batch],
                metadatas=[c.model_dump(include=set(_CHUNK_FIELDS)) for c in batch],
            )
            if progress:
                progress(min(start + BATCH, total), total)
        if to_delete:
            self.collection.delete(ids=to_delete)
        if to_add or to_delete:
            self._bump_revision()
        report.added, report.removed = len(to_add), len(to_delete)
        if full_sync and not report.errors:
            self._set_fingerprint(knowledge_fingerprint(self.settings))
        report.total = self.count()
        return report


def embedding_text(chunk: Chunk) -> str:
    return f"{chunk.section}: {chunk.text}" if chunk.section else chunk.text
