"""Fault injection: a Chroma server that goes down and comes back, an ingest killed midway, a damaged store,
and a model server that fails mid-stream. Each fault gets a clear message naming the cause and the fix, never
a traceback, and the tutor (or the learner's session) carries on once the fault is gone.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest

from tests.conftest import CHROMA, ROOT, ChromaServer, run_cli, serve
from tests.fake_openai import Cut, Fault, Reply
from tests.security.conftest import PFS, WAIT, on_openai
from tutor.errors import StoreError
from tutor.store import BATCH

PAGES = sorted((ROOT / "knowledge").glob("*.txt"))
DB03 = "How did DESTINY-Breast03 compare T-DXd with T-DM1 for progression-free survival?"


# == a Chroma server down and back ================================================================

@pytest.mark.server
def test_a_chroma_server_down_then_back_is_named_then_answered_from_without_a_restart(tmp_path):
    from tutor.settings import Settings
    from tutor.tutor import Tutor

    if not CHROMA.exists():
        pytest.skip("the chroma command is not installed")
    server = ChromaServer(tmp_path)
    server.start()
    try:
        knowledge = tmp_path / "knowledge"
        knowledge.mkdir()
        (knowledge / "emilia.txt").write_text((ROOT / "knowledge" / "emilia-trial-summary.txt").read_text())
        settings = Settings(_env_file=None, chroma_url=server.url, knowledge_dir=knowledge,
                            collection=f"fault-{uuid.uuid4().hex[:8]}", data_dir=tmp_path / "unused")
        tutor = Tutor(settings)
        assert "9.6" in tutor.ask(PFS, "resident").answer

        server.stop()
        with pytest.raises(StoreError) as down:
            tutor.ask(PFS, "resident")
        assert "TUTOR_CHROMA_URL" in str(down.value) or "chroma run" in str(down.value), str(down.value)
        cli = run_cli("ask", PFS, env={f"TUTOR_{k.upper()}": str(v) for k, v in (
            ("chroma_url", server.url), ("knowledge_dir", knowledge), ("collection", settings.collection))})
        assert cli.returncode == 2 and len(cli.stderr.strip().splitlines()) == 1 and "Traceback" not in cli.stderr
        assert "TUTOR_CHROMA_URL" in cli.stderr

        server.start()  # same port, same folder: the running tutor answers again, unrestarted
        assert "9.6" in tutor.ask(PFS, "resident").answer
    finally:
        server.stop()


# == an ingest killed midway ========================================================================

# `tutor ingest` in a process that kills itself (SIGKILL: no cleanup, no finally) after its first write of a batch.
KILLED_INGEST = """
import os, signal, sys
from chromadb.api.models.Collection import Collection
upsert, writes = Collection.upsert, []
def dying_upsert(self, *args, **kwargs):
    upsert(self, *args, **kwargs)
    writes.append(1)
    if len(writes) == 1:
        os.kill(os.getpid(), signal.SIGKILL)
Collection.upsert = dying_upsert
from tutor.cli import main
sys.argv = ["tutor", "ingest"]
main()
"""


def test_an_ingest_killed_midway_leaves_the_previous_store_usable(tmp_path):
    import os

    from tutor.retrieve import HybridRetriever
    from tutor.settings import Settings
    from tutor.store import Store
    from tutor.tutor import Tutor

    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    emilia = next(p for p in PAGES if p.name.startswith("emilia"))
    (knowledge / emilia.name).write_text(emilia.read_text())
    settings = Settings(_env_file=None, data_dir=tmp_path / "chroma", knowledge_dir=knowledge)
    # The store is one process's at a time (embedded Chroma): this process opens it only after the kill.
    env = {**os.environ, "TUTOR_DATA_DIR": str(settings.data_dir), "TUTOR_KNOWLEDGE_DIR": str(knowledge)}
    first = run_cli("ingest", env=env)
    assert first.returncode == 0, first.stderr
    before = int(first.stdout.split(" chunk(s) added")[0].split()[-1])
    for page in PAGES:  # three more trials: more than one batch of writes
        (knowledge / page.name).write_text(page.read_text())
    killed = subprocess.run([sys.executable, "-c", KILLED_INGEST], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=180)
    assert killed.returncode == -9, killed.stderr[-2000:]

    store = Store(settings)  # opens, holding the earlier chunks and the one batch written before the kill
    assert store.count() == before + BATCH
    hits = HybridRetriever(store, 4, settings.relevance_floor).search(PFS).sources
    assert any("9.6" in s.text for s in hits)
    del store

    tutor = Tutor(settings)  # notices the knowledge it has not finished, and finishes it
    assert "9.6" in tutor.ask(PFS, "resident").answer
    assert tutor.ask(DB03, "resident").in_scope and tutor.store.count() > before + BATCH


# == a damaged store ================================================================================

def test_a_damaged_store_is_named_with_the_fix(tmp_path):
    data = tmp_path / "chroma"
    data.mkdir()
    (data / "chroma.sqlite3").write_bytes(b"\x13 this is not a database " * 4000)
    (data / "records.sqlite3").write_bytes(b"")  # learner records beside it must not be thrown away
    result = run_cli("ask", PFS, env={"TUTOR_DATA_DIR": str(data)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1, line
    assert "damaged" in line and "chroma.sqlite3" in line and "tutor ingest" in line, line
    assert "writable" not in line  # not the advice for a folder it cannot write


# == the model server failing mid-stream, on the page ============================================

@pytest.mark.browser
def test_a_model_server_failing_mid_stream_is_a_message_and_the_session_goes_on(tutor, fake, browser, capfd):
    from tests.test_app_browser import LAPTOP, ask, bot_texts, open_page, user_texts
    from tutor.app import build_app

    demo = build_app(on_openai(tutor, fake))
    context = browser.new_context(viewport=LAPTOP)
    try:
        url = serve(demo)
        page = context.new_page()
        open_page(page, url)
        fake.reset()
        fake.script(Cut("Median progression-free survival was 9.6 months with T-DM1 [1]. It was longer than the "
                        "control arm's median [1].", after=2, chunks=8),
                    Fault(500, "the model server crashed"),
                    Reply("Median overall survival was 30.9 months versus 25.1 months [1]."))
        cut = ask(page, PFS)
        assert "This answer was cut off" in cut and "Median progression" in cut
        failed = ask(page, "What was the objective response rate?")
        assert "Sorry, I could not answer that" in failed and "conversation is kept" in failed
        again = ask(page, "What was the median overall survival?")
        assert "30.9 months" in again and "Written for" in again
        assert len(user_texts(page)) == 3 and "9.6" in bot_texts(page)[0]
        assert "Traceback" not in "".join(capfd.readouterr())
    finally:
        context.close()
        demo.close()
