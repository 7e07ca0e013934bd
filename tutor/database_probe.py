"""Where the learner records live, and a check of a plain SQLite file with the standard library's sqlite3:
`tutor doctor` then imports no SQLAlchemy (a third of a second); `tutor.database` runs the same check
through SQLAlchemy for any other URL.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tutor.errors import DatabaseError

SQLITE_FILE = "records.sqlite3"
# The newest migration's revision, so that checking a database (`tutor doctor`) imports no Alembic (a
# quarter of a second); a test holds it equal to Alembic's head, so a new migration must bump it.
SCHEMA_HEAD = "0001"
BUSY_TIMEOUT_S = 30  # the engine's: a probe waits for another process's write, as a write would


def database_url(settings) -> str:
    """TUTOR_DATABASE_URL, or the SQLite file in the data folder; postgresql:// means psycopg 3."""
    url = settings.database_url
    if not url:
        return f"sqlite:///{Path(settings.data_dir) / SQLITE_FILE}"
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare):]
    return url


def cause(exc: BaseException) -> str:
    """What went wrong, in one line a user can act on."""
    inner = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    message = lines[0] if lines else type(inner).__name__  # psycopg's hint lines add nothing a user can act on
    lowered = message.lower()
    if "read-only" in lowered or "readonly" in lowered or "read only" in lowered:
        return f"the database is read-only ({message[:160]})"
    lost = bool(getattr(exc, "connection_invalidated", False))  # SQLAlchemy's DBAPIError: the connection died
    if lost or ("connection" in lowered and any(w in lowered for w in ("refused", "failed", "closed", "terminat"))):
        return f"the database cannot be reached ({message[:160]})"
    if "unable to open database file" in lowered:
        return f"the database file cannot be opened ({message[:160]})"
    return message[:240]


def sqlite_file(url: str) -> Path | None:
    """The file of a plain `sqlite:///path` URL; None for anything SQLAlchemy must read (other databases,
    drivers, URI filenames, options, escapes, memory)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix):]
    if not path or path == ":memory:" or path.startswith("file:") or any(c in path for c in "?%#"):
        return None
    return Path(path)


def check_sqlite(path: Path, where: str) -> str:
    """What `Database.check` does, on a SQLite file: connect as the engine does (WAL, foreign keys),
    read the schema revision and probe a write, rolled back; a DatabaseError says what fails."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"the database folder cannot be created ({exc})") from exc
    try:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            try:
                connection.execute("PRAGMA journal_mode=WAL")  # readers do not wait for a writer
            except sqlite3.Error:  # a read-only file keeps its journal; the probe then fails with its own cause
                pass
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("BEGIN IMMEDIATE")
            try:
                tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                current = None
                if "alembic_version" in tables:
                    current = connection.execute("SELECT version_num FROM alembic_version").fetchone()
                    current = current[0] if current else None
                if current is not None and "feedback" in tables:
                    connection.execute("DELETE FROM feedback WHERE id = ''")
            finally:
                connection.execute("ROLLBACK")
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise DatabaseError(cause(exc)) from exc
    return described(where, current)


def described(where: str, current: str | None) -> str:
    """The check's finding, for a database that answered at revision `current`."""
    if current is None:
        return f"{where} answers; its tables are created on start-up or by `tutor db upgrade`"
    if current != SCHEMA_HEAD:
        return f"{where} answers at revision {current}; `tutor db upgrade` (or a start-up) brings it to {SCHEMA_HEAD}"
    return f"{where} answers and takes writes, schema revision {current}"
