"""The browser chat, driven in Debian's headless Chromium as a learner would use it.

The page runs in-process on a free loopback port around a Tutor whose offline model writes at a
reading pace (so streaming is visible) and can be told to fail (so a failed turn can be seen).
Screenshots of each step go to test-output/.
"""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from tutor.app import ALL_TRIALS, STARTERS
from tutor.errors import ModelError
from tutor.models import OfflineTutorModel

pytestmark = pytest.mark.browser

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "browser"
LAPTOP = {"width": 1366, "height": 768}
FULL_HD = {"width": 1920, "height": 1080}
NARROW = {"width": 800, "height": 900}
TURN_MS = 60_000  # deadline for one answer on 2 shared cores
PFS = "What was the median PFS?"
PROBE = "<img src=x onerror=alert(1)>"
DB03 = "DESTINY-Breast03"


class PacedModel(OfflineTutorModel):
    """The offline model, writing one token every `pace` seconds. `fail`: the next answers fail;
    `invent`: they end with a number no passage holds; `cut`: the stream breaks after a few tokens;
    `append`: text they end with (markup, as a model or a passage it quotes might write)."""

    pace: float = 0.01
    fail: bool = False
    invent: bool = False
    cut: bool = False
    append: str = ""

    def _stream(self, messages, stop=None, run_manager=None, **kwargs: Any):
        if self.fail:
            raise ModelError("the model server did not answer (test)")
        for n, chunk in enumerate(super()._stream(messages, stop, run_manager, **kwargs)):
            if self.cut and n == 12:
                raise ModelError("the connection dropped (test)")
            time.sleep(self.pace)  # the model's writing speed, not synchronisation
            yield chunk
        if self.invent:
            yield ChatGenerationChunk(message=AIMessageChunk(content=" Median PFS was 12.3 months."))
        if self.append:
            yield ChatGenerationChunk(message=AIMessageChunk(content=self.append))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def paced(tutor):
    from tutor.tutor import Tutor

    model = PacedModel()
    return model, Tutor(tutor.settings, model=model, store=tutor.store, retriever=tutor.retriever)


@pytest.fixture(scope="module")
def url(paced) -> Iterator[str]:
    from tutor.app import build_app, launch

    demo = build_app(paced[1])
    address = launch(demo, "127.0.0.1", free_port())
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(address, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the page at {address} did not answer within 60 s")
        time.sleep(0.05)  # poll interval
    yield address
    demo.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make browser)")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, url):
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    open_page(page, url)
    yield page
    context.close()


def open_page(page, url: str) -> None:
    """Open the page and wait until a learner could use all of it: the question box, the status
    line, the sources panel and every starter button with its question (Gradio renders the
    right-hand column after the question box)."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#tt-question textarea", timeout=TURN_MS)
    page.wait_for_function(
        """count => {
            const buttons = [...document.querySelectorAll('button.tt-starter')];
            return buttons.length === count && buttons.every(b => b.innerText.trim())
                && document.querySelector('#tt-status') && document.querySelector('#tt-sources');
        }""",
        arg=STARTERS, timeout=TURN_MS,
    )


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def bot_texts(page) -> list[str]:
    return page.locator("#tt-chat .message-row.bot-row").all_inner_texts()


def user_texts(page) -> list[str]:
    return page.locator("#tt-chat .message-row.user-row").all_inner_texts()


def wait_for_reply(page, before: int) -> str:
    """Wait until a new assistant message is finished (an answer's footer, or a warning)."""
    page.wait_for_function(
        """before => {
            const rows = document.querySelectorAll('#tt-chat .message-row.bot-row');
            if (rows.length <= before) return false;
            const text = rows[rows.length - 1].innerText;
            return text.includes('Written for') || text.includes('⚠') || text.includes('Personalised takeaways');
        }""",
        arg=before, timeout=TURN_MS,
    )
    return bot_texts(page)[-1]


def ask(page, question: str, via: str = "enter") -> str:
    before = len(bot_texts(page))
    page.fill("#tt-question textarea", question)
    if via == "enter":
        page.press("#tt-question textarea", "Enter")
    else:
        page.click("#tt-send")
    return wait_for_reply(page, before)


def choose_stage(page, name: str) -> None:
    page.click("#tt-role input")
    page.get_by_role("option", name=name, exact=True).click()
    page.wait_for_function("name => document.querySelector('#tt-status').innerText.includes(name)", arg=name)


def enter_specialty(page, specialty: str) -> None:
    """Type a specialty; the status line follows while the box still has the focus."""
    page.fill("#tt-specialty input", specialty)
    page.wait_for_function("s => document.querySelector('#tt-status').innerText.includes(s)", arg=specialty)
    assert page.evaluate("document.activeElement === document.querySelector('#tt-specialty input')")


def starters(page) -> list[str]:
    return [t.strip() for t in page.locator("button.tt-starter").all_inner_texts() if t.strip()]


def wait_for_starters(page, questions: list[str]) -> None:
    """Wait until the visible starter buttons ask exactly these questions."""
    page.wait_for_function(
        """questions => {
            const shown = [...document.querySelectorAll('button.tt-starter')].map(b => b.innerText.trim()).filter(t => t);
            return JSON.stringify(shown) === JSON.stringify(questions);
        }""",
        arg=questions, timeout=TURN_MS,
    )


def shows_trial(page, heading: str, scope: str) -> None:
    """Wait until the header, the tab's title, the question box and the status line follow the chosen
    trial (`scope`: its name, or "all trials"); separate page events update them, in any order."""
    about = "the trials in the library" if scope == "all trials" else scope
    page.wait_for_function(
        """([heading, scope, about]) => {
            const h1 = document.querySelector('#tt-header h1');
            return h1 && h1.innerText.trim() === heading && document.title === heading
                && document.querySelector('#tt-question textarea').placeholder === 'Ask a question about ' + about
                && document.querySelector('#tt-status').innerText.includes('from ' + scope);
        }""",
        arg=[heading, scope, about], timeout=TURN_MS,
    )


def choose_trial(page, name: str, heading: str | None = None) -> None:
    """Pick a trial (or All trials, whose `heading` counts the trials) and wait until the page shows it."""
    page.click("#tt-trial input")
    page.get_by_role("option", name=name, exact=True).click()
    shows_trial(page, heading or f"Trial Tutor: {name}", "all trials" if name == ALL_TRIALS else name)


def test_streamed_cited_answer_for_stage_and_specialty(page, tutor):
    shot(page, "01-opened")
    assert "not medical advice" in page.inner_text("#tt-header")
    choose_stage(page, "Medical Student")
    enter_specialty(page, "oncology pharmacy")
    shot(page, "02-stage-and-specialty")

    before = len(bot_texts(page))
    page.fill("#tt-question textarea", PFS)
    page.press("#tt-question textarea", "Enter")
    # Streaming: the answer is visible while it is still being written (no footer yet).
    page.wait_for_function(
        """before => {
            const rows = document.querySelectorAll('#tt-chat .message-row.bot-row');
            const text = rows.length > before ? rows[rows.length - 1].innerText : '';
            return text.includes('In plain terms') && !text.includes('Written for');
        }""",
        arg=before, timeout=TURN_MS,
    )
    shot(page, "03-streaming")
    answer = wait_for_reply(page, before)
    shot(page, "04-answered")

    assert answer.startswith("In plain terms")
    assert "9.6" in answer and "6.4" in answer and "[1]" in answer
    assert "Written for Medical Student · oncology pharmacy" in answer
    assert "Latest answer written for Medical Student · oncology pharmacy" in page.inner_text("#tt-status")

    # From all trials, the passage behind EMILIA's figures is there, cited, under its trial and section.
    cited = page.locator("#tt-sources .tt-src[data-cited='true']")
    assert cited.count() >= 1
    emilia = cited.filter(has_text="9.6")
    assert emilia.count() == 1 and emilia.get_attribute("data-trial") == "EMILIA"
    where = emilia.locator(".tt-where").inner_text()
    assert where.startswith("[") and "EMILIA › " in where and "Progression-Free Survival" in where
    assert "6.4" in emilia.inner_text() and "cited" in where
    shot(page, "05-sources")


def test_starter_questions_follow_the_stage_and_ask(page, tutor):
    assert starters(page) == tutor.starters("resident")[:STARTERS]
    choose_stage(page, "Fellow")
    wait_for_starters(page, tutor.starters("fellow")[:STARTERS])
    shot(page, "06-fellow-starters")

    before = len(bot_texts(page))
    question = starters(page)[0]
    page.locator("button.tt-starter").first.click()
    answer = wait_for_reply(page, before)
    assert user_texts(page)[-1].strip() == question
    assert "Written for Fellow, from all trials" in answer and re.search(r"\[\d+\]", answer)
    shot(page, "07-starter-answered")


def test_personalised_takeaways(page):
    choose_stage(page, "Fellow")
    enter_specialty(page, "cardio-oncology")
    before = len(bot_texts(page))
    page.click("#tt-takeaways")
    text = wait_for_reply(page, before)
    shot(page, "08-takeaways")
    assert "Personalised takeaways for Fellow · cardio-oncology" in text
    items = page.locator("#tt-chat .message-row.bot-row").last.locator("li").all_inner_texts()
    assert 3 <= len(items) <= 5
    # Each cites its passage, but for a line saying the sources report nothing specific to the specialty.
    uncited = [item for item in items if not re.search(r"\[\d+\]", item)]
    assert len(uncited) <= 1 and all("nothing specific" in item for item in uncited), items
    assert "Sources for the takeaways" in page.inner_text("#tt-sources")
    assert page.locator("#tt-sources .tt-src[data-cited='true']").count() >= 3


def test_switching_stage_changes_the_framing_from_the_next_turn(page):
    choose_stage(page, "Medical Student")
    first = ask(page, PFS)
    assert first.startswith("In plain terms")
    choose_stage(page, "PhD")
    status = page.inner_text("#tt-status")
    assert "Latest answer written for Medical Student" in status
    assert "next question will be answered for PhD" in status
    shot(page, "09-stage-switched")
    second = ask(page, PFS, via="button")
    shot(page, "10-phd-answer")
    assert second.startswith("Estimate and evidence")
    assert "Written for PhD" in second
    assert bot_texts(page)[0].startswith("In plain terms")  # the earlier answer keeps its framing


def test_html_typed_by_a_user_shows_as_text_and_runs_nothing(page):
    fetched = []
    page.on("request", lambda request: fetched.append(request.url) if "tt-probe" in request.url else None)
    ask(page, PROBE)
    markup = "What does **HR** mean? [link](javascript:alert(2)) ![x](/tt-probe-user.png) <b>bold</b> &lt;"
    ask(page, markup)
    shot(page, "11-injection-probe")
    users = [t.strip() for t in user_texts(page)]
    assert users == [PROBE, markup]  # every character shows as typed
    assert page.locator("#tt-chat img, #tt-chat b, #tt-chat a").count() == 0
    assert markup[:80] in page.inner_text("#tt-sources")  # the sources heading repeats the question, as text
    assert page.dialogs == [] and fetched == []


def test_html_in_an_answer_shows_as_text_and_runs_nothing(page, paced):
    """What a model writes (or copies from a passage) renders its Markdown, never its HTML or images."""
    model, _ = paced
    fetched = []
    page.on("request", lambda request: fetched.append(request.url) if "tt-probe" in request.url else None)
    injected = " <img src=x onerror=alert(3)> ![p](/tt-probe-answer.png) [go](javascript:alert(4)) &amp;"
    model.append = injected
    try:
        answer = ask(page, PFS)
    finally:
        model.append = ""
    shot(page, "11b-injection-in-answer")
    assert injected.strip() in answer
    assert page.locator("#tt-chat img, #tt-chat a").count() == 0
    assert page.locator("#tt-chat li").count() >= 1  # the answer's own Markdown list still renders
    assert page.dialogs == [] and fetched == []


def test_copy_gives_the_text_as_written(browser, url):
    """The copy buttons (and what a screen reader announces) give the words, not escape codes."""
    question = "What's the median PFS (T-DM1 vs. lapatinib)?"
    context = browser.new_context(viewport=LAPTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
    try:
        page = context.new_page()
        open_page(page, url)
        enter_specialty(page, "cardio-oncology")
        ask(page, question)

        def copy(row: str) -> str:
            button = page.locator(f"#tt-chat .message-row.{row}-row + .message-buttons button[aria-label='Copy message']").last.element_handle()
            button.click()
            page.wait_for_function("b => b.getAttribute('aria-label') === 'Copied message'", arg=button)
            return page.evaluate("navigator.clipboard.readText()")

        assert copy("user") == question
        answer = copy("bot")
        assert answer.startswith("Bottom line: ")
        assert "P < 0.001" in answer and "Written for Resident · cardio-oncology" in answer
        assert "&" not in answer and "\\" not in answer, answer
        label = page.locator("#tt-chat [data-testid='user']").last.get_attribute("aria-label")
        assert label == f"user's message: {question}"
    finally:
        context.close()


def test_errors_are_friendly_and_keep_the_conversation(page, paced):
    model, _ = paced
    answer = ask(page, PFS)
    assert "9.6" in answer

    empty = ask(page, "   ", via="button")
    assert "question is empty" in empty

    long = "Why? " * 420
    too_long = ask(page, long)
    assert "keep it to 2000 or fewer" in too_long
    assert page.input_value("#tt-question textarea") == long  # kept, to be shortened
    shot(page, "12-input-errors")

    model.fail = True
    try:
        failed = ask(page, "What was the objective response rate?")
    finally:
        model.fail = False
    shot(page, "13-model-failure")
    assert "Sorry, I could not answer that" in failed and "conversation is kept" in failed
    assert "9.6" in bot_texts(page)[0]  # the earlier answer is still there

    again = ask(page, "And the overall survival?")
    assert "Written for" in again and "overall survival" in again.lower() and re.search(r"\[\d+\]", again)
    assert len(user_texts(page)) == 3  # PFS, the failed one, the follow-up


def test_unchecked_numbers_and_cut_off_answers_are_flagged(page, paced):
    model, _ = paced
    model.invent = True
    try:
        invented = ask(page, PFS)
    finally:
        model.invent = False
    shot(page, "14-unverified-number")
    assert "Check these numbers: 12.3 (found in no source passage)" in invented

    model.cut = True
    try:
        cut = ask(page, PFS)
    finally:
        model.cut = False
    shot(page, "15-cut-off")
    assert "This answer was cut off before the model finished (the connection dropped (test))" in cut
    assert "Written for Resident" in cut


def test_new_conversation_clears_chat_and_sources(page):
    ask(page, PFS)
    page.click("#tt-clear")
    page.wait_for_function("document.querySelectorAll('#tt-chat .message-row').length === 0")
    assert page.locator("#tt-sources .tt-src").count() == 0
    assert "Answers will be written for" in page.inner_text("#tt-status")
    shot(page, "16-new-conversation")


def test_two_sessions_keep_separate_histories(browser, url):
    a_context, b_context = browser.new_context(viewport=LAPTOP), browser.new_context(viewport=LAPTOP)
    try:
        a, b = a_context.new_page(), b_context.new_page()
        open_page(a, url)
        open_page(b, url)
        choose_stage(b, "PhD")
        # Both ask at once; each page then sees only its own turn, framed for its own stage.
        a.fill("#tt-question textarea", PFS)
        b.fill("#tt-question textarea", "What was the median overall survival?")
        a.press("#tt-question textarea", "Enter")
        b.press("#tt-question textarea", "Enter")
        a_answer, b_answer = wait_for_reply(a, 0), wait_for_reply(b, 0)
        shot(a, "17-session-a")
        shot(b, "18-session-b")
        assert [t.strip() for t in user_texts(a)] == [PFS]
        assert [t.strip() for t in user_texts(b)] == ["What was the median overall survival?"]
        assert a_answer.startswith("Bottom line") and b_answer.startswith("Estimate and evidence")
        assert "Resident" in a.inner_text("#tt-status") and "PhD" not in a.inner_text("#tt-status")
    finally:
        a_context.close()
        b_context.close()


def assert_clear_of_the_trash_button(page) -> None:
    """The chat's trash button covers no message, nor the area messages scroll through."""
    trash = page.locator("#tt-chat button[aria-label='Clear']").bounding_box()
    assert trash["y"] + trash["height"] <= page.locator("#tt-chat .bubble-wrap").bounding_box()["y"] + 1
    for bubble in page.locator("#tt-chat .message-row .message").all():
        box = bubble.bounding_box()
        apart = (box["x"] >= trash["x"] + trash["width"] or trash["x"] >= box["x"] + box["width"]
                 or box["y"] >= trash["y"] + trash["height"] or trash["y"] >= box["y"] + box["height"])
        assert apart, (trash, box, bubble.inner_text()[:40])


CONTROLS = ("#tt-header", "#tt-trial", "#tt-role", "#tt-specialty", "#tt-status", "#tt-chat", "#tt-question", "#tt-send",
            "#tt-takeaways", "#tt-clear", "#tt-sources", "button.tt-starter >> nth=3")


def assert_on_screen(page, viewport: dict) -> None:
    for selector in CONTROLS:
        box = page.locator(selector).bounding_box()
        assert box is not None, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (selector, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (selector, box)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


@pytest.mark.parametrize("viewport", [LAPTOP, FULL_HD], ids=["1366x768", "1920x1080"])
def test_every_control_stays_on_screen(browser, url, viewport):
    """At its worst (a two-line status after a stage switch, a four-line or an over-long question), the
    page still shows every control without scrolling: the chat gives up the room."""
    context = browser.new_context(viewport=viewport)
    try:
        page = context.new_page()
        open_page(page, url)
        size = f"{viewport['width']}x{viewport['height']}"
        ask(page, PFS)
        assert_on_screen(page, viewport)
        shot(page, f"19-{size}-answered")

        enter_specialty(page, "cardio-oncology nursing")
        choose_stage(page, "Guideline Committee")
        if viewport is LAPTOP:
            lines = page.evaluate("""() => { const el = document.querySelector('#tt-status p');
                return Math.round(el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight)); }""")
            assert lines == 2  # the worst case is really on screen
        page.fill("#tt-question textarea", "First line of a question\nsecond\nthird\nfourth")
        page.wait_for_function("document.querySelector('#tt-question textarea').rows >= 4 || "
                               "document.querySelector('#tt-question textarea').clientHeight > 80")
        assert_on_screen(page, viewport)
        shot(page, f"20-{size}-worst-case")

        page.fill("#tt-question textarea", "Why was that? " * 160)  # over the limit: the box stays at 4 lines
        page.wait_for_function("document.querySelector('#tt-question textarea').value.length > 2000 && "
                               "document.querySelector('#tt-question textarea').clientHeight > 80")
        assert_on_screen(page, viewport)
    finally:
        context.close()


def test_a_new_question_and_its_answer_start_in_view(browser, url):
    """In a short window, the latest question and the start of its answer are shown, not the answer's end."""
    viewport = {"width": 1366, "height": 640}
    context = browser.new_context(viewport=viewport)
    try:
        page = context.new_page()
        open_page(page, url)

        def visible(locator) -> bool:
            return page.evaluate("""el => {
                const view = document.querySelector('#tt-chat .bubble-wrap').getBoundingClientRect();
                const box = el.getBoundingClientRect();
                return box.top >= view.top - 1 && box.top + 20 <= view.bottom; }""", locator.element_handle())

        for question in (PFS, "What were the adverse events?"):
            answer = ask(page, question)
            chat = page.locator("#tt-chat")
            assert visible(chat.locator(".message-row.user-row").last), question
            assert visible(chat.locator(".message-row.bot-row").last), question
            assert "Written for" in answer
            assert_clear_of_the_trash_button(page)
        shot(page, "21-question-in-view")

        before = len(bot_texts(page))
        page.click("#tt-takeaways")
        wait_for_reply(page, before)
        shot(page, "22-takeaways-in-view")
        assert visible(page.locator("#tt-chat .message-row.bot-row").last)
    finally:
        context.close()


def test_specialty_box(page):
    """Suggestions on offer; typing shows at once; an empty box stays empty; a bad one is named at once."""
    suggestions = page.eval_on_selector("#tt-specialty input", "el => [...el.list.options].map(o => o.value)")
    assert "cardio-oncology" in suggestions and "oncology pharmacy" in suggestions

    enter_specialty(page, "radiation oncology")
    page.fill("#tt-specialty input", "")
    page.press("#tt-specialty input", "Enter")
    page.wait_for_function("!document.querySelector('#tt-status').innerText.includes('radiation')")
    assert page.input_value("#tt-specialty input") == ""
    assert page.inner_text("#tt-status").strip() == "Answers will be written for Resident, from all trials."

    page.fill("#tt-specialty input", "x" * 150)
    page.wait_for_function("document.querySelector('#tt-status').innerText.includes('cannot be used')")
    status = page.inner_text("#tt-status")
    shot(page, "23-specialty-too-long")
    assert "150 characters; keep it to 100 or fewer" in status and "Resident" not in status
    refused = ask(page, PFS)
    assert "keep it to 100 or fewer" in refused

    enter_specialty(page, "oncology nursing")
    assert "Written for Resident · oncology nursing" in ask(page, PFS)


def test_out_of_scope_question_gets_the_scope_reply(page):
    answer = ask(page, "What is the capital of France?")
    shot(page, "24-out-of-scope")
    assert "do not cover" in answer
    assert not re.search(r"\[\d+\]", answer)  # no citations
    assert "no passages" in page.inner_text("#tt-sources")
    assert page.locator("#tt-sources .tt-src").count() == 0
    assert_clear_of_the_trash_button(page)


def test_narrow_window_cuts_nothing_off(browser, url):
    """At 800 px the columns stack: the page scrolls, and every control and passage shows in full."""
    context = browser.new_context(viewport=NARROW)
    try:
        page = context.new_page()
        open_page(page, url)
        ask(page, PFS)
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, "25-narrow-top")
        page.screenshot(path=str(SHOTS / "25-narrow-full.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
        for selector in CONTROLS:
            box = page.locator(selector).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"], (selector, box)
        cut = page.evaluate("""() => [...document.querySelectorAll('#tt-sources, #tt-sources .tt-src, button.tt-starter')]
            .filter(el => el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1)
            .map(el => el.className || el.id)""")
        assert cut == []
        assert page.locator("#tt-sources .tt-src[data-cited='true']").count() >= 1
    finally:
        context.close()


def test_choosing_a_trial_narrows_the_header_starters_answers_and_sources(page, tutor):
    """The library opens on all its trials; picking one names it in the header, the tab's title, the
    question box and the status line, offers that trial's starter questions, and answers from its page."""
    trials = tutor.trials()
    names = [t.name for t in trials]
    assert DB03 in names
    everything = f"Trial Tutor: {len(trials)} trials"
    header = page.inner_text("#tt-header")
    assert everything in header and all(name in header for name in names), header
    assert page.title() == everything
    assert page.get_attribute("#tt-question textarea", "placeholder") == "Ask a question about the trials in the library"
    assert "Ask a question about the trials in the library" in page.inner_text("#tt-chat")
    assert "from all trials" in page.inner_text("#tt-status")
    page.click("#tt-trial input")
    offered = [t.replace("✓", "").strip() for t in page.get_by_role("option").all_inner_texts()]  # ✓ marks the chosen
    assert offered == [ALL_TRIALS, *names]
    shot(page, "26-all-trials")

    page.get_by_role("option", name=DB03, exact=True).click()
    shows_trial(page, f"Trial Tutor: {DB03}", DB03)  # the heading, the tab's title, the question box, the status
    wait_for_starters(page, tutor.starters("resident", DB03)[:STARTERS])
    assert starters(page) != tutor.starters("resident")[:STARTERS]
    assert page.inner_text("#tt-header .tt-sub").strip() == next(t.title for t in trials if t.name == DB03)
    assert page.inner_text("#tt-status").strip() == f"Answers will be written for Resident, from {DB03}."
    assert "Ask a question about DESTINY-Breast03, or click a starter question." in page.inner_text("#tt-chat")
    assert_on_screen(page, LAPTOP)  # the trial's long title does not push the page down
    shot(page, "27-destiny-breast03-chosen")

    question = starters(page)[0]
    before = len(bot_texts(page))
    page.locator("button.tt-starter").first.click()
    answer = wait_for_reply(page, before)
    shot(page, "28-destiny-breast03-answered")
    assert user_texts(page)[-1].strip() == question
    assert f"Written for Resident, from {DB03}" in answer and "[1]" in answer
    passages = page.locator("#tt-sources .tt-src")
    assert passages.count() >= 1
    assert set(passages.evaluate_all("els => els.map(el => el.dataset.trial)")) == {DB03}
    for where in page.locator("#tt-sources .tt-where").all_inner_texts():  # the trial, then its section
        assert re.match(rf"\[\d+\] {re.escape(DB03)} › ", where), where
    assert page.locator("#tt-sources .tt-src[data-cited='true']").count() >= 1
    assert f"Latest answer written for Resident, from {DB03}" in page.inner_text("#tt-status")

    choose_stage(page, "Fellow")  # the starters follow the stage within the trial
    wait_for_starters(page, tutor.starters("fellow", DB03)[:STARTERS])
    before = len(bot_texts(page))
    page.click("#tt-takeaways")
    takeaways = wait_for_reply(page, before)
    shot(page, "29-destiny-breast03-fellow-takeaways")
    assert f"Personalised takeaways for Fellow, from {DB03}" in takeaways
    assert set(passages.evaluate_all("els => els.map(el => el.dataset.trial)")) == {DB03}

    choose_trial(page, ALL_TRIALS, everything)
    wait_for_starters(page, tutor.starters("fellow")[:STARTERS])
    assert all(name in page.inner_text("#tt-header .tt-sub") for name in names)
    status = page.inner_text("#tt-status")
    assert f"Latest answer written for Fellow, from {DB03}" in status
    assert "next question will be answered for Fellow, from all trials" in status
    assert len(bot_texts(page)) == 2  # the answer and the takeaways stay
    assert_on_screen(page, LAPTOP)
    shot(page, "30-back-to-all-trials")
