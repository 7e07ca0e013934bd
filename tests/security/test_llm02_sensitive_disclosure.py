"""LLM02 Sensitive information disclosure: the model's key, the server's address and the deployment's paths
stay out of what a user or a script can read: the page's config and API description, error messages, and
the server's log of a failed turn. (Learner records stay with their session: test_session_isolation.py.)"""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.fake_openai import Fault, FakeOpenAI
from tests.security.conftest import PFS, WAIT, on_openai
from tutor.errors import ModelError

gradio_client = pytest.importorskip("gradio_client")

CANARY = "sk-canary-51e0d7b2a4c9"


@pytest.fixture(scope="module")
def keyed():
    with FakeOpenAI(models=["test-model"], api_key=CANARY) as server:
        yield server


def test_the_page_s_config_and_api_description_hold_no_key_or_path(tutor, keyed, served):
    url = served(on_openai(tutor, keyed, openai_api_key=CANARY))
    for path in ("config", "gradio_api/info", "gradio_api/openapi.json", ""):
        reply = httpx.get(url + path, timeout=WAIT)
        assert CANARY not in reply.text, path
        assert str(tutor.settings.data_dir) not in reply.text, path
        assert keyed.url not in reply.text, path


def test_a_refused_key_is_not_echoed_to_the_user_or_the_log(tutor, keyed, caplog, served):
    wrong = "sk-wrong-canary-0a1b2c3d"
    model = on_openai(tutor, keyed, openai_api_key=wrong)
    with pytest.raises(ModelError) as failed:
        model.ask(PFS, "resident")
    assert wrong not in str(failed.value) and "OPENAI_API_KEY" in str(failed.value)
    client = gradio_client.Client(served(model), verbose=False, analytics_enabled=False)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(gradio_client.exceptions.AppError) as shown:
            client.predict(PFS, "resident", "", [], "", api_name="/ask")
    assert wrong not in str(shown.value) and wrong not in caplog.text


def test_a_server_error_body_reaches_the_user_cut_and_without_the_key(tutor, keyed):
    """A model server's error text is shown (it names the cause), but never the key sent with the request."""
    keyed.reset()
    keyed.script(Fault(500, f"internal error while serving key {CANARY}"))
    with pytest.raises(ModelError) as failed:
        on_openai(tutor, keyed, openai_api_key=CANARY).ask(PFS, "resident")
    assert "Traceback" not in str(failed.value)
    assert CANARY not in str(failed.value), str(failed.value)


def test_a_failing_model_server_is_named_by_its_setting_not_its_address(tutor, keyed, served):
    """The CLI names the model server's address (its user set it); the page and the API, open to anyone who can
    reach the port, name the setting instead, for a failed turn and for an answer cut off mid-stream."""
    from tests.fake_openai import Cut
    from tutor.app import friendly

    model = on_openai(tutor, keyed, openai_api_key=CANARY)
    client = gradio_client.Client(served(model), verbose=False, analytics_enabled=False)
    keyed.reset()
    keyed.script(Fault(500, "the model server crashed"),
                 Cut("Median progression-free survival was 9.6 months [1]. It was longer [1].", after=2, chunks=8))
    with pytest.raises(gradio_client.exceptions.AppError) as failed:
        client.predict(PFS, "resident", "", [], "", api_name="/ask")
    assert "OPENAI_BASE_URL" in str(failed.value) and "server error (500)" in str(failed.value)
    cut = client.predict(PFS, "resident", "", [], "", api_name="/ask")
    assert cut["complete"] is False and "OPENAI_BASE_URL" in cut["incomplete_reason"]
    with pytest.raises(ModelError) as direct:
        keyed.script(Fault(500, "the model server crashed"))
        model.ask(PFS, "resident")
    assert keyed.url in str(direct.value)  # the library (and the CLI) keep the address for the operator
    shown = friendly(direct.value)
    for text in (str(failed.value), cut["incomplete_reason"], cut["answer"], shown):
        assert keyed.url not in text and "127.0.0.1" not in text, text
