"""Two `tutor serve` processes behind one database (a SQLite file, or PostgreSQL as behind a load balancer):
both migrate it at start-up at once, feedback written through both at once is all kept, and a
PostgreSQL server stopped and restarted mid-session costs only the ratings made while it was down."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import ROOT
from tests.records_db import postgres  # noqa: F401  (fixture)
from tests.test_app_api import free_port
from tutor.feedback import Records

gradio_client = pytest.importorskip("gradio_client")

PFS = "What was the median progression-free survival with T-DM1?"
WRITES = 25  # per process
WRITERS = 4  # clients per process writing at once


def start(env: dict) -> tuple[subprocess.Popen, str, object]:
    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen([sys.executable, "-m", "tutor.cli", "serve", "--port", str(port)], stdout=log,
                               stderr=subprocess.STDOUT, env={**os.environ, **env}, cwd=ROOT)
    return process, f"http://127.0.0.1:{port}/", log


def wait_until_serving(process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 300  # two processes load the embedding model at once on 2 shared cores
    while True:
        log.seek(0)
        printed = log.read()
        if process.poll() is not None:
            pytest.fail(f"`tutor serve` exited ({process.returncode}): {printed[-1500:]}")
        if "serving at" in printed:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"`tutor serve` did not say it was serving within 300 s: {printed[-1500:]}")
        time.sleep(0.2)  # poll interval


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(15)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def two_servers(request, tutor, tmp_path_factory):
    """Two `tutor serve` on one new database; each on its own copy of the session's store (no re-embedding)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('records') / 'records.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    started = []
    try:
        for _ in range(2):
            data = tmp_path_factory.mktemp("chroma")
            shutil.copytree(tutor.settings.data_dir, data, dirs_exist_ok=True)
            started.append(start({"TUTOR_DATABASE_URL": url, "TUTOR_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}))
        for process, _, log in started:
            wait_until_serving(process, log)
        for _, address, _ in started:
            assert httpx.get(address, timeout=10).status_code == 200
        clients = [gradio_client.Client(address, verbose=False, analytics_enabled=False) for _, address, _ in started]
        yield url, clients
    finally:
        for process, _, log in started:
            stop(process)
            log.close()


def call(base: str, api: str, *data) -> dict:
    """One call of a named endpoint over gradio's plain HTTP API (POST the inputs, read the event stream): the
    gradio client, run from many threads at once, cancels a call whose stream ended before it read the result
    (a client-side race), which is no loss the server made."""
    with httpx.Client(timeout=120) as http:
        event_id = http.post(f"{base}gradio_api/call/{api}", json={"data": list(data)}).raise_for_status().json()["event_id"]
        with http.stream("GET", f"{base}gradio_api/call/{api}/{event_id}") as stream:
            kind = None
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    kind = line.removeprefix("event:").strip()
                elif line.startswith("data:") and kind in ("complete", "error"):
                    payload = json.loads(line.removeprefix("data:"))
                    assert kind == "complete", f"/{api} failed: {payload}"
                    return payload[0]
    raise AssertionError(f"/{api} ended without a result")


def test_two_processes_writing_feedback_at_once_lose_nothing(two_servers, settings):
    url, clients = two_servers
    answer = clients[0].predict(PFS, "resident", "", [], "", api_name="/ask")
    # Several writers per process at once, each call over plain HTTP (see `call`)
    writers = [(which, client.src) for which, client in enumerate(clients) for _ in range(WRITERS)]

    def write(number: int) -> dict:
        which, base = writers[number % len(writers)]
        return call(base, "feedback", PFS, answer, "down" if number % 3 else "up", f"comment {number}",
                    f"session-{which}", number, "")

    with ThreadPoolExecutor(len(writers)) as pool:
        stored = list(pool.map(write, range(2 * WRITES)))
    assert len({s["id"] for s in stored}) == 2 * WRITES

    kept = Records(settings, url=url).list()
    assert len(kept) == 2 * WRITES
    writers_of = {n: (n % (2 * WRITERS)) // WRITERS for n in range(2 * WRITES)}  # which process took write n
    assert {(r.session_id, r.turn) for r in kept} == {(f"session-{w}", n) for n, w in writers_of.items()}
    assert all(r.question == PFS and r.answer == answer["answer"] and r.passages for r in kept)


@pytest.mark.parametrize("two_servers", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_server_stopped_and_restarted_mid_session(two_servers, settings, request):
    url, (first, second) = two_servers
    cluster = request.getfixturevalue("postgres")
    session = "mid-session"
    one = first.predict(PFS, "fellow", "", [], "", api_name="/ask")
    first.predict(PFS, one, "up", "", session, 0, "", api_name="/feedback")
    history = [{"role": "user", "content": PFS}, {"role": "assistant", "content": one["answer"]}]

    cluster.stop()
    try:
        with pytest.raises(gradio_client.exceptions.AppError, match="feedback not saved: the database cannot be reached"):
            second.predict(PFS, one, "down", "changed my mind", session, 0, "", api_name="/feedback")
        two = second.predict("and the hazard ratio?", "fellow", "", history, "", api_name="/ask")  # the chat goes on
        assert two["in_scope"] and two["citations"], two["answer"]
        document = second.predict([{"question": PFS, "answer": one}, {"question": "and the hazard ratio?",
                                                                      "answer": two}], api_name="/conversation")
        assert document["markdown"].count("### Citations") == 2 and len(document["json"]["turns"]) == 2
    finally:
        cluster.start()
    second.predict("and the hazard ratio?", two, "down", "no CI", session, 1, "", api_name="/feedback")
    first.predict(PFS, one, "down", "changed my mind", session, 0, "", api_name="/feedback")  # replaces the up

    kept = sorted((r for r in Records(settings, url=url).list() if r.session_id == session), key=lambda r: r.turn)
    assert [(r.turn, r.rating, r.comment) for r in kept] == [(0, "down", "changed my mind"), (1, "down", "no CI")]


@pytest.mark.parametrize(("endpoint", "args", "message"), [
    ("/feedback", (PFS, {"answer": "x"}, "down"), "answer must be the answer object /ask returned"),
    ("/feedback", (PFS, None, "meh"), "rating must be up or down"),
    ("/conversation", ([{"question": PFS}],), r"turns\[0\]\.answer: Field required"),
])
def test_bad_input_to_the_records_api_is_named(two_servers, endpoint, args, message):
    _, (client, _) = two_servers
    if endpoint == "/feedback" and args[1] is None:  # a real answer, so only the rating is wrong
        args = (PFS, client.predict(PFS, "resident", "", api_name="/ask"), args[2])
    with pytest.raises(gradio_client.exceptions.AppError, match=message):
        client.predict(*args, api_name=endpoint)
