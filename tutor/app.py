"""The browser page: a role-tailored chat on a library of trials, its sources beside it, and a named API.

One read-only `Tutor` serves every session; each browser session keeps its own history, trial, stage
and specialty (gr.State and component values). The trial picker narrows the header, the starter
questions, the answers, the takeaways and the sources to one trial, or leaves them on every trial.
Whatever a user, a passage or a model wrote reaches the page with no live HTML, link or image in it,
so text shows as text (and copies as it was typed).
"""

from __future__ import annotations

import html
import json
import logging
import os
import re

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry calls from an offline tool
# Gradio's queue summarises its recent events with pandas after every event (a DataFrame and a group-by over up to
# 10,000 of them: 3.4 ms of CPU a turn at 100 events, 10 ms at 10,000) for its monitoring dashboard, which the page
# turns off (`launch`). Summarised never; at most one event remembered for it.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(2**62))
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1")


def _skip_stub_writing() -> None:
    """Gradio's component metaclass rewrites its own type stubs (`.pyi`, beside its sources) at every import: for
    each of its ~80 components it reads and parses the component's source file, renders a template and compares
    the stub. Developer tooling: 1.9 s of the 4.0 s of CPU `import gradio` takes here, at every start of the page
    (and a server that writes into its own site-packages). The function is replaced by a no-op once the gradio
    module defining it has run; a gradio without it is imported as it is."""
    import importlib.abc
    import importlib.machinery
    import sys

    name = "gradio.component_meta"
    if name in sys.modules:
        return

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname != name:
                return None
            sys.meta_path.remove(self)
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            run = getattr(getattr(spec, "loader", None), "exec_module", None)
            if run is None:
                return spec

            def exec_module(module):
                run(module)
                if callable(getattr(module, "create_or_modify_pyi", None)):
                    module.create_or_modify_pyi = lambda *args, **kwargs: None

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, Finder())


_skip_stub_writing()


def _known_absent(*names: str) -> None:
    """Record optional modules that are not installed as absent (None in sys.modules: an import of one fails at
    once). Gradio imports matplotlib, to switch its backend, around every event it runs; where it is not installed,
    each attempt searched every folder of the path again (2 ms of CPU a turn)."""
    import importlib.util
    import sys

    for name in names:
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = None


_known_absent("matplotlib")

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from tutor import practice_records_page, records_page  # noqa: E402
from tutor import guard, limits  # noqa: E402
from tutor.errors import InputError, TutorError, hide_locations, public  # noqa: E402
from tutor.roles import clean_specialty  # noqa: E402
from tutor.schema import Answer, Source, Takeaways, TrialInfo  # noqa: E402
from tutor.tutor import Tutor, clean_question  # noqa: E402
from tutor.practice_page import PRACTICE_CSS, build_practice  # noqa: E402
from tutor.practice_page import register_api as register_practice_api  # noqa: E402

log = logging.getLogger(__name__)

SPECIALTIES = ["oncology pharmacy", "cardio-oncology", "radiation oncology", "oncology nursing", "biostatistics"]
NOTE = "Educational use only; not medical advice."
ALL_TRIALS = "All trials"  # the trial picker's first choice: answers from every trial in the library
STARTERS = 4  # buttons on the page; each role file has at least 3 starter questions
CONCURRENCY_ID = "tutor"  # chat turns, takeaways and the API share one limit: settings.concurrency
# Gradio's queue, left at "auto", sends every waiting user their place in the queue each time a turn starts: with
# 28 users waiting, 28 messages a turn, each encoded, written and read by a client sharing the cores (32 users:
# 17-19 against 20-25 turns/s, 48-55 against 39-45 ms of server CPU a turn, alternated). Every second is as
# often as a waiting learner needs to see the place change.
QUEUE_STATUS_EVERY_S = 1.0

CSS = """
.gradio-container { max-width: 1340px !important; width: 100% !important; margin: 0 auto !important;
                    padding-top: 6px !important; }
/* One line: a long trial title ends in an ellipsis (whole on hover) rather than push the columns down. */
#tt-header { display: flex; align-items: baseline; gap: 14px; flex-wrap: nowrap; }
#tt-header h1 { font-size: 1.3rem; font-weight: 600; margin: 0; white-space: nowrap; }
#tt-header .tt-sub { color: var(--body-text-color-subdued); font-size: 0.95rem; min-width: 0; flex: 0 1 auto;
                     overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
#tt-note { background: #fff7e6; border: 1px solid #f0c36d; border-radius: 6px; padding: 2px 10px;
           font-size: 0.88rem; color: #6b4a00; margin-left: auto; white-space: nowrap; flex-shrink: 0; }
#tt-status { font-size: 0.92rem; min-height: 1.4em; }
#tt-status p { margin: 0; }
/* The chat's trash button floats over its top-right corner, on the messages; give it a strip of its own. */
#tt-chat .top-panel { position: static !important; align-self: flex-end; margin: 2px 2px 0 0; }
.tt-src { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 6px 9px;
          margin-bottom: 6px; font-size: 0.86rem; line-height: 1.35; }
.tt-src.tt-cited { border-left: 4px solid #2b7a4b; }
.tt-src .tt-where { font-weight: 600; }
.tt-src .tt-about, .tt-src .tt-doc { font-weight: 400; color: var(--body-text-color-subdued); }
.tt-src .tt-doc { font-size: 0.8rem; margin-left: 6px; white-space: nowrap; }
.tt-src .tt-badge { display: inline-block; font-size: 0.75rem; padding: 0 6px; border-radius: 8px;
                    margin-left: 6px; background: #e3f4ea; color: #1e5e38; }
.tt-src .tt-badge.tt-not { background: #eef0f3; color: #555; }
.tt-src .tt-text { margin-top: 3px; white-space: pre-wrap; }
.tt-empty { color: var(--body-text-color-subdued); font-size: 0.9rem; }
button.tt-starter { text-align: left !important; justify-content: flex-start !important; font-weight: 400 !important;
                    white-space: normal !important; font-size: 0.9rem !important; border: 1px solid var(--border-color-primary) !important;
                    background: var(--background-fill-primary) !important; }
button.tt-starter:hover { border-color: var(--color-accent) !important; background: var(--background-fill-secondary) !important; }
/* Side by side (a laptop or wider), both columns fill the window below the header and the chat and the
   sources take what is left, so a two-line status or a four-line question shrinks the chat instead of
   pushing the controls off screen. Stacked (narrow), the page scrolls and every passage shows in full. */
@media (min-width: 1000px) and (min-height: 560px) {
  #tt-left, #tt-right { height: calc(100vh - 140px); flex-wrap: nowrap !important; }
  #tt-left > *, #tt-right > * { flex-shrink: 0; }
  #tt-chat { flex: 1 1 0 !important; height: auto !important; min-height: 160px; }
  #tt-sources { flex: 1 1 0 !important; min-height: 120px; overflow-y: auto !important; }
}
/* Stacked, the page scrolls anyway: the header wraps and shows a trial's whole title. */
@media (max-width: 999px) {
  #tt-header { flex-wrap: wrap; }
  #tt-header .tt-sub { white-space: normal; }
}
"""


# Only what could make Markdown+HTML live: a '<' that could open a tag, comment or autolink; an '&'
# that could spell an entity; a ']' that could close a link or image (or a link definition).
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY = re.compile(r"&(?=#[0-9]+;|#[xX][0-9A-Fa-f]+;|[A-Za-z][A-Za-z0-9]*;)")
_LINK_END = re.compile(r"\](?=[(\[:])")
_EMPHASIS = re.compile(r"([\\`*_~])")


def inert(value: str) -> str:
    """Text for a Markdown message with no tag, entity, Markdown link or image left in it; the rest as
    written. (A bare web address is still shown as a link by the chat's Markdown, after sanitising.)

    The chat renders Markdown and then sanitises the HTML, and its copy button copies the message
    source: so only the few characters that could turn text into markup are escaped, and an ordinary
    question or answer ("What's the PFS (drug A vs. B)?", "P < 0.001") copies exactly as written.
    """
    value = _ENTITY.sub("&amp;", value)
    value = _TAG_START.sub("&lt;", value)
    return _LINK_END.sub(lambda _: "]\\", value)


def inline(value: str) -> str:
    """What a user typed (a question, a specialty inside our own bold), its emphasis marks shown as typed."""
    return inert(_EMPHASIS.sub(r"\\\1", value))


def _html_text(value: str) -> str:
    # gr.HTML fills a JS template; keep '$' and braces inert too.
    return html.escape(value).replace("$", "&#36;").replace("{", "&#123;").replace("}", "&#125;")


def _bubble(role: str, content: str) -> dict:
    return {"role": role, "content": content}


def _for_line(role_name: str, specialty: str | None) -> str:
    return f"{role_name}" + (f" · {specialty}" if specialty else "")


def _scope(trial: str | None) -> str:
    """What an answer is drawn from: the chosen trial, or every trial."""
    return trial or ALL_TRIALS.lower()


def _bold_for(written: list[str]) -> str:
    """[stage · specialty, trial] for the status line: "**Resident**, from **all trials**"."""
    return f"**{inline(written[0])}**, from **{inline(written[1])}**"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def _listed(names: list[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def chosen_trial(value) -> str | None:
    """The trial the picker or an API call names; empty or "All trials" is every trial (None). Whether a
    name is one of the library's trials is the tutor's to say (an InputError naming the choices)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"trial must be a trial's name, or \"\" for all trials, not {type(value).__name__}")
    value = guard.clean_name("trial", value, optional=True) or ""
    return None if not value or value.lower() == ALL_TRIALS.lower() else value


def page_title(trial: TrialInfo | None, trials: list[TrialInfo]) -> str:
    if trial is not None:
        return f"Trial Tutor: {trial.name}"
    return f"Trial Tutor: {len(trials)} trial{'' if len(trials) == 1 else 's'}"


def header_html(trial: TrialInfo | None, trials: list[TrialInfo]) -> str:
    """The heading: the chosen trial with its title, or how many trials the library holds and which."""
    sub = trial.title if trial is not None else _listed([t.name for t in trials])
    suggestions = "".join(f'<option value="{_html_text(s)}"></option>' for s in SPECIALTIES)  # the specialty box's
    return (f'<div id="tt-header"><h1>{_html_text(page_title(trial, trials))}</h1>'
            f'<span class="tt-sub" title="{_html_text(sub)}">{_html_text(sub)}</span>'
            f'<span id="tt-note" role="note">{_html_text(NOTE)}</span>'
            f'<datalist id="tt-specialties">{suggestions}</datalist></div>')


def placeholders(trial: str | None) -> tuple[str, str]:
    """What the question box and the empty chat invite: (question box, chat)."""
    about = trial or "the trials in the library"
    return f"Ask a question about {about}", f"Ask a question about {about}, or click a starter question."


def sources_html(sources: list[Source], cited: list[str], heading: str) -> str:
    """Each passage with its trial, section and document; cited ones marked and first."""
    if not sources:
        return f'<div class="tt-empty">{_html_text(heading)}: no passages (the question is outside the sources).</div>'
    numbered = list(enumerate(sources, 1))
    numbered.sort(key=lambda pair: pair[1].id not in cited)
    parts = [f'<div class="tt-empty">{_html_text(heading)}</div>']
    for n, source in numbered:
        is_cited = source.id in cited
        badge = ('<span class="tt-badge">cited</span>' if is_cited
                 else '<span class="tt-badge tt-not">retrieved, not cited</span>')
        # A trial page's passage on a related trial says which one it is about.
        about = (f' <span class="tt-about">(about {_html_text(source.about)})</span>'
                 if source.about and source.about != source.trial else "")
        parts.append(
            f'<div class="tt-src{" tt-cited" if is_cited else ""}" data-source="{n}" data-cited="{str(is_cited).lower()}" '
            f'data-trial="{_html_text(source.trial)}">'
            f'<div class="tt-where">[{n}] <span class="tt-trial">{_html_text(source.trial or source.title)}</span> › '
            f'{_html_text(source.section or "(no section)")}{about}<span class="tt-doc">{_html_text(source.document)}</span>'
            f'{badge}</div><div class="tt-text">{_html_text(source.text)}</div></div>'
        )
    return "".join(parts)


EMPTY_SOURCES = '<div class="tt-empty">The passages behind the latest answer appear here, cited ones first.</div>'


def render_answer(answer: Answer, role_name: str, trial: str | None = None) -> str:
    text = answer.answer
    if not answer.complete:  # the tutor's own cut-off line gives way to the warning below
        text = text.split("\n\n[The answer was cut off", 1)[0]
    text = inert(text)
    notes = []
    if answer.unverified_numbers:
        notes.append("⚠️ **Check these numbers:** " + inline(", ".join(answer.unverified_numbers))
                     + " (found in no source passage).")
    if answer.unsupported_citations:
        numbers = ", ".join(f"\\[{n}\\]" for n in answer.unsupported_citations)
        notes.append(f"⚠️ **Not supported by its sources:** the sentences citing {numbers} share no content with "
                     "those passages; check the claims against the sources before relying on them.")
    if not answer.complete:
        why = f" ({inline(answer.incomplete_reason.rstrip('.'))})" if answer.incomplete_reason else ""
        notes.append(f"⚠️ **This answer was cut off** before the model finished{why}; ask again for the rest.")
    # From all trials, the footer names the trials the answer cites.
    cited = list(dict.fromkeys(s.trial for s in answer.sources if s.id in answer.citations and s.trial))
    drawn = f" (citing {_listed(cited)})" if trial is None and cited else ""
    footer = f"*Written for {inline(_for_line(role_name, answer.specialty))}, from {inline(_scope(trial))}{drawn}*"
    return "\n\n".join([text, *notes, footer])


def render_takeaways(result: Takeaways, role_name: str, trial: str | None = None) -> str:
    lines = [f"**Personalised takeaways for {inline(_for_line(role_name, result.specialty))}, "
             f"from {inline(_scope(trial))}**", ""]
    lines += [f"{n}. {inert(item.text)}" for n, item in enumerate(result.takeaways, 1)]
    if result.unverified_numbers:
        lines += ["", "⚠️ **Check these numbers:** " + inline(", ".join(result.unverified_numbers))
                  + " (found in no source passage)."]
    return "\n".join(lines)


def friendly(exc: Exception) -> str:
    if isinstance(exc, InputError):
        return f"⚠️ {inline(str(exc)[:1].upper() + str(exc)[1:])}."
    if isinstance(exc, TutorError):
        return (f"⚠️ Sorry, I could not answer that: {inline(public(str(exc)))}. "
                "Your conversation is kept; try again in a moment.")
    return "⚠️ Sorry, something went wrong on my side. Your conversation is kept; try again in a moment."


def rejected(endpoint: str, exc: TutorError) -> gr.Error:
    """A call the tutor refused: one log line (no traceback), and the reason for the caller."""
    log.warning("rejected %s: %s", endpoint, str(exc).replace("\n", " ")[:300])
    return gr.Error(public(str(exc)), print_exception=False)


def public_answer(answer: Answer) -> Answer:
    """An answer as the page and the API give it: a cut-off's reason names the model server by its setting."""
    if answer.complete:
        return answer
    return answer.model_copy(update={"answer": public(answer.answer),
                                     "incomplete_reason": public(answer.incomplete_reason or "") or None})


def new_session() -> dict:
    """Per-browser-session state; gr.State copies it for each session."""
    return {"history": [], "display": [], "written_for": None}  # written_for: [stage · specialty, trial]


def build_app(tutor: Tutor, records=None) -> gr.Blocks:
    """The page and the API around one Tutor (tests pass their own) and the learner records (default: the
    database of the tutor's settings)."""
    hide_locations(tutor.settings)  # errors shown on the page name a setting, not the deployment's addresses
    records = records_page.open_records(tutor.settings, records)
    roles = tutor.roles
    role_choices = [(role.name, role.id) for role in roles.values()]
    first_role = "resident" if "resident" in roles else next(iter(roles))
    trials = tutor.trials()
    by_name = {t.name: t for t in trials}

    def status(session: dict, role_id: str, specialty: str | None, trial: str | None) -> str:
        try:
            name = tutor.role(role_id).name
            upcoming = [_for_line(name, clean_specialty(specialty)), _scope(chosen_trial(trial))]
        except InputError as exc:  # said now, not only when the next question fails
            return f"⚠️ **This {'specialty' if 'specialty' in str(exc) else 'choice'} cannot be used**: {inline(str(exc))}."
        written = session.get("written_for")
        if written is None:
            return f"Answers will be written for {_bold_for(upcoming)}."
        text = f"Latest answer written for {_bold_for(written)}."
        if list(written) != upcoming:
            text += f" Your next question will be answered for {_bold_for(upcoming)}."
        return text

    def starters(role_id: str, trial: str | None) -> list:
        try:
            questions = tutor.starters(role_id, chosen_trial(trial))[:STARTERS]
        except TutorError as exc:  # only a hand-made call can send these; the buttons stay as they are
            log.warning("rejected a starters call: %s", str(exc)[:300])
            return [gr.skip()] * STARTERS
        return [gr.Button(value=questions[i] if i < len(questions) else "", visible=i < len(questions))
                for i in range(STARTERS)]

    def show_trial(trial: str | None) -> tuple:
        """The header and the invitations to ask, for the chosen trial: (header, question box, chat)."""
        try:
            name = chosen_trial(trial)
        except TutorError as exc:
            log.warning("rejected a trial choice: %s", str(exc)[:300])
            return gr.skip(), gr.skip(), gr.skip()
        ask_box, ask_chat = placeholders(name)
        return (header_html(by_name.get(name) if name else None, trials),
                gr.Textbox(placeholder=ask_box), gr.Chatbot(placeholder=ask_chat))

    def respond(question: str, role_id: str, specialty: str | None, trial: str | None, session: dict):
        """One chat turn, streamed: outputs are (chat, session, sources, status)."""
        session = {**session, "display": list(session["display"]), "history": list(session["history"])}
        display = session["display"]
        try:
            clean_question(question)
            learner = tutor.role(role_id)
            specialty = clean_specialty(specialty)
            name = chosen_trial(trial)
        except TutorError as exc:
            log.warning("rejected a chat turn: %s", str(exc)[:300])
            display.append(_bubble("assistant", friendly(exc)))
            yield display, session, gr.skip(), status(session, role_id, specialty, trial)
            return
        # The page keeps the newest turns that fit the history bounds: a long conversation goes on.
        session["history"] = guard.recent(session["history"], tutor.settings.max_history_turns,
                                          tutor.settings.max_history_chars)
        display.append(_bubble("user", inline(question.strip())))
        display.append(_bubble("assistant", "…"))
        yield display, session, gr.skip(), status(session, role_id, specialty, trial)
        written = ""
        try:
            for part in tutor.stream(question, learner.id, specialty, session["history"], trial=name):
                if isinstance(part, str):
                    written += part
                    display[-1] = _bubble("assistant", inert(written))
                    yield display, gr.skip(), gr.skip(), gr.skip()
                else:
                    part = public_answer(part)
                    display[-1] = _bubble("assistant", render_answer(part, learner.name, name))
                    session["history"] += [{"role": "user", "content": question.strip()},
                                           {"role": "assistant", "content": part.answer}]
                    session["written_for"] = [_for_line(learner.name, part.specialty), _scope(name)]
                    records_page.remember(session, question, part, name, len(display) - 1)
                    yield (display, session,
                           sources_html(part.sources, part.citations, f"Sources for: {_clip(question.strip(), 80)}"),
                           status(session, role_id, specialty, trial))
        except Exception as exc:  # a failed turn keeps the conversation so far
            if not isinstance(exc, TutorError):
                log.exception("chat turn failed")
            display[-1] = _bubble("assistant", friendly(exc))
            yield display, session, gr.skip(), status(session, role_id, specialty, trial)

    def take(question: str) -> tuple[str, str]:
        """Empty the box for a question that will be asked; keep a bad one there to be fixed."""
        try:
            clean_question(question)
        except TutorError:
            return question, question
        return "", question

    def takeaways(role_id: str, specialty: str | None, trial: str | None, session: dict):
        session = {**session, "display": list(session["display"])}
        display = session["display"]
        try:
            learner = tutor.role(role_id)
            name = chosen_trial(trial)
            result = tutor.takeaways(learner.id, clean_specialty(specialty), trial=name)
        except Exception as exc:
            if not isinstance(exc, TutorError):
                log.exception("takeaways failed")
            display.append(_bubble("assistant", friendly(exc)))
            return display, session, gr.skip(), status(session, role_id, specialty, trial)
        display.append(_bubble("assistant", render_takeaways(result, learner.name, name)))
        session["written_for"] = [_for_line(learner.name, result.specialty), _scope(name)]
        cited = [cid for item in result.takeaways for cid in item.citations]
        return (display, session, sources_html(result.sources, cited, "Sources for the takeaways"),
                status(session, role_id, specialty, trial))

    def clear(role_id: str, specialty: str | None, trial: str | None):
        session = new_session()
        return [], session, EMPTY_SOURCES, status(session, role_id, specialty, trial), ""

    # -- the named API (for scripts and the load benchmark) ---------------------------------

    def ask_api(question: str, role: str, specialty: str = "", history: list | None = None, trial: str = "") -> dict:
        """Ask one question as a role (id or display name) with an optional specialty; returns the Answer.
        `history` holds the conversation so far as [{"role": "user"|"assistant", "content": "..."}], so a
        conversation through the API keeps no state in the process: any `tutor serve` can answer its next turn.
        `trial` is one trial's name (see /trials); "" or "All trials" answers from every trial."""
        try:
            settings = tutor.settings
            history = guard.clean_history(history, settings.max_history_turns, settings.max_history_chars)
            return public_answer(tutor.ask(question, role, specialty or None, history, trial=chosen_trial(trial))).model_dump()
        except TutorError as exc:
            raise rejected("/ask", exc) from None

    def takeaways_api(role: str, specialty: str = "", trial: str = "") -> dict:
        """3 to 5 cited takeaways for a role (id or display name), an optional specialty and an optional
        trial ("" or "All trials": every trial)."""
        try:
            return tutor.takeaways(role, specialty or None, trial=chosen_trial(trial)).model_dump()
        except TutorError as exc:
            raise rejected("/takeaways", exc) from None

    def trials_api() -> list[dict]:
        """The trials in the library: name, title, year, journal, sample, chunks, document."""
        return [t.model_dump() for t in tutor.trials()]

    with gr.Blocks(title=page_title(None, trials), analytics_enabled=False) as demo:
        # Declared first, so no page event can take these names.
        gr.api(ask_api, api_name="ask", concurrency_id=CONCURRENCY_ID)
        gr.api(takeaways_api, api_name="takeaways", concurrency_id=CONCURRENCY_ID)
        gr.api(trials_api, api_name="trials", queue=False)
        register_practice_api(tutor, CONCURRENCY_ID)
        records_page.add_api(records)
        practice_records_page.add_api(tutor, records)
        session = gr.State(new_session())
        header = gr.HTML(header_html(None, trials), js_on_load=None)
        ask_box, ask_chat = placeholders(None)
        with gr.Row(equal_height=False, render=False) as chat_page:  # rendered in the Chat tab below
            with gr.Column(scale=3, min_width=520, elem_id="tt-left"):
                with gr.Row():
                    trial = gr.Dropdown([ALL_TRIALS, *[t.name for t in trials]], value=ALL_TRIALS, label="Trial",
                                        elem_id="tt-trial", filterable=False, scale=1)
                    role = gr.Dropdown(role_choices, value=first_role, label="Training stage", elem_id="tt-role",
                                       filterable=False, scale=1)
                    # A text box, not a Dropdown: a Dropdown's Enter picks its first matching choice
                    # (an empty box became "oncology pharmacy"); the suggestions are a <datalist>.
                    specialty = gr.Textbox(label="Specialty (type or pick one)", lines=1, max_lines=1,
                                           placeholder="e.g. " + SPECIALTIES[0], elem_id="tt-specialty", scale=1)
                written = gr.Markdown(status(new_session(), first_role, None, None), elem_id="tt-status")
                # autoscroll off: PAGE_JS brings each new question to the top instead of the answer's end.
                chat = gr.Chatbot(elem_id="tt-chat", height="max(300px, 60vh)", label="Conversation", show_label=False,
                                  latex_delimiters=[], feedback_options=("Like", "Dislike"), buttons=["copy"], group_consecutive_messages=False,
                                  autoscroll=False,
                                  placeholder=ask_chat)
                with gr.Row():
                    question = gr.Textbox(placeholder=ask_box,
                                          show_label=False, lines=1, max_lines=4, scale=5, elem_id="tt-question",
                                          submit_btn=False, autofocus=True)
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="tt-send")
                with gr.Row():
                    takeaway = gr.Button("Personalised takeaways", elem_id="tt-takeaways", size="sm")
                    reset = gr.Button("New conversation", elem_id="tt-clear", size="sm")
                    downloads = records_page.add_download_buttons()
                kept = records_page.add_controls(downloads)
            with gr.Column(scale=2, min_width=380, elem_id="tt-right"):
                gr.Markdown("**Starter questions** for your stage and trial")
                starter_buttons = [
                    gr.Button(q, size="sm", elem_classes=["tt-starter"], elem_id=f"tt-starter-{i}")
                    for i, q in enumerate(tutor.starters(first_role, None)[:STARTERS])
                ]
                gr.Markdown("**Sources** behind the latest answer: check each claim against its passage")
                sources = gr.HTML(EMPTY_SOURCES, elem_id="tt-sources", js_on_load=None)
        with gr.Tabs(elem_id="tt-tabs"):
            with gr.Tab("Chat", id="chat", elem_id="tt-tab-chat"):
                chat_page.render()
            with gr.Tab("Practice", id="practice", elem_id="tt-tab-practice"):
                build_practice(tutor, role_choices, first_role, [t.name for t in trials], CONCURRENCY_ID,
                               records=records)

        # The box clears at once, outside the queue, so a user can type the next question while an
        # answer streams; the turn itself reads the question from a per-session State.
        asked = gr.State("")
        turn = dict(fn=respond, inputs=[asked, role, specialty, trial, session], outputs=[chat, session, sources, written],
                    concurrency_id=CONCURRENCY_ID, api_name="chat_turn", api_visibility="undocumented")
        for trigger, box in ((question.submit, question), (send.click, question)):
            trigger(take, box, [question, asked], queue=False, api_visibility="undocumented").then(**turn)
        for button in starter_buttons:
            button.click(lambda q: q, button, asked, queue=False, api_visibility="undocumented").then(**turn)
        takeaway.click(takeaways, [role, specialty, trial, session], [chat, session, sources, written],
                       concurrency_id=CONCURRENCY_ID, api_name="chat_takeaways", api_visibility="undocumented")
        reset.click(clear, [role, specialty, trial], [chat, session, sources, written, question], queue=False,
                    api_visibility="undocumented")
        chat.clear(lambda r, s, t: clear(r, s, t)[1:4], [role, specialty, trial], [session, sources, written],
                   queue=False, api_visibility="undocumented")
        for control in (role, trial):
            control.change(starters, [role, trial], starter_buttons, queue=False, api_visibility="undocumented")
        trial.change(show_trial, trial, [header, question, chat], queue=False, api_visibility="undocumented")
        # The browser tab's title follows the header's heading.
        trial.change(None, trial, None, js=f"""(t) => {{
            document.title = (!t || t === {json.dumps(ALL_TRIALS)}) ? {json.dumps(page_title(None, trials))}
                                                                   : 'Trial Tutor: ' + t; }}""")
        # A Textbox's change fires as the user types, so the status line follows each keystroke.
        for control in (role, specialty, trial):
            control.change(status, [session, role, specialty, trial], written, queue=False, trigger_mode="always_last",
                           api_visibility="undocumented")

        records_page.wire(kept, records, chat, session)

    demo.queue(default_concurrency_limit=tutor.settings.concurrency, max_size=tutor.settings.queue_size,
               status_update_rate=QUEUE_STATUS_EVERY_S)
    limits.admit(demo, tutor.settings.session_jobs, CONCURRENCY_ID)
    demo.max_request_bytes = tutor.settings.max_request_bytes  # read by launch()
    return demo


# A font Gradio bundles (nothing fetched at run time). Its Source Sans Pro semibold file is a few-glyph
# subset, so bold headings mixed two fonts (a trial's name with a stray capital); the full bold file is used instead.
THEME = gr.themes.Default(primary_hue="blue", neutral_hue="slate", radius_size="sm",
                          font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif",
                                "system-ui", "sans-serif"])


# Runs once the page is up. It ties the specialty box to its suggestions. And, as Gradio's own
# autoscroll follows the end of a long answer (past its question), it keeps each new question (or a
# reply with no question, such as takeaways) at the top of the chat while the answer streams in below,
# until the user scrolls.
PAGE_JS = """
() => {
  const wire = () => {
    const chat = document.querySelector('#tt-chat');
    const box = document.querySelector('#tt-specialty input');
    if (!chat || !box) return false;
    box.setAttribute('list', 'tt-specialties');
    let seen = 0, pinned = null;
    const unpin = () => { pinned = null; };
    for (const event of ['wheel', 'touchstart', 'keydown']) chat.addEventListener(event, unpin, {passive: true});
    new MutationObserver(() => {
      const rows = [...chat.querySelectorAll('.message-row')];
      if (rows.length < seen) pinned = null;  // a new conversation
      for (let i = seen; i < rows.length; i++) {
        const own = rows[i].classList.contains('user-row') || i === 0 || !rows[i - 1].classList.contains('user-row');
        if (own) pinned = rows[i];
      }
      seen = rows.length;
      const scroller = chat.querySelector('.bubble-wrap');
      if (pinned && pinned.isConnected && scroller) {
        scroller.scrollTop += pinned.getBoundingClientRect().top - scroller.getBoundingClientRect().top - 8;
      }
    }).observe(chat, {childList: true, subtree: true, characterData: true});
    return true;
  };
  if (!wire()) {
    const waiting = new MutationObserver(() => { if (wire()) waiting.disconnect(); });
    waiting.observe(document.body, {childList: true, subtree: true});
  }
}
"""


def launch(demo: gr.Blocks, host: str, port: int, auth=None) -> str:
    """Start serving the page in the background; returns its local URL (`demo.block_thread()` waits).
    `auth`: Gradio's login check, (name, password) -> bool (tutor/auth.py), guarding the page and its API."""
    # The page has no file input: the upload route is refused outright (and capped to 0 bytes behind that).
    middleware = [Middleware(limits.RequestLimits, max_bytes=getattr(demo, "max_request_bytes", 1_000_000))]
    _, url, _ = demo.launch(server_name=host, server_port=port, theme=THEME, css=CSS + PRACTICE_CSS, js=PAGE_JS,
                            footer_links=["api"], auth=auth, enable_monitoring=False,
                            auth_message="Trial Tutor: sign in with the name and password you were given." if auth else None,
                            prevent_thread_lock=True, quiet=True, share=False, ssr_mode=False,
                            max_file_size=0, app_kwargs={"middleware": middleware})
    return url
