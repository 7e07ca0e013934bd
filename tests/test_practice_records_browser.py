"""Practice grades as learner records, in Debian's headless Chromium: a thumbs down with a comment on a grade
reaches `tutor feedback list --kind grade`; the downloaded practice session holds each grade's missed points
with their passages; a database that fails costs the learner only the rating. Screenshots go to test-output/."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli
from tests.test_app_browser import TURN_MS, browser, shot  # noqa: F401  (browser is a fixture)
from tests.test_feedback_browser import download_both, page_for, serve  # noqa: F401  (page_for is a fixture)
from tests.test_practice_browser import choose
from tutor.feedback import Records

pytestmark = pytest.mark.browser

THIN = "Crossover matters for <b>overall survival</b>."


def practise(page, answer: str) -> str:
    """Answer the question on screen and wait for its grade (and the thumbs under it)."""
    page.fill("#tp-answer textarea", answer)
    page.click("#tp-submit")
    page.wait_for_selector("#tp-result .tp-grade", timeout=TURN_MS)
    page.wait_for_selector("#tp-like", state="visible", timeout=TURN_MS)
    return page.inner_text("#tp-result")


def said(page, text: str) -> str:
    page.wait_for_function("t => (document.querySelector('#tp-feedback') || {innerText: ''}).innerText.includes(t)",
                           arg=text, timeout=TURN_MS)
    return page.inner_text("#tp-feedback")


def next_question(page) -> str:
    before = page.inner_text("#tp-question").strip().splitlines()[-1]  # the question itself
    page.click("#tp-next")
    page.wait_for_function("b => { const q = document.querySelector('#tp-question').innerText;"
                           " return q.includes(' · ') && !q.includes(b); }", arg=before, timeout=TURN_MS)
    return page.inner_text("#tp-question")


def open_practice(page) -> None:
    page.get_by_role("tab", name="Practice").click()
    page.wait_for_selector("#tp-next", state="visible")
    choose(page, "#tp-role", "PhD")
    choose(page, "#tp-trial", "EMILIA")


def test_a_thumbs_down_on_a_grade_reaches_feedback_list_and_the_export_resolves_missed_points(
        page_for, settings, tmp_path, tutor):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    page = page_for(Records(settings, url=url))
    open_practice(page)
    assert page.locator("#tp-download-md").is_disabled() and not page.locator("#tp-like").is_visible()
    next_question(page)
    assert "crossover" in page.inner_text("#tp-question")
    practise(page, THIN)
    page.click("#tp-dislike")
    said(page, "your thumbs-down was saved")
    page.wait_for_selector("#tp-comment textarea", state="visible")
    comment = "The grade missed that I <i>did</i> name overall survival"
    page.fill("#tp-comment textarea", comment)
    shot(page, "practice-feedback-1-comment")
    page.click("#tp-comment-send")
    said(page, "your comment was saved")
    page.wait_for_selector("#tp-comment textarea", state="hidden")
    shot(page, "practice-feedback-2-saved")

    # A second item: a new grade clears what was said about the first, and gets its own thumbs-up.
    second_question = next_question(page)
    page.wait_for_selector("#tp-like", state="hidden", timeout=TURN_MS)
    page.wait_for_selector("#tp-feedback", state="hidden", timeout=TURN_MS)
    practise(page, "Median PFS was 6.4 months with T-DM1 and 9.6 months with the control.")
    assert not page.locator("#tp-feedback").is_visible()
    page.click("#tp-like")
    said(page, "your thumbs-up on this grade was saved")

    env = {"TUTOR_DATABASE_URL": url, "TUTOR_DATA_DIR": str(tmp_path)}
    listed = run_cli("feedback", "list", "--kind", "grade", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    records = json.loads(listed.stdout)
    assert sorted(r["rating"] for r in records) == ["down", "up"] and {r["kind"] for r in records} == {"grade"}
    down = next(r for r in records if r["rating"] == "down")
    item = tutor.practice.item("emilia-phd-discussion")
    assert (down["question"], down["comment"], down["details"]["response"]) == (item.question, comment, THIN)
    assert down["role"] == "phd" and down["model"] == "offline" and down["trials"] == ["EMILIA"] and down["session_id"]
    assert down["details"]["verdict"] in ("partial", "incorrect") and down["details"]["missed"]
    assert [p["section"] for p in down["passages"] if p["cited"]] == ["Guided Discussion > PhD"]
    up = next(r for r in records if r["rating"] == "up")
    assert up["question"] in second_question and up["session_id"] == down["session_id"]

    page.wait_for_function("() => !document.querySelector('#tp-download-md').disabled")
    markdown, data = download_both(page, "tp")
    (tmp_path / "practice.md").write_text(markdown, encoding="utf-8")
    shot(page, "practice-feedback-3-downloads")

    assert [a["answer"] for a in data["attempts"]] == [THIN, up["details"]["response"]]
    chunks = {c.id: c for c in tutor.retriever.chunks}
    for n, attempt in enumerate(data["attempts"], 1):
        practised = tutor.practice.item(attempt["item_id"])
        assert f"## {n}. EMILIA · " in markdown and practised.question in markdown
        assert attempt["missed"], attempt  # neither answer is complete
        rubric = {p.id: p for p in practised.rubric.points}
        for point in attempt["missed"]:
            citation = point["citation"]
            assert point["text"] == rubric[point["id"]].text and point["text"] in markdown
            assert citation["text"] == practised.passages[rubric[point["id"]].passage].text
            assert chunks[citation["id"]].text.strip() in citation["text"]
            assert f"**[{citation['n']}] EMILIA › {citation['section']}**" in markdown
            assert citation["text"].strip().splitlines()[0] in markdown
    assert "<b>overall survival</b>" in markdown  # the learner's own words, kept as written


def test_a_read_only_database_costs_only_the_rating(page_for, settings, tmp_path):  # noqa: F811
    path = tmp_path / "records.sqlite3"
    Records(settings, url=f"sqlite:///{path}").open()
    page = page_for(Records(settings, url=f"sqlite:///file:{path}?mode=ro&uri=true"))
    open_practice(page)
    next_question(page)
    practise(page, THIN)
    page.click("#tp-dislike")
    message = said(page, "feedback not saved")
    shot(page, "practice-feedback-4-not-saved")
    assert "the database is read-only" in message
    assert not page.locator("#tp-comment textarea").is_visible()
    page.click("#tp-reveal")  # the practice goes on
    page.wait_for_selector("#tp-result >> text=Model answer", timeout=TURN_MS)
    assert "1 item tried" in page.inner_text("#tp-tally")


def test_the_practice_api_rates_and_exports_statelessly(tutor, settings, tmp_path):
    from gradio_client import Client

    records = Records(settings, url=f"sqlite:///{tmp_path / 'records.sqlite3'}")
    demo, address = serve(tutor, records)
    try:
        client = Client(address, verbose=False)
        grade = client.predict("emilia-phd-discussion", THIN, "phd", False, api_name="/practice_grade")
        stored = client.predict("emilia-phd-discussion", THIN, grade, "down", "too strict", "s9", 0, "",
                                api_name="/practice_feedback")
        assert stored["kind"] == "grade" and stored["comment"] == "too strict" and stored["session_id"] == "s9"
        assert [r.id for r in records.list()] == [stored["id"]]
        exported = client.predict([{"item_id": "emilia-phd-discussion", "answer": THIN, "grade": grade}],
                                  api_name="/practice_export")
        missed = exported["json"]["attempts"][0]["missed"]
        assert missed and all(p["citation"]["text"].splitlines()[0] in exported["markdown"] for p in missed)
        with pytest.raises(Exception, match="its grade is for 'emilia-phd-discussion'"):
            client.predict([{"item_id": "emilia-recall-finding-1", "answer": THIN, "grade": grade}],
                           api_name="/practice_export")
    finally:
        demo.close()
