"""Errors a user can see: each names the cause and the fix.

The CLI prints them as one line on stderr and exits with status 2; the page shows
them as a friendly message in the chat and keeps the conversation.
"""


class TutorError(Exception):
    """Base for every error that is meant for a user, not a traceback."""


class InputError(TutorError):
    """The question, role, specialty or a file given by the user is not usable."""


class ConfigError(TutorError):
    """A setting is missing or wrong; the message names the setting."""


class StoreError(TutorError):
    """The vector store cannot be opened, read or written."""


class IngestError(TutorError):
    """A knowledge file cannot be read or split; the message names the file."""


class ModelError(TutorError):
    """The language model failed or could not be reached."""


class DatabaseError(TutorError):
    """The learner-records database cannot be reached, read or written; the message names the cause."""


# The deployment's own addresses and folders, as registered by the page (hide_locations) -> the setting naming each.
_HIDDEN: dict[str, str] = {}


def hide_locations(settings) -> None:
    """Register the settings' servers and folders so `public` names them by their setting: page users and API
    callers learn which setting failed, not where the deployment keeps its model server, store or records."""
    from tutor.database import shown

    pairs = [(settings.openai_base_url, "OPENAI_BASE_URL"), (settings.chroma_url, "TUTOR_CHROMA_URL"),
             (settings.database_url and shown(settings.database_url), "TUTOR_DATABASE_URL"),
             (settings.data_dir, "TUTOR_DATA_DIR"), (settings.knowledge_dir, "TUTOR_KNOWLEDGE_DIR"),
             (settings.prompts_dir, "TUTOR_PROMPTS_DIR"), (settings.models_dir, "TUTOR_MODELS_DIR"),
             (settings.auth_file, "TUTOR_AUTH_FILE")]
    for value, name in pairs:
        text = str(value or "").rstrip("/")
        if len(text) >= 4:  # never a bare "." or "/": those would rewrite ordinary words
            _HIDDEN[text] = name


def public(message: str) -> str:
    """A message as the page shows it: each registered location replaced by the setting that names it (the
    server's log keeps the whole message)."""
    for value in sorted(_HIDDEN, key=len, reverse=True):
        message = message.replace(value, _HIDDEN[value])
    return message
