"""Every setting in one typed class, read from the environment and `.env`.

The README's settings table lists these fields; `tests/test_settings.py` keeps the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TUTOR_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Knowledge and prompts
    knowledge_dir: Path = Field(PROJECT_ROOT / "knowledge", description="folder of source documents (.md, .txt)")
    prompts_dir: Path = Field(PROJECT_ROOT / "prompts", description="system prompt and one YAML file per role")
    chunk_size: int = Field(450, ge=100, le=4000, description="characters per chunk")
    chunk_overlap: int = Field(60, ge=0, le=1000, description="characters shared by neighbouring chunks")

    # Store and embeddings
    data_dir: Path = Field(PROJECT_ROOT / ".tutor" / "chroma", description="folder of the embedded Chroma store")
    chroma_url: str | None = Field(None, description="Chroma server URL (http://host:port); unset = embedded store")
    collection: str = Field("trial-tutor", description="collection name prefix; the embedding model is appended")
    embedding_backend: Literal["local", "openai"] = Field("local", description="local sentence-transformers or OpenAI embeddings")
    embedding_model: str = Field("all-MiniLM-L6-v2", description="embedding model name")

    # Retrieval
    top_k: int = Field(4, ge=1, le=20, description="passages given to the model per question")
    relevance_floor: float = Field(
        0.3, ge=0.0, le=1.0, description="minimum cosine similarity of the best passage for a question to be in scope"
    )

    # Model
    model: Literal["offline", "mock", "openai"] = Field("offline", description="which chat model answers")
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "TUTOR_OPENAI_API_KEY"), description="API key for the openai backend"
    )
    openai_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("OPENAI_BASE_URL", "TUTOR_OPENAI_BASE_URL"),
        description="OpenAI-compatible server URL (vLLM, Ollama, llama.cpp); unset = OpenAI",
    )
    openai_model: str = Field("gpt-4o-mini", description="chat model name on the openai backend")
    openai_embedding_model: str = Field("text-embedding-3-small", description="embedding model when embedding_backend=openai")
    temperature: float = Field(0.2, ge=0.0, le=2.0, description="sampling temperature (openai backend)")
    max_tokens: int = Field(700, ge=16, le=16000, description="maximum tokens in one answer (openai backend)")
    request_timeout: float = Field(30.0, gt=0, description="seconds before a model request times out")
    max_retries: int = Field(2, ge=0, le=10, description="retries of a failed model request, with backoff")
    history_tokens: int = Field(1500, ge=0, description="token budget for earlier turns sent to the model")

    # Page
    host: str = Field("127.0.0.1", description="address `tutor serve` binds to")
    port: int = Field(7860, ge=1, le=65535, description="port `tutor serve` listens on")
    concurrency: int = Field(4, ge=1, le=64, description="turns the page answers at once; more users queue")

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, value: str) -> str:
        import re

        if not re.fullmatch(r"[a-zA-Z0-9._-]{3,200}", value):
            raise ValueError(
                "TUTOR_COLLECTION must be 3 to 200 characters of letters, digits, '.', '_' or '-'"
            )
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
