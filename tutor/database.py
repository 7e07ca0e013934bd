"""The learner-records database: its tables, its engine and its Alembic migrations.

SQLite in the data folder by default (nothing to start); any SQLAlchemy URL in TUTOR_DATABASE_URL for a
server several `tutor serve` processes share (PostgreSQL through psycopg 3). Every write is one
transaction; a failure becomes a `DatabaseError` whose message names the cause, never a traceback.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path

from sqlalchemy import (JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, create_engine, event,
                        inspect, text)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tutor.database_probe import SCHEMA_HEAD, SQLITE_FILE, cause, database_url, described  # noqa: F401 (re-exported)
from tutor.errors import ConfigError, DatabaseError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
PG_MIGRATION_LOCK = 0x7475746F72  # any constant: serialises start-up migrations of several processes


class Base(DeclarativeBase):
    pass


class FeedbackRow(Base):
    """One thumbs up or down on an answer (kind "answer") or a practice grade (kind "grade")."""

    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    rating: Mapped[str] = mapped_column(String(8), index=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    session_id: Mapped[str] = mapped_column(String(64), index=True)  # anonymous: a random id per browser session
    turn: Mapped[int | None] = mapped_column(Integer)  # the answer's (or grade's) place in its session
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    passages: Mapped[list] = mapped_column(JSON)  # [{n, id, trial, section, document, text, cited}]
    citations: Mapped[list] = mapped_column(JSON)
    chosen_trial: Mapped[str] = mapped_column(String(200), default="")  # "" = all trials
    role: Mapped[str] = mapped_column(String(64), index=True)
    specialty: Mapped[str] = mapped_column(String(200), default="")
    model: Mapped[str] = mapped_column(String(200), index=True)
    unverified_numbers: Mapped[list] = mapped_column(JSON)
    dropped_citations: Mapped[list] = mapped_column(JSON)
    complete: Mapped[bool] = mapped_column(Boolean, default=True)
    incomplete_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[dict] = mapped_column(JSON)  # what a kind adds: a grade's item, score and missed points
    trials: Mapped[list[FeedbackTrial]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                       order_by="FeedbackTrial.position")


class FeedbackTrial(Base):
    """The trials a feedback record is about (the chosen one, else those its answer cites): one row each,
    so `--trial` filters and per-trial counts are plain SQL on any database."""

    __tablename__ = "feedback_trial"

    feedback_id: Mapped[str] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True)
    trial: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


def shown(url: str) -> str:
    """A URL as it may be printed: no password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not a URL: shown as typed, unless it could hold a password
        return url if "@" not in url and ":" not in url.partition("//")[2] else "(unreadable URL)"


def make_engine(url: str) -> Engine:
    """An engine for a URL; a bad URL or a missing driver is a ConfigError naming TUTOR_DATABASE_URL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"TUTOR_DATABASE_URL={shown(url)} is not a database URL; use e.g. "
                          "postgresql+psycopg://user:password@host:5432/tutor, or unset it for SQLite") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(url)
        args = {"connect_timeout": 5} if parsed.get_backend_name() == "postgresql" else {}
        return create_engine(url, pool_pre_ping=True, connect_args=args)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"TUTOR_DATABASE_URL={shown(url)}: no driver for it ({exc}); "
                          "for PostgreSQL use postgresql+psycopg://") from None


def _sqlite_engine(url: str) -> Engine:
    path = make_url(url).database
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    # SQLAlchemy's recipe for real SQLite transactions: pysqlite's own handling begins them late (and never
    # for DDL). BEGIN IMMEDIATE takes the write lock at the start, so two processes' writes queue (up to the
    # 30 s busy timeout) instead of failing, and a migration is one transaction.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")  # readers do not wait for a writer
        except Exception:  # a read-only file keeps its journal; writes then fail with their own cause
            pass
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _alembic_config(connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def recorded_revision(connection) -> str | None:
    """The revision Alembic recorded in its alembic_version table, read with plain SQL (no Alembic import)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> str:
    """Apply every migration not yet applied, in one transaction; returns the revision now current.
    Several processes starting at once take turns (a PostgreSQL advisory lock; SQLite's write lock)."""
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
        command.upgrade(_alembic_config(connection), "head")
    return current_revision(engine)


class Database:
    """The engine of one URL, upgraded to the newest schema on first use (and retried after a failure:
    a database that was down at start-up is used once it is back)."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._ready = False
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        return shown(self.url)

    def ready(self) -> Engine:
        if self._ready:
            return self.engine
        with self._lock:
            if not self._ready:
                try:
                    with self.engine.connect() as connection:
                        current = recorded_revision(connection)
                    if current != SCHEMA_HEAD:  # at the head already: no Alembic to import at every start
                        upgrade(self.engine)
                except SQLAlchemyError as exc:
                    raise DatabaseError(cause(exc)) from exc
                self._ready = True
        return self.engine

    def check(self) -> str:
        """Connect, read the schema revision and probe a write (rolled back); a DatabaseError says what fails.
        (`tutor.database_probe.check_sqlite` is the same check on a plain SQLite file, without SQLAlchemy.)"""
        try:
            with self.engine.connect() as connection:
                with connection.begin() as transaction:
                    current = recorded_revision(connection)
                    if current is not None and inspect(connection).has_table("feedback"):
                        connection.execute(text("DELETE FROM feedback WHERE id = ''"))
                    transaction.rollback()
                if connection.dialect.name == "postgresql" and \
                        connection.execute(text("SHOW transaction_read_only")).scalar() == "on":
                    raise DatabaseError("the database is read-only (transaction_read_only is on)")
        except SQLAlchemyError as exc:
            raise DatabaseError(cause(exc)) from exc
        return described(self.where, current)

    def dispose(self) -> None:
        self.engine.dispose()
