"""The bundled sentence-transformers model on torch: `TUTOR_EMBEDDING_RUNTIME=torch`, and the bench's baseline.

Its own module so that naming and choosing an embedder (`tutor.embeddings`) imports neither torch nor
LangChain: `tutor trials` and `tutor doctor` only need the names.
"""

from __future__ import annotations

import os
import threading

from langchain_core.embeddings import Embeddings

from tutor.embeddings import local_model_path


class LocalEmbeddings(Embeddings):
    """sentence-transformers on torch on the CPU, normalised so cosine = dot product."""

    def __init__(self, name: str = "all-MiniLM-L6-v2"):
        path = local_model_path(name)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bar at every start
        transformers.utils.logging.set_verbosity_error()

        self.name = name
        self.model = SentenceTransformer(str(path), device="cpu")
        self._lock = threading.Lock()  # one encode at a time: torch on 2 cores gains nothing from more

    def _encode(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            vectors = self.model.encode(
                texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
            )
        return vectors.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(list(texts))

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0]
