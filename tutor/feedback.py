"""Learner feedback: thumbs up or down (and an optional comment) on an answer or a practice grade, kept in
the records database with what was asked, what was answered and the passages behind it; listed,
exported, counted and purged for faculty.

A record names no person: a random session id, the learner's stage and specialty, the time.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from tutor.database import Database, FeedbackRow, FeedbackTrial, cause, database_url
from tutor.errors import DatabaseError, InputError
from tutor.schema import Answer

Kind = Literal["answer", "grade"]
Rating = Literal["up", "down"]
MAX_COMMENT = 2000
T = TypeVar("T")


class Passage(BaseModel):
    """A passage an answer was given, as [n] in its text: where it is from and what it says."""

    n: int
    id: str
    trial: str = ""
    section: str = ""
    document: str = ""
    text: str
    cited: bool = False


class Feedback(BaseModel):
    """One thumbs up or down. `kind` "answer" rates a chat answer; "grade" rates a practice grade, whose
    item, score and missed points go in `details`."""

    id: str = ""
    created_at: datetime | None = None
    kind: Kind = "answer"
    rating: Rating
    comment: str = ""
    session_id: str
    turn: int | None = None
    question: str
    answer: str
    passages: list[Passage] = Field(default_factory=list)
    citations: list[str] = Field(default_factory=list)
    trials: list[str] = Field(default_factory=list, description="the chosen trial, else the trials the answer cites")
    chosen_trial: str = ""
    role: str
    specialty: str = ""
    model: str
    unverified_numbers: list[str] = Field(default_factory=list)
    dropped_citations: list[int] = Field(default_factory=list)
    complete: bool = True
    incomplete_reason: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def for_answer(cls, question: str, answer: Answer, rating: str, comment: str = "", session_id: str = "",
                   turn: int | None = None, trial: str | None = None) -> Feedback:
        """Feedback on a chat answer, with its passages resolved."""
        passages = [Passage(n=n, id=s.id, trial=s.trial, section=s.section, document=s.document, text=s.text,
                            cited=s.id in answer.citations) for n, s in enumerate(answer.sources, 1)]
        cited = [p.trial for p in passages if p.cited and p.trial]
        trials = [trial] if trial else list(answer.trials) or list(dict.fromkeys(cited)) \
            or list(dict.fromkeys(p.trial for p in passages if p.trial))
        return cls(kind="answer", rating=clean_rating(rating), comment=clean_comment(comment),
                   session_id=session_id or new_session_id(), turn=turn, question=question.strip(),
                   answer=answer.answer, passages=passages, citations=list(answer.citations), trials=trials,
                   chosen_trial=trial or "", role=answer.role, specialty=answer.specialty or "", model=answer.model,
                   unverified_numbers=answer.unverified_numbers, dropped_citations=answer.dropped_citations,
                   complete=answer.complete, incomplete_reason=answer.incomplete_reason)

    @classmethod
    def for_grade(cls, item: str, response: str, grade: str, rating: str, *, role: str, model: str,
                  passages: list[Passage] = (), trials: list[str] = (), comment: str = "", session_id: str = "",
                  turn: int | None = None, specialty: str | None = None, details: dict | None = None) -> Feedback:
        """Feedback on a practice grade: `item` is the question the learner practised, `response` their answer,
        `grade` the tutor's grade as shown; score and missed points go in `details`. (For the practice mode.)"""
        return cls(kind="grade", rating=clean_rating(rating), comment=clean_comment(comment),
                   session_id=session_id or new_session_id(), turn=turn, question=item.strip(),
                   answer=grade, passages=list(passages), citations=[p.id for p in passages if p.cited],
                   trials=list(trials), role=role, specialty=specialty or "", model=model,
                   details={"response": response, **(details or {})})


class Filters(BaseModel):
    """What `tutor feedback list|export|stats` narrow to; None = any."""

    since: datetime | None = None
    trial: str | None = None
    role: str | None = None
    rating: Rating | None = None
    model: str | None = None
    kind: Kind | None = None


def new_session_id() -> str:
    return uuid.uuid4().hex


def clean_rating(rating: str) -> str:
    value = {"like": "up", "dislike": "down", "+": "up", "-": "down", "👍": "up", "👎": "down"}.get(
        str(rating).strip().lower(), str(rating).strip().lower())
    if value not in ("up", "down"):
        raise InputError(f"rating must be up or down, not {rating!r}")
    return value


def clean_comment(comment: str | None) -> str:
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise InputError(f"the comment is {len(comment)} characters; keep it to {MAX_COMMENT} or fewer")
    if any(ord(c) < 32 and c not in "\n\t" for c in comment):
        raise InputError("the comment holds control characters; type plain text")
    return comment


def parse_when(value: str, option: str = "--since") -> datetime:
    """A date (2026-11-01) or an ISO time (2026-11-01T09:30:00+01:00) as UTC; a date means its midnight UTC."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-01") from None
    if len(value.strip()) == 10:
        when = datetime.combine(date.fromisoformat(value.strip()), time())
    return utc(when)


def utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _row(feedback: Feedback, row: FeedbackRow | None = None) -> FeedbackRow:
    row = row or FeedbackRow(id=feedback.id or uuid.uuid4().hex, created_at=utc(feedback.created_at or datetime.now(UTC)))
    fields = feedback.model_dump(exclude={"id", "created_at", "trials", "passages"})
    fields["specialty"] = fields["specialty"] or ""
    for name, value in fields.items():
        setattr(row, name, value)
    row.passages = [p.model_dump() for p in feedback.passages]
    row.trials = [FeedbackTrial(trial=t, position=i) for i, t in enumerate(dict.fromkeys(feedback.trials))]
    return row


def _record(row: FeedbackRow) -> Feedback:
    return Feedback(
        id=row.id, created_at=utc(row.created_at), kind=row.kind, rating=row.rating, comment=row.comment,
        session_id=row.session_id, turn=row.turn, question=row.question, answer=row.answer,
        passages=row.passages, citations=row.citations, trials=[t.trial for t in row.trials],
        chosen_trial=row.chosen_trial, role=row.role, specialty=row.specialty, model=row.model,
        unverified_numbers=row.unverified_numbers, dropped_citations=row.dropped_citations,
        complete=row.complete, incomplete_reason=row.incomplete_reason, details=row.details or {},
    )


class Records:
    """The feedback kept in one database. Every method is one transaction; any database failure is a
    DatabaseError naming its cause (the page shows it as "feedback not saved: <cause>")."""

    def __init__(self, settings, url: str | None = None):
        self.settings = settings
        self.db = Database(url or database_url(settings))

    @property
    def where(self) -> str:
        return self.db.where

    def _run(self, work: Callable[[Session], T], write: bool = True) -> T:
        engine = self.db.ready()
        try:
            with Session(engine, expire_on_commit=False) as session:
                if write:
                    with session.begin():
                        return work(session)
                return work(session)
        except SQLAlchemyError as exc:
            raise DatabaseError(cause(exc)) from exc

    def open(self) -> int:
        """Bring the schema up to date and drop what is past TUTOR_FEEDBACK_RETENTION_DAYS; returns how many."""
        self.db.ready()
        return self.purge_expired()

    def add(self, feedback: Feedback) -> Feedback:
        """Keep a record. A session's second rating of the same answer (or grade) replaces its first."""
        def work(session: Session) -> Feedback:
            existing = None
            if feedback.turn is not None:
                existing = session.scalars(select(FeedbackRow).where(
                    FeedbackRow.session_id == feedback.session_id, FeedbackRow.kind == feedback.kind,
                    FeedbackRow.turn == feedback.turn)).first()
            row = _row(feedback, existing)
            session.add(row)
            session.flush()
            return _record(row)
        return self._run(work)

    def withdraw(self, session_id: str, turn: int, kind: str = "answer") -> int:
        """A rating taken back (the thumb clicked again): its record goes."""
        def work(session: Session) -> int:
            rows = session.scalars(select(FeedbackRow).where(
                FeedbackRow.session_id == session_id, FeedbackRow.kind == kind, FeedbackRow.turn == turn)).all()
            for row in rows:
                session.delete(row)
            return len(rows)
        return self._run(work)

    def comment(self, feedback_id: str, comment: str) -> Feedback:
        comment = clean_comment(comment)

        def work(session: Session) -> Feedback:
            row = session.get(FeedbackRow, feedback_id)
            if row is None:
                raise InputError(f"no feedback record {feedback_id!r}; rate the answer first")
            row.comment = comment
            session.flush()
            return _record(row)
        return self._run(work)

    def get(self, feedback_id: str) -> Feedback | None:
        return self._run(lambda s: (row := s.get(FeedbackRow, feedback_id)) and _record(row), write=False)

    def list(self, filters: Filters | None = None, limit: int | None = None) -> list[Feedback]:
        """Newest first."""
        query = _filtered(select(FeedbackRow), filters or Filters()).order_by(FeedbackRow.created_at.desc(),
                                                                              FeedbackRow.id)
        if limit:
            query = query.limit(limit)
        return self._run(lambda s: [_record(r) for r in s.scalars(query).all()], write=False)

    def stats(self, filters: Filters | None = None, top: int = 5) -> dict:
        """Counts by rating, trial, role and model, and the answers disliked most (with their comments)."""
        filters = filters or Filters()
        ids = _filtered(select(FeedbackRow.id), filters).scalar_subquery()

        def grouped(session: Session, column, join_trials: bool = False) -> dict[str, dict[str, int]]:
            query = select(column, FeedbackRow.rating, func.count()).select_from(FeedbackRow)
            if join_trials:
                query = query.join(FeedbackTrial, FeedbackTrial.feedback_id == FeedbackRow.id)
            query = query.where(FeedbackRow.id.in_(ids)).group_by(column, FeedbackRow.rating)
            counts: dict[str, dict[str, int]] = {}
            for key, rating, n in session.execute(query):
                counts.setdefault(key or "", {"up": 0, "down": 0})[rating] = n
            return dict(sorted(counts.items()))

        def work(session: Session) -> dict:
            by_rating = {"up": 0, "down": 0, **dict(session.execute(
                select(FeedbackRow.rating, func.count()).where(FeedbackRow.id.in_(ids)).group_by(FeedbackRow.rating)
            ).all())}
            disliked = session.execute(
                select(FeedbackRow.question, FeedbackRow.answer, func.count().label("n"))
                .where(FeedbackRow.id.in_(ids), FeedbackRow.rating == "down")
                .group_by(FeedbackRow.question, FeedbackRow.answer)
                .order_by(func.count().desc(), FeedbackRow.question).limit(top)).all()
            most = []
            for question, answer, n in disliked:
                rows = session.scalars(select(FeedbackRow).where(
                    FeedbackRow.id.in_(ids), FeedbackRow.rating == "down", FeedbackRow.question == question,
                    FeedbackRow.answer == answer)).all()
                most.append({"question": question, "answer": answer, "dislikes": n,
                             "trials": list(dict.fromkeys(t.trial for r in rows for t in r.trials)),
                             "comments": [r.comment for r in rows if r.comment]})
            return {"total": sum(by_rating.values()), "by_rating": by_rating,
                    "by_trial": grouped(session, FeedbackTrial.trial, join_trials=True),
                    "by_role": grouped(session, FeedbackRow.role), "by_model": grouped(session, FeedbackRow.model),
                    "most_disliked": most}
        return self._run(work, write=False)

    def purge(self, before: datetime) -> int:
        """Delete every record made before a time; returns how many."""
        before = utc(before)

        def work(session: Session) -> int:
            old = select(FeedbackRow.id).where(FeedbackRow.created_at < before)
            session.execute(delete(FeedbackTrial).where(FeedbackTrial.feedback_id.in_(old)))
            return session.execute(delete(FeedbackRow).where(FeedbackRow.created_at < before)).rowcount or 0
        return self._run(work)

    def purge_expired(self) -> int:
        days = getattr(self.settings, "feedback_retention_days", 0)
        return self.purge(datetime.now(UTC) - timedelta(days=days)) if days else 0

    def check(self) -> str:
        return self.db.check()

    def close(self) -> None:
        self.db.dispose()


def _filtered(query: Select, filters: Filters) -> Select:
    if filters.since is not None:
        query = query.where(FeedbackRow.created_at >= utc(filters.since))
    if filters.rating:
        query = query.where(FeedbackRow.rating == filters.rating)
    if filters.kind:
        query = query.where(FeedbackRow.kind == filters.kind)
    if filters.role:
        query = query.where(func.lower(FeedbackRow.role) == filters.role.strip().lower())
    if filters.model:
        query = query.where(FeedbackRow.model == filters.model)
    if filters.trial:
        query = query.where(FeedbackRow.id.in_(select(FeedbackTrial.feedback_id).where(
            func.lower(FeedbackTrial.trial) == filters.trial.strip().lower())))
    return query


# -- faculty exports -----------------------------------------------------------------------

CSV_COLUMNS = ["id", "created_at", "kind", "rating", "comment", "trials", "chosen_trial", "role", "specialty",
               "model", "question", "answer", "cited_passages", "passages", "unverified_numbers",
               "dropped_citations", "complete", "incomplete_reason", "session_id", "turn", "details"]


def to_csv(records: Iterable[Feedback]) -> str:
    """One row per record; lists as "; "-joined text, passages and details as JSON."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow({
            **r.model_dump(mode="json", include=set(CSV_COLUMNS)),
            "trials": "; ".join(r.trials), "unverified_numbers": "; ".join(r.unverified_numbers),
            "dropped_citations": "; ".join(map(str, r.dropped_citations)),
            "cited_passages": "; ".join(f"[{p.n}] {p.trial} > {p.section}" for p in r.passages if p.cited),
            "passages": json.dumps([p.model_dump() for p in r.passages], ensure_ascii=False),
            "details": json.dumps(r.details, ensure_ascii=False), "turn": "" if r.turn is None else r.turn,
        })
    return out.getvalue()


def to_jsonl(records: Iterable[Feedback]) -> str:
    return "".join(r.model_dump_json() + "\n" for r in records)
