"""A practice session's records: feedback on a grade lands in the feedback records as kind "grade" (and in
`tutor feedback list --kind grade`); the practice export holds each answer, its grade, and every missed point
with its citation resolved to the store's passage."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli
from tutor.errors import DatabaseError, InputError
from tutor.feedback import Filters, Records
from tutor.practice_records import (Attempt, export_practice, grade_feedback, read_attempts, to_json,
                                    to_markdown)

RECALL = "emilia-recall-finding-1"
DISCUSSION = "emilia-phd-discussion"
SWAPPED = "Median PFS was 6.4 months with T-DM1 and 9.6 months with the control."


@pytest.fixture(scope="module")
def chunks(tutor):
    return {c.id: c for c in tutor.retriever.chunks}


@pytest.fixture(scope="module")
def attempts(tutor):
    """A swapped-arm recall answer, a thin discussion answer, then that answer again with the answer shown."""
    thin = "Crossover matters for overall survival."
    return [Attempt(item_id=RECALL, answer=SWAPPED, grade=tutor.practice.grade(RECALL, SWAPPED, "resident")),
            Attempt(item_id=DISCUSSION, answer=thin, grade=tutor.practice.grade(DISCUSSION, thin, "phd")),
            Attempt(item_id=DISCUSSION, answer=thin, grade=tutor.practice.grade(DISCUSSION, thin, "phd", reveal=True))]


def test_export_resolves_every_missed_point_to_its_passage(tutor, attempts, chunks):
    session = export_practice(attempts, tutor.practice.item, chunks)
    assert [a.item_id for a in session.attempts] == [RECALL, DISCUSSION, DISCUSSION]
    assert session.items_tried == 2
    assert session.average_score == round((attempts[0].grade.score + attempts[1].grade.score) / 2, 2)
    markdown = to_markdown(session)
    for n, (exported, attempt) in enumerate(zip(session.attempts, attempts), 1):
        item = tutor.practice.item(attempt.item_id)
        assert exported.missed, exported  # neither answer is complete
        assert f"## {n}. EMILIA · " in markdown and item.question in markdown
        assert exported.verdict == attempt.grade.verdict and exported.score == attempt.grade.score
        rubric = {p.id: p for p in item.rubric.points}
        for point in exported.missed:
            # The key point in full (the grade on screen withheld it until the answer was shown) ...
            assert point.text == rubric[point.id].text and point.text in markdown
            # ... and its passage: the page's section in full, holding the store's passage of that id.
            citation, chunk = point.citation, chunks[point.citation.id]
            assert citation.text == item.passages[rubric[point.id].passage].text
            assert chunk.text.strip() in citation.text
            assert (citation.trial, citation.section, citation.document) == (chunk.trial, chunk.section, chunk.document)
            assert f"**[{citation.n}] {chunk.trial} › {chunk.section}** — {chunk.document}" in markdown
            assert "\n".join("> " + line if line.strip() else ">" for line in citation.text.strip().splitlines()) \
                in markdown
    swapped = session.attempts[0].missed[0]
    assert swapped.status == "incorrect" and "swapped" in swapped.note
    assert "> " + SWAPPED in markdown  # the learner's answer, quoted
    # The model answer only once the learner asked for it.
    assert session.attempts[1].model_answer is None and session.attempts[2].model_answer
    assert markdown.count("### Model answer") == 1
    assert json.loads(to_json(session))["attempts"][0]["missed"][0]["citation"]["text"] == swapped.citation.text


def test_bad_attempts_are_named(tutor, attempts):
    with pytest.raises(InputError, match="attempts must be a list"):
        read_attempts({"item_id": RECALL})
    with pytest.raises(InputError, match=r"attempts\[0\]\.grade: Field required"):
        read_attempts([{"item_id": RECALL, "answer": "x"}])
    wrong = attempts[0].model_dump() | {"item_id": DISCUSSION}
    with pytest.raises(InputError, match=r"attempts\[0\]: its grade is for 'emilia-recall-finding-1'"):
        read_attempts([wrong])
    assert read_attempts([a.model_dump() for a in attempts]) == attempts  # what the page keeps reads back


@pytest.fixture
def records(settings, tmp_path):
    records = Records(settings, url=f"sqlite:///{tmp_path / 'records.sqlite3'}")
    records.open()
    yield records
    records.close()


def test_a_thumbs_down_on_a_grade_is_kept_as_a_grade_record(tutor, attempts, chunks, records, tmp_path):
    attempt = attempts[0]
    item = tutor.practice.item(RECALL)
    stored = records.add(grade_feedback(attempt, item, chunks, "down", comment="my arms were right", session_id="s1",
                                        turn=0, specialty="oncology"))
    assert records.list(Filters(kind="answer")) == []
    [listed] = records.list(Filters(kind="grade"))
    assert listed == stored
    assert (listed.kind, listed.rating, listed.comment) == ("grade", "down", "my arms were right")
    assert listed.question == item.question and listed.details["response"] == SWAPPED
    assert (listed.role, listed.specialty, listed.model, listed.trials) == ("resident", "oncology", "offline", ["EMILIA"])
    assert listed.details["verdict"] == attempt.grade.verdict and listed.details["score"] == attempt.grade.score
    assert [p["status"] for p in listed.details["points"]] == [p.status for p in attempt.grade.points]
    assert listed.answer.startswith(attempt.grade.verdict.capitalize())  # the grade as the learner saw it
    cited = [p for p in listed.passages if p.cited]
    assert cited and chunks[cited[0].id].text in cited[0].text and "9.6" in cited[0].text

    # Rating the same grade again replaces the record.
    records.add(grade_feedback(attempt, item, chunks, "up", session_id="s1", turn=0))
    assert [r.rating for r in records.list()] == ["up"]

    env = {"TUTOR_DATABASE_URL": f"sqlite:///{tmp_path / 'records.sqlite3'}", "TUTOR_DATA_DIR": str(tmp_path)}
    shown = run_cli("feedback", "list", "--kind", "grade", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    [record] = json.loads(shown.stdout)
    assert record["kind"] == "grade" and record["details"]["item_id"] == RECALL
    table = run_cli("feedback", "list", "--kind", "grade", env=env)
    assert table.returncode == 0 and "EMILIA" in table.stdout and "resident" in table.stdout


def test_a_read_only_database_says_why(tutor, attempts, chunks, settings, tmp_path):
    path = tmp_path / "records.sqlite3"
    Records(settings, url=f"sqlite:///{path}").open()
    read_only = Records(settings, url=f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(DatabaseError, match="read-only"):
        read_only.add(grade_feedback(attempts[0], tutor.practice.item(RECALL), chunks, "down"))
