"""Every setting in one typed class, read from the environment and `.env`.

The README's settings table lists these fields; `tests/test_settings.py` keeps the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from annotated_types import Ge, Gt, Le
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tutor.errors import ConfigError

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
    embedding_backend: Literal["local", "openai"] = Field("local", description="local (the bundled MiniLM, see embedding_runtime) or OpenAI embeddings")
    embedding_model: str = Field("all-MiniLM-L6-v2", description="embedding model name")
    embedding_runtime: Literal["onnx", "torch"] = Field(
        "onnx", description="runtime of the local model: onnx (ONNX Runtime, no torch when answering) or torch "
                            "(sentence-transformers); each has its own collection",
    )
    embedding_precision: Literal["fp32", "int8"] = Field(
        "fp32", description="weights of the onnx model: fp32, or int8 (dynamic quantisation; smaller, "
                            "vectors slightly off fp32)",
    )
    models_dir: Path = Field(PROJECT_ROOT / ".tutor" / "models",
                             description="folder of exported ONNX models (made on first use from the bundled model) "
                                         "and their saved vectors of the library's sentences")

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
    request_timeout: float = Field(
        30.0, gt=0,
        description="seconds each model request attempt may wait for the server; one that never answers is given "
                    "up after (retries + 1) x timeout + backoff: 3 x 30 + 0.5 + 1 = 91.5 s by default",
    )
    max_retries: int = Field(
        2, ge=0, le=10,
        description="retries of a request that failed with 429, 5xx, a timeout or a dropped connection; "
                    "backoff 0.5 s, 1 s, 2 s, ... (at most 8 s) or the server's Retry-After",
    )
    grader: Literal["auto", "offline"] = Field(
        "auto", description="who grades practice answers: auto = the chat model's backend (the model on openai, "
                            "falling back to offline); offline = always the deterministic grader"
    )
    history_tokens: int = Field(1500, ge=0, description="token budget for earlier turns sent to the model")
    max_history_turns: int = Field(
        40, ge=0, le=1000, description="turns of earlier conversation a question may carry; more is refused (the page "
                                      "keeps its newest turns)")
    max_history_chars: int = Field(
        60000, ge=0, le=2_000_000, description="characters of earlier conversation a question may carry; more is refused")
    max_answer_chars: int = Field(
        12000, ge=200, le=200_000, description="characters of one answer on any backend; a longer reply is cut and "
                                               "marked incomplete")

    # Page
    host: str = Field("127.0.0.1", description="address `tutor serve` binds to")
    port: int = Field(7860, ge=1, le=65535, description="port `tutor serve` listens on")
    concurrency: int = Field(4, ge=1, le=64, description="turns the page answers at once; more users queue")
    queue_size: int = Field(64, ge=1, le=10000, description="turns waiting in the queue at most; past it a new turn "
                                                           "is told the tutor is busy")
    session_jobs: int = Field(2, ge=1, le=100, description="turns one session may have waiting or running at once; "
                                                          "past it the session is told to wait")
    auth_file: Path | None = Field(
        None, description="users file of the page's optional login (`tutor users add NAME` writes it); unset = no "
                          "login (serve on 127.0.0.1, or behind an authenticating reverse proxy)")
    max_request_bytes: int = Field(1_000_000, ge=10_000, le=100_000_000,
                                   description="bytes in one request body to the page; a larger one is refused (413) "
                                               "unread")

    # Learner records (feedback)
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the learner-records database, e.g. postgresql+psycopg://user:pw@host/tutor "
                          "(postgresql:// means psycopg 3); unset = SQLite file records.sqlite3 in TUTOR_DATA_DIR",
    )
    feedback_retention_days: int = Field(
        365, ge=0, description="days feedback is kept; older records are deleted at start-up and by "
                               "`tutor feedback purge`; 0 = keep forever",
    )

    @field_validator("auth_file", mode="before")
    @classmethod
    def _no_login(cls, value):
        return None if isinstance(value, str) and not value.strip() else value  # TUTOR_AUTH_FILE= means unset

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, value: str) -> str:
        import re

        if not re.fullmatch(r"[a-zA-Z0-9._-]{3,200}", value):
            raise ValueError(
                "TUTOR_COLLECTION must be 3 to 200 characters of letters, digits, '.', '_' or '-'"
            )
        return value


def env_name(field: str) -> str:
    """The environment variable a user sets for a field (or the alias pydantic reports)."""
    info = Settings.model_fields.get(field)
    if info is None:
        return field.upper()  # pydantic reports an aliased field by its alias: OPENAI_BASE_URL
    aliases = getattr(info.validation_alias, "choices", None)
    return str(aliases[0]) if aliases else f"TUTOR_{field.upper()}"


def allowed(field: str) -> str | None:
    """What a field accepts, in words: "a whole number from 1 to 20", "one of offline, mock, openai"."""
    info = Settings.model_fields.get(field)
    if info is None:
        return None
    if getattr(info.annotation, "__origin__", None) is Literal:
        return "one of " + ", ".join(map(str, info.annotation.__args__))
    kind = {int: "a whole number", float: "a number"}.get(info.annotation)
    if kind is None:
        return None
    ge = next((r.ge for r in info.metadata if isinstance(r, Ge)), None)
    gt = next((r.gt for r in info.metadata if isinstance(r, Gt)), None)
    le = next((r.le for r in info.metadata if isinstance(r, Le)), None)
    if ge is not None and le is not None:
        return f"{kind} from {ge:g} to {le:g}"
    bounds = [f"above {gt:g}" if gt is not None else "", f"of at least {ge:g}" if ge is not None else "",
              f"of at most {le:g}" if le is not None else ""]
    return " ".join([kind, *filter(None, bounds)])


def describe(error: dict) -> str:
    """One pydantic error as a user reads it: the variable, what it was given, what it accepts."""
    field = str(error["loc"][0]) if error.get("loc") else ""
    name = env_name(field)
    given = "" if "key" in field.lower() else f"={error.get('input')}"  # never echo a key
    accepts = allowed(field)
    if accepts:
        return f"{name}{given} is not allowed: use {accepts}"
    return f"{name}{given}: {str(error['msg']).removeprefix('Value error, ')}"


def settings_error(exc: ValidationError) -> ConfigError:
    """A ValidationError from Settings as one line naming each bad variable and what it accepts."""
    return ConfigError("; ".join(describe(e) for e in exc.errors()) + " (fix it in the environment or .env)")


def load_settings(**overrides) -> Settings:
    """Settings, or a one-line ConfigError naming each bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise settings_error(exc) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
