"""LLM05 Improper output handling, checked in the real browser: a model reply and a trial-page passage that
carry a <script>, an <img onerror>, an <svg onload>, a Markdown image pointing at an outside server and
javascript: links (Markdown and HTML) show as text. Nothing runs (no dialog, no flag set on window), nothing
is fetched from outside the page (every other request is intercepted and refused, and the leak listener hears
nothing), and no javascript: URL exists anywhere in the DOM.

The model speaks through tests/fake_openai.py; the passage comes from the poisoned knowledge folder
(conftest.py). What a user types is probed in tests/test_app_browser.py (HTML typed by a user, HTML in an
offline answer), which this suite does not repeat.
"""

from __future__ import annotations

import pytest

from tests.conftest import serve
from tests.fake_openai import Reply
from tests.security.conftest import PFS, on_openai, payload
from tests.test_app_browser import LAPTOP, TURN_MS, ask, bot_texts, shot

pytestmark = pytest.mark.browser

# Every element carrying an event handler, and every attribute holding a javascript: URL, in the whole page.
LIVE = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      if (/^on/i.test(attr.name)) found.push(el.tagName + ' ' + attr.name);
      if (/^\\s*javascript:/i.test(attr.value)) found.push(el.tagName + ' ' + attr.name + '=' + attr.value);
    }
  }
  return found;
}"""


@pytest.fixture(scope="module")
def hostile_url(poisoned, fake):
    """The page around the openai backend (the fake) on the poisoned knowledge."""
    from tutor.app import build_app

    demo = build_app(on_openai(poisoned, fake))
    yield serve(demo)
    demo.close()


@pytest.fixture
def guarded(browser, hostile_url, leak):
    """A page whose every request outside the page's own address is refused and recorded."""
    context = browser.new_context(viewport=LAPTOP)
    outside: list[str] = []

    def gate(route):
        if route.request.url.startswith(hostile_url) or route.request.url.startswith("data:"):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    context.route("**/*", gate)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(hostile_url, wait_until="domcontentloaded")
    # (one trial in this library: one starter button, where tests/test_app_browser.py's open_page waits for four)
    page.wait_for_selector("#tt-question textarea", timeout=TURN_MS)
    page.wait_for_selector("#tt-sources", timeout=TURN_MS)
    yield page, outside
    context.close()


def assert_inert(page, outside: list[str], leak) -> None:
    assert page.dialogs == []
    assert page.evaluate("window.__tt_pwned") is None
    assert page.evaluate(LIVE) == []
    assert page.locator("#tt-chat script, #tt-chat img, #tt-chat iframe, #tt-sources script, #tt-sources img").count() == 0
    assert outside == [] and leak.hits == []


def test_markup_in_a_model_reply_and_in_a_passage_shows_as_text_and_runs_nothing(guarded, fake, leak):
    page, outside = guarded
    fake.reset()
    planted = payload(leak.url, "reply")
    fake.script(Reply(f"- Median progression-free survival was 9.6 months [1]. {planted}", chunks=12))
    answer = ask(page, PFS)
    shot(page, "security-llm05-reply-and-passage")
    assert "9.6 months" in answer
    for piece in ("<script>window.__tt_pwned='reply-script'</script>", "![chart](", "javascript:alert('reply-link')",
                  "<img src=x onerror="):
        assert piece in answer, piece  # every character the model wrote, shown as text
    sources = page.inner_text("#tt-sources")
    assert "ignore previous instructions" in sources and "<script>window.__tt_pwned='passage-script'</script>" in sources
    assert "javascript:alert('passage-link')" in sources
    assert page.locator("#tt-chat li").count() >= 1  # the reply's own Markdown list still renders
    assert_inert(page, outside, leak)


def test_markup_in_personalised_takeaways_runs_nothing(guarded, fake, leak):
    page, outside = guarded
    fake.reset()
    planted = payload(leak.url, "takeaway")
    fake.script(Reply(f"- Median progression-free survival was 9.6 months [1]. {planted}\n"
                      "- Overall survival was 30.9 months versus 25.1 months [1].\n"
                      "- Grade 3 or higher adverse events: 41% versus 57% [1].", chunks=10))
    before = len(bot_texts(page))
    page.click("#tt-takeaways")
    page.wait_for_function("n => document.querySelectorAll('#tt-chat .message-row.bot-row').length > n "
                           "&& document.querySelector('#tt-chat').innerText.includes('Personalised takeaways')",
                           arg=before, timeout=TURN_MS)
    text = bot_texts(page)[-1]
    assert "9.6 months" in text and "window.__tt_pwned='takeaway-script'" in text
    assert_inert(page, outside, leak)
