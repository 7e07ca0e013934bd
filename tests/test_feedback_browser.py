"""Feedback and downloads on the page, in Debian's headless Chromium, on SQLite and on PostgreSQL: a thumbs
down with a comment reaches `tutor feedback list`; the downloaded conversation holds every citation
resolved; a database that fails costs the learner nothing but the rating. Screenshots go to test-output/."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.conftest import run_cli
from tests.records_db import database_url, postgres  # noqa: F401  (fixtures)
from tests.test_app_browser import (  # noqa: F401  (browser is a fixture)
    LAPTOP, TURN_MS, ask, assert_on_screen, bot_texts, browser, free_port, open_page, shot)
from tutor.feedback import Records
from tutor.transcript import cited_numbers

pytestmark = pytest.mark.browser

PFS = "What was the median progression-free survival with T-DM1?"
THREE = [PFS, "and the hazard ratio?", "How did DESTINY-Breast03 compare T-DXd with T-DM1?"]


def serve(tutor, records: Records):
    """The page on a free loopback port around the session's tutor and these records; returns (demo, url)."""
    from tutor.app import build_app, launch

    demo = build_app(tutor, records)
    address = launch(demo, "127.0.0.1", free_port())
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(address, timeout=2).status_code == 200:
                return demo, address
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"the page at {address} did not answer within 60 s"
        time.sleep(0.05)  # poll interval


@pytest.fixture
def page_for(browser, tutor):  # noqa: F811
    """page_for(records) -> a page of its own on a page server of its own."""
    opened = []

    def make(records: Records):
        demo, address = serve(tutor, records)
        context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
        page = context.new_page()
        open_page(page, address)
        opened.append((demo, context))
        return page

    yield make
    for demo, context in opened:
        context.close()
        demo.close()


def thumb(page, which: str, answer: int = -1) -> None:
    """Click Like or Dislike under an answer (by its place among the assistant's messages)."""
    buttons = page.locator(f"#tt-chat button[aria-label='{which}']")
    (buttons.last if answer == -1 else buttons.nth(answer)).click()


def download_both(page, prefix: str) -> tuple[str, dict]:
    """Click the Markdown and the JSON download buttons (`#<prefix>-download-md`, `-json`): (Markdown, JSON)."""
    with page.expect_download() as markdown_download:
        page.click(f"#{prefix}-download-md")
    with page.expect_download() as json_download:
        page.click(f"#{prefix}-download-json")
    return (markdown_download.value.path().read_text(encoding="utf-8"),
            json.loads(json_download.value.path().read_text(encoding="utf-8")))


def said(page, text: str) -> str:
    page.wait_for_function("t => (document.querySelector('#tt-feedback') || {innerText: ''}).innerText.includes(t)",
                           arg=text, timeout=TURN_MS)
    return page.inner_text("#tt-feedback")


def test_a_thumbs_down_with_a_comment_appears_in_feedback_list(page_for, settings, database_url, tmp_path):  # noqa: F811
    kind = database_url.split(":", 1)[0].split("+")[0]
    page = page_for(Records(settings, url=database_url))
    shown = ask(page, PFS)
    thumb(page, "Dislike")
    said(page, "your thumbs-down was saved")
    page.wait_for_selector("#tt-comment textarea", state="visible")
    assert_on_screen(page, LAPTOP)  # the comment box takes its room from the chat
    comment = "The hazard ratio's confidence interval is missing <b>here</b>"
    page.fill("#tt-comment textarea", comment)
    shot(page, f"feedback-01-comment-{kind}")
    page.click("#tt-comment-send")
    said(page, "your comment was saved")
    page.wait_for_selector("#tt-comment textarea", state="hidden")
    shot(page, f"feedback-02-saved-{kind}")

    listed = run_cli("feedback", "list", "--rating", "down", "--json",
                     env={"TUTOR_DATABASE_URL": database_url, "TUTOR_DATA_DIR": str(tmp_path)})
    assert listed.returncode == 0, listed.stderr
    [record] = json.loads(listed.stdout)
    assert record["question"] == PFS and record["comment"] == comment and record["rating"] == "down"
    assert record["answer"].split("\n", 1)[0][:60] in shown  # the answer the learner saw
    assert record["role"] == "resident" and record["model"] == "offline" and record["session_id"]
    cited = [p for p in record["passages"] if p["cited"]]
    assert cited and any("9.6" in p["text"] for p in cited) and all(p["trial"] and p["section"] for p in cited)

    thumb(page, "Like")  # changing one's mind replaces the rating: still one record, now up
    said(page, "your thumbs-up was saved")
    again = json.loads(run_cli("feedback", "list", "--json", env={"TUTOR_DATABASE_URL": database_url}).stdout)
    assert [r["rating"] for r in again] == ["up"]


def test_the_downloaded_markdown_of_three_turns_holds_every_citation(page_for, settings, tmp_path, tutor):
    page = page_for(Records(settings, url=f"sqlite:///{tmp_path / 'records.sqlite3'}"))
    assert page.locator("#tt-download-md").is_disabled()  # nothing to download yet
    for question in THREE:
        ask(page, question)
    page.wait_for_function("() => !document.querySelector('#tt-download-md').disabled")
    shot(page, "feedback-03-three-turns")
    markdown, data = download_both(page, "tt")
    (tmp_path / "conversation.md").write_text(markdown, encoding="utf-8")

    assert [t["question"] for t in data["turns"]] == THREE
    passages = {c.id: c for c in tutor.retriever.chunks}
    from tutor.schema import Answer, Source

    for n, turn in enumerate(data["turns"], 1):
        assert f"## {n}. {turn['question']}" in markdown
        # The [n] marks in the answer's text, each resolved to the store's passage under its trial and section.
        numbers = cited_numbers(Answer(answer=turn["answer"], in_scope=True, citations=[], role="x", model="x",
                                       sources=[Source(id=str(i), document="", section="", text="", score=0)
                                                for i in range(20)]))
        assert numbers, turn["answer"]
        by_number = {c["n"]: c for c in turn["citations"]}
        for number in numbers:
            passage = passages[by_number[number]["id"]]
            assert f"**[{number}] {passage.trial} › {passage.section}**" in markdown
            assert passage.text.strip().splitlines()[0] in markdown
    assert bot_texts(page)[-1].strip()  # the chat is as it was


@pytest.mark.parametrize("fault", ["read-only", pytest.param("stopped", marks=pytest.mark.postgres)])
def test_a_database_that_fails_costs_only_the_rating(page_for, settings, tmp_path, fault, request):
    """Read-only (SQLite) or stopped and restarted mid-session (PostgreSQL): the page says why the rating was
    not saved, the chat goes on, and once the server is back the next rating is saved."""
    if fault == "read-only":
        path = tmp_path / "records.sqlite3"
        Records(settings, url=f"sqlite:///{path}").open()
        records = Records(settings, url=f"sqlite:///file:{path}?mode=ro&uri=true")
    else:
        cluster = request.getfixturevalue("postgres")
        records = Records(settings, url=cluster.new_database())
    page = page_for(records)
    ask(page, PFS)
    if fault == "stopped":
        thumb(page, "Like")
        said(page, "your thumbs-up was saved")
        cluster.stop()
    try:
        thumb(page, "Dislike")
        message = said(page, "feedback not saved")
        shot(page, f"feedback-04-not-saved-{fault}")
        assert ("the database is read-only" if fault == "read-only" else "the database cannot be reached") in message
        assert page.locator("#tt-comment textarea").count() == 0 or not page.locator("#tt-comment textarea").is_visible()
        follow = ask(page, "What were the most common adverse events?")  # the chat goes on
        assert "Written for" in follow and len(bot_texts(page)) == 2
    finally:
        if fault == "stopped":
            cluster.start()
    if fault == "stopped":
        thumb(page, "Dislike", answer=1)  # the same page, the server back: saved
        said(page, "your thumbs-down was saved")
        assert sorted(r.rating for r in records.list()) == ["down", "up"]
