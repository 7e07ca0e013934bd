"""The page's named API (/ask, /takeaways, /trials) through gradio_client against `tutor serve`, run as a user runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

gradio_client = pytest.importorskip("gradio_client")

ROOT = Path(__file__).resolve().parent.parent
PFS = "What was the median progression-free survival with T-DM1?"
DB03 = "DESTINY-Breast03"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`tutor serve --port N` on a fresh store; yields (url, what it printed so far)."""
    port = free_port()
    env = {**os.environ, "TUTOR_DATA_DIR": str(tmp_path_factory.mktemp("chroma")), "HF_HUB_OFFLINE": "1",
           "TUTOR_HOST": "0.0.0.0"}  # --host must win over the setting
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen([sys.executable, "-m", "tutor.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    try:
        while True:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"`tutor serve` exited ({process.returncode}): {log.read()[-800:]}")
            log.seek(0)
            printed = log.read()
            if "serving at" in printed:  # printed once launch() returns: the page is up by then
                break
            if time.monotonic() > deadline:
                pytest.fail(f"`tutor serve` did not say it was serving within 180 s: {printed[-800:]}")
            time.sleep(0.1)  # poll interval
        assert httpx.get(url, timeout=5).status_code == 200
        yield url, printed
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)
        log.close()


@pytest.fixture(scope="module")
def client(served):
    return gradio_client.Client(served[0], verbose=False, analytics_enabled=False)


def test_serve_prints_its_loopback_url(served):
    url, printed = served
    assert f"serving at {url}" in printed


def test_api_lists_ask_takeaways_and_trials(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/ask", "/takeaways", "/trials"} <= set(endpoints)
    names = {name: [p["parameter_name"] for p in endpoint["parameters"]] for name, endpoint in endpoints.items()}
    assert names["/ask"] == ["question", "role", "specialty", "history", "trial"]
    assert names["/takeaways"] == ["role", "specialty", "trial"]
    assert names["/trials"] == []


def test_trials_lists_the_library(client):
    trials = client.predict(api_name="/trials")
    assert {"EMILIA", DB03, "TH3RESA", "MARIANNE"} <= {t["name"] for t in trials}
    db03 = next(t for t in trials if t["name"] == DB03)
    assert set(db03) >= {"name", "title", "year", "journal", "sample", "chunks", "document"}
    assert DB03 in db03["title"] and db03["sample"] == "524" and db03["chunks"] > 0


def test_ask_returns_a_cited_answer(client):
    answer = client.predict(PFS, "Resident", "", api_name="/ask")  # a display name works as well as an id
    assert "9.6" in answer["answer"] and "6.4" in answer["answer"]
    assert answer["role"] == "resident" and answer["in_scope"] is True
    assert answer["citations"] and set(answer["citations"]) <= {s["id"] for s in answer["sources"]}
    cited = [s for s in answer["sources"] if s["id"] in answer["citations"]]
    assert any("9.6" in s["text"] for s in cited)
    assert answer["unverified_numbers"] == [] and answer["complete"] is True


def test_ask_frames_for_role_and_specialty(client):
    answer = client.predict(PFS, "phd", "biostatistics", api_name="/ask")
    assert answer["answer"].startswith("Estimate and evidence")
    assert answer["specialty"] == "biostatistics"


def test_out_of_scope_gets_the_scope_reply(client):
    answer = client.predict("What is the best pizza in Naples?", "fellow", "", api_name="/ask")
    assert answer["in_scope"] is False and answer["citations"] == []
    assert "do not cover" in answer["answer"]


def test_takeaways(client):
    result = client.predict("Fellow", "cardio-oncology", api_name="/takeaways")
    assert 3 <= len(result["takeaways"]) <= 5
    # Each cites its passage, but for a line saying the sources report nothing specific to the specialty.
    uncited = [item["text"] for item in result["takeaways"] if not item["citations"]]
    assert len(uncited) <= 1 and all("nothing specific" in text for text in uncited), uncited
    assert result["role"] == "fellow" and result["specialty"] == "cardio-oncology"


@pytest.mark.parametrize(("args", "message"), [
    (("", "resident", ""), "question is empty"),
    (("x" * 2001, "resident", ""), "keep it to 2000"),
    ((PFS, "surgeon", ""), "unknown role"),
    ((PFS, "resident", "onc\nology"), "control characters"),
])
def test_bad_input_is_an_error_message_not_a_crash(client, args, message):
    with pytest.raises(gradio_client.exceptions.AppError, match=message):
        client.predict(*args, api_name="/ask")
    assert "9.6" in client.predict(PFS, "resident", "", api_name="/ask")["answer"]  # still serving


def test_a_burst_queues_instead_of_failing(served):
    """Eight users at once (one session each: a session's own share is TUTOR_SESSION_JOBS) all get answers."""
    jobs = [gradio_client.Client(served[0], verbose=False, analytics_enabled=False).submit(PFS, role, "", api_name="/ask")
            for role in ("med_student", "resident", "fellow", "attending", "phd", "journal_editor",
                         "guideline_committee", "resident")]
    answers = [job.result(timeout=120) for job in jobs]
    assert all("9.6" in a["answer"] for a in answers)
    assert {a["role"] for a in answers} == {"med_student", "resident", "fellow", "attending", "phd",
                                             "journal_editor", "guideline_committee"}


def test_a_conversation_through_the_api_carries_its_own_history(client):
    first = client.predict("What was the median overall survival?", "phd", "", [], api_name="/ask")
    history = [{"role": "user", "content": "What was the median overall survival?"},
               {"role": "assistant", "content": first["answer"]}]
    # no state in the process: the follow-up is read with the question before it because the client sent it
    follow = client.predict("and the hazard ratio?", "phd", "", history, api_name="/ask")
    assert "0.68" in follow["answer"].split("\n", 1)[0], follow["answer"]
    with pytest.raises(gradio_client.exceptions.AppError, match="history must be a list"):
        client.predict("and the hazard ratio?", "phd", "", [{"speaker": "me"}], api_name="/ask")


def test_ask_about_one_trial(client):
    """`trial` (after history) narrows the answer and every passage to that trial; by keyword or position."""
    answer = client.predict("What was the median progression-free survival?", "resident", "", [], DB03, api_name="/ask")
    assert answer["in_scope"] is True and answer["citations"]
    assert {s["trial"] for s in answer["sources"]} == {DB03}
    assert answer["trials"] == [DB03]
    assert "6.8" in answer["answer"]  # DESTINY-Breast03's T-DM1 arm, not EMILIA's 9.6
    by_keyword = client.predict("What was the median progression-free survival?", "resident", trial="TH3RESA",
                                api_name="/ask")
    assert {s["trial"] for s in by_keyword["sources"]} == {"TH3RESA"}


@pytest.mark.parametrize("everything", ["", "All trials"])
def test_all_trials_is_the_default(client, everything):
    """ "" or "All trials" asks the whole library, as leaving `trial` out does."""
    question = "Which trials compared an antibody-drug conjugate with another treatment?"
    answer = client.predict(question, "fellow", "", [], everything, api_name="/ask")
    assert answer == {**client.predict(question, "fellow", "", api_name="/ask"), "timings_ms": answer["timings_ms"]}


def test_takeaways_for_one_trial(client):
    result = client.predict("fellow", "", DB03, api_name="/takeaways")
    assert 3 <= len(result["takeaways"]) <= 5 and all(item["citations"] for item in result["takeaways"])
    assert {s["trial"] for s in result["sources"]} == {DB03}


@pytest.mark.parametrize("endpoint", ["/ask", "/takeaways"])
def test_an_unknown_trial_is_the_cli_s_error(client, tutor, endpoint):
    """The message the library gives the CLI (one line on stderr), word for word, naming the choices."""
    from tutor.errors import InputError

    with pytest.raises(InputError) as expected:
        tutor.ask(PFS, "resident", trial="DESTINY-Breast09")
    args = (PFS, "resident", "", []) if endpoint == "/ask" else ("resident", "")
    with pytest.raises(gradio_client.exceptions.AppError, match=r"unknown trial 'DESTINY-Breast09'; choose one of: ") as error:
        client.predict(*args, "DESTINY-Breast09", api_name=endpoint)
    assert str(error.value) == str(expected.value)
    assert all(name in str(error.value) for name in ("EMILIA", DB03, "TH3RESA", "MARIANNE"))


def test_gradios_traffic_monitoring_is_off(served, client):
    """Gradio's monitoring dashboard (per-endpoint traffic and timings, a link printed to the server's console) is
    not part of the page: it answers 403, and the page keeps no traffic summary for it."""
    client.predict(PFS, "resident", "", api_name="/ask")
    for path in ("monitoring", "monitoring/summary"):
        assert httpx.get(served[0] + path, timeout=10).status_code == 403
