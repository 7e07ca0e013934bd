"""`tutor doctor`: what is wrong, how to fix it, exit 0 when fine and 2 when not."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from tests.fake_openai import Fault, FakeOpenAI, Slow


@pytest.fixture(scope="module")
def module_server():
    with FakeOpenAI(models=["test-model", "test-embed"]) as fake:
        yield fake


@pytest.fixture
def server(module_server):
    module_server.reset()  # each test its own script and request log
    yield module_server
    module_server.reset()


def env(**values: str) -> dict[str, str]:
    # Every model setting given explicitly, so a developer's own .env or environment cannot leak in.
    base = {"TUTOR_MODEL": "offline", "OPENAI_BASE_URL": "", "OPENAI_API_KEY": "", "TUTOR_OPENAI_MODEL": "test-model",
            "TUTOR_EMBEDDING_BACKEND": "local", "TUTOR_REQUEST_TIMEOUT": "3", "TUTOR_MAX_RETRIES": "1"}
    return {**base, **values}


def doctor(**values: str):
    result = run_cli("doctor", env=env(**values), timeout=60)
    assert "Traceback" not in result.stderr
    return result


def test_the_default_offline_setup_is_fine():
    result = doctor()
    assert result.returncode == 0, result.stdout
    assert "FAIL" not in result.stdout and "TUTOR_MODEL=offline" in result.stdout


def test_a_served_model_on_a_local_server_is_fine(server):
    result = doctor(TUTOR_MODEL="openai", OPENAI_BASE_URL=server.url, OPENAI_API_KEY="test")
    assert result.returncode == 0, result.stdout
    assert f"{server.url} answers and serves 2 model(s)" in result.stdout
    assert "TUTOR_OPENAI_MODEL=test-model is served" in result.stdout
    assert "ok   chat: test-model answered a 1-token chat request in" in result.stdout
    assert any(r["path"] == "/v1/models" for r in server.requests)
    [chat] = server.chat_requests  # one tiny request, as the tutor sends it
    assert chat["body"]["model"] == "test-model" and chat["body"]["max_tokens"] == 1


def test_no_chat_sends_no_chat_request(server):
    result = run_cli("doctor", "--no-chat", env=env(TUTOR_MODEL="openai", OPENAI_BASE_URL=server.url,
                                                    OPENAI_API_KEY="test"), timeout=60)
    assert result.returncode == 0, result.stdout
    assert "chat: skipped (--no-chat)" in result.stdout and server.chat_requests == []


def test_a_server_that_lists_the_model_but_fails_to_chat_fails(server):
    server.script(Fault(500), Fault(500))
    result = doctor(TUTOR_MODEL="openai", OPENAI_BASE_URL=server.url, OPENAI_API_KEY="test")
    assert result.returncode == 2
    assert "TUTOR_OPENAI_MODEL=test-model is served" in result.stdout
    assert f"FAIL chat: the OpenAI-compatible server at {server.url} failed with a server error (500) after 1 retry" \
           in result.stdout
    assert len(server.chat_requests) == 2  # the tutor's own retries


def test_a_server_too_slow_to_chat_fails_naming_the_timeout(server):
    server.script(Slow(30))
    result = doctor(TUTOR_MODEL="openai", OPENAI_BASE_URL=server.url, OPENAI_API_KEY="test",
                    TUTOR_REQUEST_TIMEOUT="1", TUTOR_MAX_RETRIES="0")
    assert result.returncode == 2
    assert "FAIL chat:" in result.stdout and "did not answer within TUTOR_REQUEST_TIMEOUT=1 s" in result.stdout


def test_a_base_url_without_v1_is_named_not_the_model(server):
    bare = server.url.removesuffix("/v1")
    result = doctor(TUTOR_MODEL="openai", OPENAI_BASE_URL=bare, OPENAI_API_KEY="test")
    assert result.returncode == 2
    assert f"FAIL server: OPENAI_BASE_URL={bare} has no /models route (404)" in result.stdout
    assert "usually ends in /v1" in result.stdout and "TUTOR_OPENAI_MODEL" not in result.stdout


def test_an_unknown_model_lists_the_served_ones(server):
    result = doctor(TUTOR_MODEL="openai", OPENAI_BASE_URL=server.url, OPENAI_API_KEY="test",
                    TUTOR_OPENAI_MODEL="gpt-9")
    assert result.returncode == 2
    assert "TUTOR_OPENAI_MODEL=gpt-9 is not served there; set it to one of: test-embed, test-model" in result.stdout


def test_a_wrong_key_is_named(server):
    result = doctor(TUTOR_MODEL="openai", OPENAI_BASE_URL=server.url, OPENAI_API_KEY="wrong")
    assert result.returncode == 2
    assert "rejected the API key (401); check OPENAI_API_KEY" in result.stdout


def test_a_server_that_is_down_is_named_with_its_setting():
    with FakeOpenAI() as gone:
        url = gone.url
    result = doctor(TUTOR_MODEL="openai", OPENAI_BASE_URL=url, OPENAI_API_KEY="test")
    assert result.returncode == 2
    assert f"cannot reach the OpenAI-compatible server at {url}" in result.stdout and "OPENAI_BASE_URL" in result.stdout


def test_openai_without_a_key_or_a_server_says_what_to_set():
    result = doctor(TUTOR_MODEL="openai")
    assert result.returncode == 2 and "needs OPENAI_API_KEY" in result.stdout


def test_openai_embeddings_need_a_served_embedding_model(server):
    result = doctor(TUTOR_EMBEDDING_BACKEND="openai", OPENAI_BASE_URL=server.url, OPENAI_API_KEY="test",
                    TUTOR_OPENAI_EMBEDDING_MODEL="text-embedding-3-small")
    assert result.returncode == 2
    assert "TUTOR_OPENAI_EMBEDDING_MODEL=text-embedding-3-small is not served there" in result.stdout
    ok = doctor(TUTOR_EMBEDDING_BACKEND="openai", OPENAI_BASE_URL=server.url, OPENAI_API_KEY="test",
                TUTOR_OPENAI_EMBEDDING_MODEL="test-embed")
    assert ok.returncode == 0, ok.stdout


@pytest.mark.parametrize("values,message", [
    ({"TUTOR_TOP_K": "0"}, "TUTOR_TOP_K=0 is not allowed: use a whole number from 1 to 20"),
    ({"TUTOR_MODEL": "gpt"}, "TUTOR_MODEL=gpt is not allowed: use one of offline, mock, openai"),
    ({"TUTOR_MODEL": "openai", "OPENAI_BASE_URL": "localhost:8000"}, "OPENAI_BASE_URL='localhost:8000' is not a URL"),
    ({"TUTOR_KNOWLEDGE_DIR": "/nonexistent/knowledge"}, "no such folder; set TUTOR_KNOWLEDGE_DIR"),
])
def test_bad_settings_are_named(values, message):
    result = doctor(**values)
    assert result.returncode == 2 and message in result.stdout
