"""`tutor feedback ...`, `tutor db upgrade` and the doctor's database check, run as a faculty member runs them,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import socket

import pytest

from tests.conftest import run_cli
from tests.records_db import database_url, postgres  # noqa: F401  (fixtures)
from tests.test_feedback import answer
from tutor.errors import DatabaseError


@pytest.fixture
def env(database_url, tmp_path):  # noqa: F811
    return {"TUTOR_DATABASE_URL": database_url, "TUTOR_DATA_DIR": str(tmp_path / "chroma")}


def cli(*args: str, env: dict, ok: bool = True):
    result = run_cli(*args, env=env, timeout=240)
    assert "Traceback" not in result.stderr
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def test_add_list_export_stats_and_purge(env, tmp_path):
    saved = tmp_path / "answer.json"
    saved.write_text(answer(trial="ALPHA-Lung03").model_dump_json(), encoding="utf-8")
    up = cli("feedback", "add", "What PFS?", "--rating", "up", "--answer", str(saved), "--json", env=env)
    assert json.loads(up.stdout)["rating"] == "up"
    cli("feedback", "add", "Why open label?", "--rating", "down", "--comment", "too short", "--answer", str(saved),
        env=env)

    listed = json.loads(cli("feedback", "list", "--rating", "down", "--json", env=env).stdout)
    assert [(r["question"], r["comment"], r["trials"]) for r in listed] == [("Why open label?", "too short",
                                                                              ["ALPHA-Lung03"])]
    assert listed[0]["passages"][0]["text"] == "ALPHA-Lung03 reported a median PFS of 9.6 months."
    assert json.loads(cli("feedback", "list", "--trial", "BETA-Heart01", "--json", env=env).stdout) == []
    table = cli("feedback", "list", env=env).stdout
    assert "2 feedback record(s)" in table and "too short" in table

    rows = list(csv.DictReader(io.StringIO(cli("feedback", "export", "--format", "csv", env=env).stdout)))
    assert sorted(r["rating"] for r in rows) == ["down", "up"]
    out = tmp_path / "feedback.jsonl"
    cli("feedback", "export", "--format", "jsonl", "--out", str(out), "--role", "resident", env=env)
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2

    stats = json.loads(cli("feedback", "stats", "--json", env=env).stdout)
    assert stats["by_rating"] == {"up": 1, "down": 1} and stats["most_disliked"][0]["comments"] == ["too short"]
    assert "Most disliked answers" in cli("feedback", "stats", env=env).stdout

    assert "deleted 0 feedback record(s) made before 2000-01-01" in cli(
        "feedback", "purge", "--before", "2000-01-01", env=env).stdout
    assert "deleted 2 feedback record(s)" in cli("feedback", "purge", "--before", "2999-01-01", env=env).stdout
    assert json.loads(cli("feedback", "list", "--json", env=env).stdout) == []


def test_add_asks_the_question_when_no_answer_is_given(tmp_path):
    env = {"TUTOR_DATA_DIR": str(tmp_path / "chroma")}  # the default database: SQLite in the data folder
    added = cli("feedback", "add", "What was the median progression-free survival with T-DM1?", "--rating", "down",
                "--role", "fellow", "--trial", "EMILIA", "--json", env=env)
    record = json.loads(added.stdout)
    assert "9.6" in record["answer"] and record["trials"] == ["EMILIA"] and record["role"] == "fellow"
    assert any(p["cited"] and "9.6" in p["text"] for p in record["passages"])
    assert (tmp_path / "chroma" / "records.sqlite3").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (("feedback", "list", "--since", "last week"), "--since 'last week' is not a date; use YYYY-MM-DD"),
    (("feedback", "list", "--rating", "meh"), "rating must be up or down"),
    (("feedback", "export", "--format", "xml"), "--format must be csv or jsonl"),
    (("feedback", "add", "Q", "--rating", "down", "--answer", "/nonexistent.json"), "cannot be read"),
])
def test_bad_input_is_one_line(env, args, message):
    result = cli(*args, env=env, ok=False)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_db_upgrade_and_doctor(env):
    assert "is at schema revision 0001 (newest)" in cli("db", "upgrade", env=env).stdout
    doctor = cli("doctor", "--no-chat", env={**env, "TUTOR_MODEL": "offline"})
    assert "ok   database:" in doctor.stdout and "takes writes, schema revision 0001" in doctor.stdout


def test_the_doctors_sqlite_check_says_what_the_engines_says(tmp_path):
    import sqlite3

    from tutor.database import Database
    from tutor.database_probe import check_sqlite, sqlite_file

    path = tmp_path / "new" / "records.sqlite3"
    url = f"sqlite:///{path}"
    assert sqlite_file(url) == path and sqlite_file(f"sqlite:///file:{path}?mode=ro&uri=true") is None
    assert check_sqlite(path, url) == Database(url).check()  # no tables yet
    Database(url).ready()
    assert check_sqlite(path, url) == Database(url).check() == f"{url} answers and takes writes, schema revision 0001"
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0000'")
    assert check_sqlite(path, url) == Database(url).check()  # behind: names `tutor db upgrade`
    (tmp_path / "garbage.sqlite3").write_text("not a database " * 100)
    with pytest.raises(DatabaseError, match="file is not a database"):
        check_sqlite(tmp_path / "garbage.sqlite3", "garbage")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("broken", ["unreachable", "read-only"])
def test_doctor_names_a_database_it_cannot_use(tmp_path, broken):
    if broken == "unreachable":
        url, cause = f"postgresql://tutor@127.0.0.1:{_free_port()}/tutor", "the database cannot be reached"
    else:
        path = tmp_path / "records.sqlite3"
        assert run_cli("db", "upgrade", env={"TUTOR_DATABASE_URL": f"sqlite:///{path}"}).returncode == 0
        url, cause = f"sqlite:///file:{path}?mode=ro&uri=true", "the database is read-only"
    result = run_cli("doctor", "--no-chat", env={"TUTOR_DATABASE_URL": url, "TUTOR_MODEL": "offline"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = next(line for line in result.stdout.splitlines() if "database:" in line)
    assert line.startswith("FAIL database:") and cause in line and "TUTOR_DATABASE_URL" in line


def test_a_database_that_is_down_is_one_line_in_the_cli(tmp_path):
    result = run_cli("feedback", "list", env={"TUTOR_DATABASE_URL": f"postgresql://tutor@127.0.0.1:{_free_port()}/x"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "the database cannot be reached" in result.stderr
