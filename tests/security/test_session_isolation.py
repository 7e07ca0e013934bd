"""Session isolation under concurrency: three browser sessions whose turns are inside the model at the same
moment (a barrier holds each turn until all three have arrived) each see only their own questions, answers
and stage, a follow-up draws on its own history, each thumb is stored under its own session, and one
session's conversation download cannot be read through a file route by another.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from tests.conftest import serve
from tests.security.conftest import WAIT
from tests.test_app_browser import LAPTOP, bot_texts, choose_stage, open_page, user_texts, wait_for_reply
from tutor.models import OfflineTutorModel

pytestmark = pytest.mark.browser

SESSIONS = 3
TOGETHER = threading.Barrier(SESSIONS, timeout=WAIT)  # cyclic: one round of turns at a time
ROUNDS = {  # stage -> its questions, one per round
    "Resident": ["What was the median progression-free survival with T-DM1?", "and the hazard ratio?"],
    "PhD": ["What was the median overall survival?", "What was its confidence interval?"],
    "Medical Student": ["What was the objective response rate?", "How was it measured?"],
}


class TogetherModel(OfflineTutorModel):
    """The offline model; each turn waits until every session's turn of the round is inside the model."""

    def _stream(self, messages, stop=None, run_manager=None, **kwargs: Any):
        TOGETHER.wait()
        yield from super()._stream(messages, stop, run_manager, **kwargs)


@pytest.fixture(scope="module")
def isolated(tutor, tmp_path_factory):
    from tutor.app import build_app
    from tutor.feedback import Records
    from tutor.settings import Settings
    from tutor.tutor import Tutor

    records = Records(Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("isolation")))
    together = Tutor(tutor.settings, model=TogetherModel(), store=tutor.store, retriever=tutor.retriever)
    demo = build_app(together, records=records)
    yield serve(demo), records
    demo.close()


def test_sessions_asking_at_once_never_see_each_other(browser, isolated):
    url, records = isolated
    contexts = [browser.new_context(viewport=LAPTOP) for _ in ROUNDS]
    try:
        pages = {}
        for stage, context in zip(ROUNDS, contexts):
            page = context.new_page()
            open_page(page, url)
            choose_stage(page, stage)
            pages[stage] = page
        for round_ in range(2):
            for stage, page in pages.items():
                page.fill("#tt-question textarea", ROUNDS[stage][round_])
            for page in pages.values():  # all sent before any is answered: the barrier needs all three
                page.press("#tt-question textarea", "Enter")
            for page in pages.values():
                wait_for_reply(page, round_)
        for stage, page in pages.items():
            mine = ROUNDS[stage]
            assert [t.strip() for t in user_texts(page)] == mine
            answers = bot_texts(page)
            assert len(answers) == 2 and all(f"Written for {stage}" in a for a in answers), answers
            everything = page.inner_text("#tt-chat") + page.inner_text("#tt-sources")
            for other, theirs in ROUNDS.items():
                if other != stage:
                    assert not any(q in everything for q in theirs), (stage, other)
                    assert f"Written for {other}" not in everything
        assert "0.65" in bot_texts(pages["Resident"])[1]  # the follow-up drew on its own history (PFS's hazard ratio)

        for page in pages.values():
            page.locator("#tt-chat button[aria-label='Like']").last.click()
        for page in pages.values():
            page.wait_for_function("() => (document.querySelector('#tt-feedback') || {innerText: ''}).innerText"
                                   ".includes('thumbs-up was saved')", timeout=WAIT * 1000)
        stored = records.list()
        assert len(stored) == SESSIONS and len({r.session_id for r in stored}) == SESSIONS
        by_question = {r.question: r for r in stored}
        for stage, questions in ROUNDS.items():
            assert by_question[questions[1]].answer and by_question[questions[1]].turn == 1

        # Another session, knowing a session's id, cannot read its conversation download by path.
        from tutor.records_page import EXPORTS

        exported = EXPORTS / stored[0].session_id / "trial-tutor-conversation.md"
        assert exported.exists()
        for route in ("gradio_api/file=", "file="):
            reply = httpx.get(url + route + str(exported), timeout=WAIT)
            assert reply.status_code != 200 and stored[0].question not in reply.text, route
    finally:
        for context in contexts:
            context.close()
