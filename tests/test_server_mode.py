"""Server mode: with TUTOR_CHROMA_URL the tutor keeps its knowledge in a real `chroma run`,
and several processes share it: what one ingests, the others answer from, without a restart."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.conftest import ROOT, ChromaServer, free_port, run_cli

pytestmark = pytest.mark.server

TEXT = (ROOT / "knowledge" / "emilia-trial-summary.txt").read_text(encoding="utf-8")
# A trial the knowledge does not hold (a made-up name): before the note is ingested it is out of scope.
NOTE = "---\ntitle: TUTORTEST notes\ntrial: TUTORTEST\n---\n# TUTORTEST notes\n\nTUTORTEST enrolled {n} patients.\n"
QUESTION = "How many patients did TUTORTEST enrol?"


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    """A real Chroma server on a free loopback port, up until the module's tests are done."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"), wait=30)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def shared(chroma_url, tmp_path):
    """Settings and CLI environment of processes that share one collection on the server."""
    from tutor.settings import Settings

    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "emilia.md").write_text(TEXT, encoding="utf-8")
    values = {
        "chroma_url": chroma_url,
        "collection": f"test-{uuid.uuid4().hex[:10]}",
        "knowledge_dir": knowledge,
        "data_dir": tmp_path / "embedded-unused",
    }
    env = {f"TUTOR_{k.upper()}": str(v) for k, v in values.items()}
    return Settings(_env_file=None, **values), env


def test_ingest_and_ask_work_the_same_on_a_chroma_server(shared):
    import chromadb

    from tutor.tutor import Tutor

    settings, _ = shared
    tutor = Tutor(settings)  # builds the store on the server
    answer = tutor.ask("What was the median progression-free survival with T-DM1?", "resident")
    assert "9.6" in answer.answer and answer.citations
    again = tutor.ingest()
    assert (again.added, again.removed) == (0, 0) and again.total == tutor.store.count() > 20
    assert not settings.data_dir.exists()  # nothing went to an embedded store
    url = httpx.URL(settings.chroma_url)
    names = [c.name for c in chromadb.HttpClient(host=url.host, port=url.port).list_collections()]
    assert tutor.store.name in names


def test_what_one_process_ingests_a_running_tutor_and_a_new_process_answer_from(shared, tmp_path):
    from tutor.tutor import Tutor

    settings, env = shared
    running = Tutor(settings)  # this test's process: a tutor that stays up
    before = running.ask(QUESTION, "fellow")
    assert before.in_scope is False and "602" not in before.answer  # a trial the knowledge does not hold yet

    note = tmp_path / "tutortest.md"
    note.write_text(NOTE.format(n=602), encoding="utf-8")
    ingested = run_cli("ingest", str(note), env=env)  # another process writes to the shared collection
    assert ingested.returncode == 0, ingested.stderr
    assert "1 chunk(s) added" in ingested.stdout

    after = running.ask(QUESTION, "fellow")
    assert "602" in after.answer
    assert any(s.document.endswith("tutortest.md") for s in after.sources if s.id in after.citations)

    fresh = run_cli("ask", QUESTION, "--role", "resident", "--json", env=env)  # a third process
    assert fresh.returncode == 0, fresh.stderr
    assert "602" in json.loads(fresh.stdout)["answer"]

    # An edit that keeps the number of chunks the same must be noticed too.
    note.write_text(NOTE.format(n=777), encoding="utf-8")
    edited = run_cli("ingest", str(note), env=env)
    assert edited.returncode == 0, edited.stderr
    latest = running.ask(QUESTION, "fellow")
    assert "777" in latest.answer and "602" not in latest.answer


def test_an_unreachable_server_is_one_line_naming_the_setting(tmp_path):
    result = run_cli("ask", "What was PFS?", env={"TUTOR_CHROMA_URL": f"http://127.0.0.1:{free_port()}",
                                                 "TUTOR_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "TUTOR_CHROMA_URL" in result.stderr and "Traceback" not in result.stderr
