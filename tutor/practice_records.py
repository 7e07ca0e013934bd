"""A practice session's learner records: feedback on a grade (a feedback record of kind "grade"), and the
session for the learner to keep, as Markdown and JSON: each item, the learner's answer, the grade, and
every missed point with its citation resolved to the passage's text, trial and section.

The page keeps the graded attempts in its session; the API takes them from the client (it keeps no state).
Key points and passages always come from the tutor's own items, never from what a client sends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from tutor.errors import InputError
from tutor.feedback import Feedback, Passage
from tutor.grading import MAX_ANSWER, Grade
from tutor.practice import PracticeItem
from tutor.schema import Chunk
from tutor.transcript import NOTE, Citation, _quote, read_list

KINDS = {"discussion": "Discussion", "recall": "Recall", "appraisal": "Appraisal"}
STATUS = {"covered": "covered", "partly": "partly covered", "missed": "missed", "incorrect": "not right"}


class Attempt(BaseModel):
    """One graded answer: the item, what the learner wrote, and the grade /practice_grade returned."""

    item_id: str = Field(max_length=200)
    answer: str = Field(max_length=MAX_ANSWER)
    grade: Grade


class ExportedPoint(BaseModel):
    id: str
    text: str = Field(description="the key point in the page's words (in full, whatever the grade showed)")
    status: str
    note: str = ""
    citation: Citation


class ExportedAttempt(BaseModel):
    item_id: str
    trial: str
    role: str
    kind: str
    question: str
    answer: str
    score: float
    verdict: str
    grader: str
    grader_note: str | None = None
    flags: list[str] = Field(default_factory=list)
    hint: str | None = None
    points: list[ExportedPoint]
    missed: list[ExportedPoint] = Field(description="the points not covered: what to learn, with their passages")
    model_answer: str | None = Field(None, description="given once the learner asked for the answer (or got it right)")


class PracticeSession(BaseModel):
    title: str = "Trial Tutor practice session"
    exported_at: datetime
    note: str = NOTE
    items_tried: int
    average_score: float | None = Field(None, description="over each item's first try, as the page's tally")
    attempts: list[ExportedAttempt]


def read_attempts(attempts) -> list[Attempt]:
    """Attempts as the API receives them: [{"item_id": "...", "answer": "...", "grade": {what /practice_grade
    returned}}]."""
    read = read_list(attempts, Attempt, "attempts",
                     '{"item_id": "...", "answer": "...", "grade": {a grade from /practice_grade}}')
    for n, attempt in enumerate(read):
        if attempt.grade.item_id != attempt.item_id:
            raise InputError(f"attempts[{n}]: its grade is for {attempt.grade.item_id!r}, not {attempt.item_id!r}; "
                             "send each answer with the grade it got")
    return read


def _citation(item: PracticeItem, index: int, chunks: dict[str, Chunk]) -> Citation:
    passage = item.passages[index]
    chunk = chunks.get(passage.id)
    return Citation(n=index + 1, id=passage.id, trial=item.trial, about=chunk.about if chunk else "",
                    section=passage.section, document=chunk.document if chunk else "", text=passage.text)


def points_of(item: PracticeItem, grade: Grade, chunks: dict[str, Chunk]) -> tuple[list[ExportedPoint], list[ExportedPoint]]:
    """(every point, the missed ones) with the rubric's full text and its passage resolved."""
    rubric = {p.id: p for p in item.rubric.points}
    points = [ExportedPoint(id=p.id, text=rubric[p.id].text if p.id in rubric else p.text, status=p.status,
                            note=p.note, citation=_citation(item, rubric[p.id].passage if p.id in rubric else 0, chunks))
              for p in grade.points]
    missed = [p for p in points if p.status != "covered"]
    if item.rubric.mode == "any" and any(p.status == "covered" for p in points):
        missed = []  # one of the page's points, named and explained, is the whole answer (as the grade says)
    return points, missed


def export_practice(attempts: list[Attempt], item: Callable[[str], PracticeItem],
                    chunks: dict[str, Chunk]) -> PracticeSession:
    """The session's attempts, in order; `item` finds an item by id (Practice.item), `chunks` the store's
    passages by id (for their document)."""
    exported, first = [], {}
    for attempt in attempts:
        practised, grade = item(attempt.item_id), attempt.grade
        points, missed = points_of(practised, grade, chunks)
        first.setdefault(practised.id, grade.score)
        exported.append(ExportedAttempt(
            item_id=practised.id, trial=practised.trial, role=grade.role, kind=practised.kind,
            question=practised.question, answer=attempt.answer, score=grade.score, verdict=grade.verdict,
            grader=grade.grader, grader_note=grade.note, flags=grade.flags, hint=grade.hint, points=points,
            missed=missed, model_answer=practised.model_answer if grade.revealed else None))
    average = round(sum(first.values()) / len(first), 2) if first else None
    return PracticeSession(exported_at=datetime.now(UTC).replace(microsecond=0), items_tried=len(first),
                           average_score=average, attempts=exported)


def to_json(session: PracticeSession) -> str:
    return session.model_dump_json(indent=2)


def to_markdown(session: PracticeSession) -> str:
    lines = [f"# {session.title}", "",
             f"Exported {session.exported_at.strftime('%Y-%m-%d %H:%M UTC')}. {session.note}", ""]
    if session.average_score is not None:
        lines += [f"{session.items_tried} item{'s' if session.items_tried != 1 else ''} tried, "
                  f"average score {session.average_score:.2f} (first tries).", ""]
    for i, a in enumerate(session.attempts, 1):
        lines += [f"## {i}. {a.trial} · {KINDS.get(a.kind, a.kind)}: {a.question.strip()}", "",
                  f"*Practised as {a.role}; graded {a.grader}*", "", "**Your answer:**", "",
                  _quote(a.answer) if a.answer.strip() else "> (no answer)", "",
                  f"**Grade:** {a.verdict}, score {a.score:.2f}", ""]
        if a.grader_note:
            lines += [f"*{a.grader_note}*", ""]
        lines += [f"- Not credited: {flag}" for flag in a.flags]
        lines += [f"- {STATUS.get(p.status, p.status)}: {p.text} [{p.citation.n}]" + (f" ({p.note})" if p.note else "")
                  for p in a.points]
        lines.append("")
        if a.missed:
            lines += ["### Missed points", ""]
            lines += [f"- **{STATUS.get(p.status, p.status).capitalize()}:** {p.text} [{p.citation.n}]"
                      + (f" ({p.note})" if p.note else "") for p in a.missed]
            lines += ["", "### Sources of the missed points", ""]
            for c in {p.citation.n: p.citation for p in a.missed}.values():  # each passage once
                lines += [f"**[{c.n}] {c.trial or c.document} › {c.section or '(no section)'}**"
                          + (f" — {c.document}" if c.document else ""), "", _quote(c.text), ""]
        if a.model_answer:
            lines += ["### Model answer", "", _quote(a.model_answer), ""]
    return "\n".join(lines).rstrip() + "\n"


def grade_text(grade: Grade) -> str:
    """The grade as the learner saw it, in plain text (withheld points stay withheld)."""
    lines = [f"{grade.verdict.capitalize()} · score {grade.score:.2f} (graded {grade.grader})"]
    lines += [f"Not credited: {flag}" for flag in grade.flags]
    lines += [f"- {STATUS.get(p.status, p.status)}: {p.text} {p.citation}".rstrip() for p in grade.points]
    lines.append(grade.feedback)
    if grade.hint and not grade.revealed:
        lines.append(f"Hint: {grade.hint}")
    return "\n".join(lines)


def grade_feedback(attempt: Attempt, item: PracticeItem, chunks: dict[str, Chunk], rating: str, *,
                   comment: str = "", session_id: str = "", turn: int | None = None,
                   specialty: str | None = None) -> Feedback:
    """A thumbs up or down on a practice grade, as a feedback record of kind "grade": the question, the
    learner's answer, the grade (score, verdict and points in `details`), the item's passages (those the
    points rest on marked cited), trial, role, specialty and grader."""
    grade = attempt.grade
    points, missed = points_of(item, grade, chunks)
    cited = {p.citation.n for p in points}
    passages = [Passage(n=c.n, id=c.id, trial=c.trial, section=c.section, document=c.document, text=c.text,
                        cited=c.n in cited) for c in (_citation(item, i, chunks) for i in range(len(item.passages)))]
    details = {"item_id": item.id, "kind": item.kind, "score": grade.score, "verdict": grade.verdict,
               "points": [{"id": p.id, "text": p.text, "status": p.status, "note": p.note, "citation": p.citation.n}
                          for p in points],
               "missed": [p.id for p in missed], "flags": grade.flags, "hint": grade.hint,
               "revealed": grade.revealed, "grader": grade.grader, "grader_note": grade.note}
    return Feedback.for_grade(item.question, attempt.answer, grade_text(grade), rating, role=grade.role,
                              model=grade.grader, passages=passages, trials=[item.trial], comment=comment,
                              session_id=session_id, turn=turn, specialty=specialty, details=details)
