"""Feedback records on SQLite and on a real PostgreSQL server: what a faculty member lists, counts,
exports and purges is what learners rated; writes from several processes at once are all kept; a
database that fails says why."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from tests.conftest import ROOT
from tests.records_db import database_url, postgres  # noqa: F401  (fixtures)
from tutor.errors import DatabaseError, InputError
from tutor.feedback import Feedback, Filters, Records, to_csv, to_jsonl
from tutor.schema import Answer, Source

PFS = "What was the median progression-free survival with T-DM1?"


def answer(text="PFS was 9.6 months [1].", trial="ALPHA-Lung03", role="resident", model="offline", **extra) -> Answer:
    sources = [Source(id=f"{trial}-1", document=f"{trial}.md", trial=trial, section="Key Findings > 1",
                      text=f"{trial} reported a median PFS of 9.6 months.", score=0.8),
               Source(id=f"{trial}-2", document=f"{trial}.md", trial=trial, section="Study Design", text="Open label.",
                      score=0.5)]
    return Answer(answer=text, in_scope=True, sources=sources, citations=[f"{trial}-1"], role=role, model=model,
                  **extra)


@pytest.fixture
def records(settings, database_url):  # noqa: F811
    records = Records(settings, url=database_url)
    records.open()
    yield records
    records.close()


def test_a_record_keeps_question_answer_passages_and_flags(records):
    given = answer(unverified_numbers=["12.3"], dropped_citations=[7], complete=False,
                   incomplete_reason="the stream broke", specialty="biostatistics")
    stored = records.add(Feedback.for_answer("What PFS?", given, "down", "missing the hazard ratio", "s1", 0))
    [listed] = records.list()
    assert listed == stored and listed.id and listed.created_at.tzinfo is not None
    assert (listed.question, listed.answer, listed.comment) == ("What PFS?", given.answer, "missing the hazard ratio")
    assert [(p.n, p.trial, p.section, p.cited) for p in listed.passages] == [
        (1, "ALPHA-Lung03", "Key Findings > 1", True), (2, "ALPHA-Lung03", "Study Design", False)]
    assert listed.passages[0].text == "ALPHA-Lung03 reported a median PFS of 9.6 months."
    assert (listed.trials, listed.role, listed.specialty, listed.model) == (["ALPHA-Lung03"], "resident",
                                                                             "biostatistics", "offline")
    assert (listed.unverified_numbers, listed.dropped_citations, listed.complete, listed.incomplete_reason) == (
        ["12.3"], [7], False, "the stream broke")


def test_a_real_answer_is_kept_with_its_cited_passages(records, tutor):
    given = tutor.ask(PFS, "resident")
    stored = records.add(Feedback.for_answer(PFS, given, "up", session_id="s1", turn=0))
    cited = [p for p in records.get(stored.id).passages if p.cited]
    assert cited and {p.id for p in cited} == set(given.citations)
    assert any("9.6" in p.text for p in cited) and all(p.trial and p.section for p in cited)
    assert "EMILIA" in stored.trials


def test_rating_again_replaces_and_clicking_again_withdraws(records):
    first = records.add(Feedback.for_answer("Q", answer(), "up", session_id="s1", turn=2))
    second = records.add(Feedback.for_answer("Q", answer(), "down", session_id="s1", turn=2))
    assert second.id == first.id and [r.rating for r in records.list()] == ["down"]
    records.add(Feedback.for_answer("Q", answer(), "down", session_id="s1", turn=3))
    assert records.withdraw("s1", 2) == 1
    assert [r.turn for r in records.list()] == [3]


def test_a_comment_added_after_the_thumbs_down(records):
    stored = records.add(Feedback.for_answer("Q", answer(), "down", session_id="s1", turn=0))
    assert records.comment(stored.id, "  The dose is wrong.  ").comment == "The dose is wrong."
    assert records.get(stored.id).comment == "The dose is wrong."
    with pytest.raises(InputError, match="keep it to 2000"):
        records.comment(stored.id, "x" * 2001)
    with pytest.raises(InputError, match="rate the answer first"):
        records.comment("nope", "hello")


def test_filters(records):
    now = datetime.now(UTC)
    old = Feedback.for_answer("old", answer(), "down", session_id="s0").model_copy(
        update={"created_at": now - timedelta(days=40)})
    records.add(old)
    records.add(Feedback.for_answer("a", answer(trial="ALPHA-Lung03"), "down", session_id="s1"))
    records.add(Feedback.for_answer("b", answer(trial="BETA-Heart01", role="fellow"), "up", session_id="s1"))
    records.add(Feedback.for_answer("c", answer(trial="BETA-Heart01", model="openai:gpt-x"), "down", session_id="s2"))
    grade = Feedback.for_grade("item", "my answer", "2/3: the dose is missing", "down", role="resident",
                               model="offline", trials=["ALPHA-Lung03"], session_id="s3", turn=0,
                               details={"score": 2, "missed": ["the dose"]})
    records.add(grade)
    records.add(Feedback.for_answer("a", answer(), "up", session_id="s3", turn=0))  # same turn, another kind: kept

    def questions(**given) -> list[str]:
        return sorted(r.question for r in records.list(Filters(**given)))

    assert questions() == ["a", "a", "b", "c", "item", "old"]
    assert questions(since=now - timedelta(days=1)) == ["a", "a", "b", "c", "item"]
    assert questions(trial="beta-heart01") == ["b", "c"]  # a trial's name in any case
    assert questions(role="fellow") == ["b"]
    assert questions(rating="down", trial="ALPHA-Lung03") == ["a", "item", "old"]
    assert questions(model="openai:gpt-x") == ["c"]
    assert questions(kind="grade") == ["item"]
    assert records.list(Filters(kind="grade"))[0].details == {"response": "my answer", "score": 2,
                                                              "missed": ["the dose"]}
    assert questions(kind="answer") == ["a", "a", "b", "c", "old"]
    assert [r.question for r in records.list()][-1] == "old"  # newest first
    assert len(records.list(limit=2)) == 2


def test_stats_count_by_trial_role_model_and_name_the_most_disliked(records):
    for n, rating in enumerate(["down", "down", "down", "up"]):
        records.add(Feedback.for_answer(PFS, answer(), rating, f"comment {n}" if rating == "down" else "", f"s{n}"))
    records.add(Feedback.for_answer("Why?", answer(trial="BETA-Heart01", role="phd"), "down", "", "s9"))
    stats = records.stats()
    assert stats["total"] == 5 and stats["by_rating"] == {"up": 1, "down": 4}
    assert stats["by_trial"] == {"ALPHA-Lung03": {"up": 1, "down": 3}, "BETA-Heart01": {"up": 0, "down": 1}}
    assert stats["by_role"] == {"phd": {"up": 0, "down": 1}, "resident": {"up": 1, "down": 3}}
    top = stats["most_disliked"][0]
    assert (top["question"], top["dislikes"], top["trials"]) == (PFS, 3, ["ALPHA-Lung03"])
    assert sorted(top["comments"]) == ["comment 0", "comment 1", "comment 2"]
    assert records.stats(Filters(trial="BETA-Heart01"))["total"] == 1


def test_purge_before_a_date_and_the_retention_setting(settings, database_url):  # noqa: F811
    records = Records(settings.model_copy(update={"feedback_retention_days": 30}), url=database_url)
    now = datetime.now(UTC)
    for days in (400, 45, 10, 0):
        records.add(Feedback.for_answer(f"{days} days ago", answer(), "up", session_id="s").model_copy(
            update={"created_at": now - timedelta(days=days)}))
    assert records.purge(now - timedelta(days=100)) == 1
    assert records.open() == 1  # start-up drops what is past 30 days
    assert sorted(r.question for r in records.list()) == ["0 days ago", "10 days ago"]
    records.close()


def test_exports_hold_every_field(records):
    records.add(Feedback.for_answer("Q, with \"quotes\"\nand a line", answer(), "down", "a, b", "s1", 4))
    rows = list(csv.DictReader(io.StringIO(to_csv(records.list()))))
    assert len(rows) == 1
    assert rows[0]["question"] == "Q, with \"quotes\"\nand a line" and rows[0]["comment"] == "a, b"
    assert rows[0]["cited_passages"] == "[1] ALPHA-Lung03 > Key Findings > 1" and rows[0]["turn"] == "4"
    assert json.loads(rows[0]["passages"])[0]["text"] == "ALPHA-Lung03 reported a median PFS of 9.6 months."
    [line] = to_jsonl(records.list()).splitlines()
    assert Feedback.model_validate_json(line) == records.list()[0]


def test_the_schema_comes_from_the_migration(records):
    from tutor.database import SCHEMA_HEAD, current_revision, head_revision, upgrade

    assert current_revision(records.db.engine) == head_revision() == SCHEMA_HEAD  # a new migration bumps it
    assert records.db.check().endswith(f"takes writes, schema revision {SCHEMA_HEAD}")
    tables = set(inspect(records.db.engine).get_table_names())
    assert {"feedback", "feedback_trial", "alembic_version"} <= tables
    assert upgrade(records.db.engine) == head_revision()  # again: nothing to do


def test_threads_writing_at_once_lose_nothing(records):
    def write(n: int) -> str:
        return records.add(Feedback.for_answer(f"q{n}", answer(), "up" if n % 2 else "down", session_id=f"s{n}")).id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(write, range(80)))
    assert len(set(ids)) == 80 and len(records.list()) == 80
    assert records.stats()["by_rating"] == {"up": 40, "down": 40}


WRITER = """
import sys
from tutor.settings import Settings
from tutor.feedback import Feedback, Records
from tests.test_feedback import answer
records = Records(Settings(_env_file=None), url=sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()  # every writer starts together
for n in range(int(sys.argv[3])):
    records.add(Feedback.for_answer(f"{sys.argv[2]}-{n}", answer(), "down", session_id=sys.argv[2], turn=n))
print("done", flush=True)
"""


def test_two_processes_writing_at_once_lose_nothing(database_url):  # noqa: F811
    """Each process migrates on first use (at the same moment) and writes 60 records in its own transactions."""
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, database_url, name, "60"], cwd=ROOT, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for name in ("first", "second")]
    for writer in writers:
        assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
    for writer in writers:
        writer.stdin.write("go\n")
        writer.stdin.flush()
    for writer in writers:
        out, errors = writer.communicate(timeout=120)
        assert writer.returncode == 0 and "done" in out, errors
    from tutor.settings import Settings

    kept = Records(Settings(_env_file=None), url=database_url).list()
    assert len(kept) == 120
    assert {r.question for r in kept} == {f"{w}-{n}" for w in ("first", "second") for n in range(60)}


def test_a_read_only_database_says_so(settings, tmp_path):
    path = tmp_path / "records.sqlite3"
    Records(settings, url=f"sqlite:///{path}").open()
    read_only = Records(settings, url=f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(DatabaseError, match="the database is read-only"):
        read_only.add(Feedback.for_answer("Q", answer(), "down", session_id="s"))
    with pytest.raises(DatabaseError, match="read-only"):
        read_only.check()


@pytest.mark.postgres
def test_a_read_only_postgresql_database_says_so(settings, postgres):  # noqa: F811
    url = postgres.new_database()
    Records(settings, url=url).open()
    name = url.rsplit("/", 1)[1]
    postgres.sql(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    read_only = Records(settings, url=url)
    with pytest.raises(DatabaseError, match="the database is read-only"):
        read_only.add(Feedback.for_answer("Q", answer(), "down", session_id="s"))
    with pytest.raises(DatabaseError, match="read-only"):
        read_only.check()


@pytest.mark.postgres
def test_a_server_stopped_mid_session_fails_each_write_and_is_used_again_once_back(settings, postgres):  # noqa: F811
    records = Records(settings, url=postgres.new_database())
    records.add(Feedback.for_answer("before", answer(), "up", session_id="s", turn=0))
    postgres.stop()
    try:
        with pytest.raises(DatabaseError, match="the database cannot be reached"):
            records.add(Feedback.for_answer("while down", answer(), "down", session_id="s", turn=1))
    finally:
        postgres.start()
    records.add(Feedback.for_answer("after", answer(), "down", session_id="s", turn=2))  # the same pool, reconnected
    assert sorted(r.question for r in records.list()) == ["after", "before"]


def test_bad_input_is_named():
    with pytest.raises(InputError, match="rating must be up or down"):
        Feedback.for_answer("Q", answer(), "meh")
    with pytest.raises(InputError, match="control characters"):
        Feedback.for_answer("Q", answer(), "down", "a\x00b")


def test_a_bad_database_url_names_the_setting(settings):
    from tutor.errors import ConfigError

    with pytest.raises(ConfigError, match="TUTOR_DATABASE_URL=not a url is not a database URL"):
        Records(settings, url="not a url")
    with pytest.raises(ConfigError, match="no driver"):
        Records(settings, url="nosuchdb://host/x")
