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
