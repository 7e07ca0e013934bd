"""A conversation for the learner to keep: each question and answer with every citation resolved to its
passage's text, trial and section; as Markdown to read and as JSON to reuse.

The page keeps the turns in its session; the API takes them from the client (it keeps no state).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import BaseModel, Field, ValidationError

from tutor.errors import InputError
from tutor.grounding import CITATION
from tutor.schema import Answer

NOTE = "Educational use only; not medical advice."


class Turn(BaseModel):
    """One question and the Answer it got; `trial` is the trial chosen for it ("" = all trials)."""

    question: str
    answer: Answer
    trial: str = ""


class Citation(BaseModel):
    n: int
    id: str
    trial: str = ""
    about: str = ""
    section: str = ""
    document: str = ""
    text: str


class ExportedTurn(BaseModel):
    question: str
    answer: str
    role: str
    specialty: str | None = None
    trial: str = Field("", description="the trial chosen for the question; \"\" = all trials")
    model: str
    in_scope: bool
    citations: list[Citation]
    unverified_numbers: list[str] = Field(default_factory=list)
    dropped_citations: list[int] = Field(default_factory=list)
    complete: bool = True
    incomplete_reason: str | None = None


class Conversation(BaseModel):
    title: str = "Trial Tutor conversation"
    exported_at: datetime
    note: str = NOTE
    turns: list[ExportedTurn]


def read_list(items, model: type[BaseModel], name: str, shape: str) -> list:
    """A list the API receives, each entry validated as `model`; an error names the entry, the field and
    the `shape` each entry must have."""
    if not isinstance(items, list):
        raise InputError(f"{name} must be a list of {shape}")
    read = []
    for n, item in enumerate(items):
        try:
            read.append(model.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InputError(f"{name}[{n}].{where}: {first['msg']}; each {name[:-1]} is {shape}") from None
    return read


def read_turns(turns) -> list[Turn]:
    """Turns as the API receives them: [{"question": "...", "answer": {the Answer /ask returned}, "trial": ""}]."""
    return read_list(turns, Turn, "turns", '{"question": "...", "answer": {an answer from /ask}, "trial": ""}')


def cited_numbers(answer: Answer) -> list[int]:
    """The passage numbers the answer's text cites, in order of first use ([2], [1, 3])."""
    numbers: list[int] = []
    for match in CITATION.finditer(answer.answer):
        for n in re.findall(r"\d+", match.group(1)):
            if 1 <= int(n) <= len(answer.sources) and int(n) not in numbers:
                numbers.append(int(n))
    return numbers


def export(turns: list[Turn]) -> Conversation:
    exported = []
    for turn in turns:
        answer = turn.answer
        numbers = cited_numbers(answer)
        # A citation the text does not show by number (a backend that cites by id) is still listed.
        numbers += [n for n, s in enumerate(answer.sources, 1) if s.id in answer.citations and n not in numbers]
        citations = [Citation(n=n, **answer.sources[n - 1].model_dump(include={"id", "trial", "about", "section",
                                                                                 "document", "text"}))
                     for n in numbers]
        exported.append(ExportedTurn(
            question=turn.question, answer=answer.answer, role=answer.role, specialty=answer.specialty,
            trial=turn.trial, model=answer.model, in_scope=answer.in_scope, citations=citations,
            unverified_numbers=answer.unverified_numbers, dropped_citations=answer.dropped_citations,
            complete=answer.complete, incomplete_reason=answer.incomplete_reason))
    return Conversation(exported_at=datetime.now(UTC).replace(microsecond=0), turns=exported)


def to_json(conversation: Conversation) -> str:
    return conversation.model_dump_json(indent=2)


def _quote(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.strip().splitlines())


def to_markdown(conversation: Conversation) -> str:
    lines = [f"# {conversation.title}", "",
             f"Exported {conversation.exported_at.strftime('%Y-%m-%d %H:%M UTC')}. {conversation.note}", ""]
    for i, turn in enumerate(conversation.turns, 1):
        who = turn.role + (f", {turn.specialty}" if turn.specialty else "")
        lines += [f"## {i}. {turn.question.strip()}", "",
                  f"*Answered for {who}, from {turn.trial or 'all trials'} ({turn.model})*", "",
                  turn.answer.strip(), ""]
        if turn.unverified_numbers:
            lines += [f"**Check these numbers:** {', '.join(turn.unverified_numbers)} (found in no source passage).", ""]
        if not turn.complete:
            lines += [f"**This answer was cut off**: {turn.incomplete_reason or 'the model stopped early'}.", ""]
        if turn.citations:
            lines += ["### Citations", ""]
            for c in turn.citations:
                about = f" (about {c.about})" if c.about and c.about != c.trial else ""
                lines += [f"**[{c.n}] {c.trial or c.document} › {c.section or '(no section)'}**{about} — {c.document}",
                          "", _quote(c.text), ""]
    return "\n".join(lines).rstrip() + "\n"
