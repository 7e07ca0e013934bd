"""The Practice tab of the page and the practice API: the tutor asks, the learner answers, the grade comes
back point by point with its sources, a hint, try again or see the answer, and a running tally per session.

Everything a learner or a passage wrote is shown as text (escaped), like the chat.
"""

from __future__ import annotations

import html
import logging
from textwrap import shorten

import gradio as gr

from tutor import practice_records_page
from tutor.errors import TutorError, public
from tutor.roles import clean_specialty

log = logging.getLogger(__name__)
ALL_TRIALS = "All trials"

PRACTICE_CSS = """
#tp-question { font-size: 1.02rem; }
.tp-grade { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 8px 11px; font-size: 0.92rem; }
.tp-verdict { font-weight: 600; font-size: 1.02rem; margin-bottom: 4px; }
.tp-correct { color: #1e5e38; } .tp-partial { color: #8a5a00; } .tp-incorrect { color: #a12020; }
.tp-point { margin: 3px 0; } .tp-status { display: inline-block; min-width: 78px; font-size: 0.78rem; padding: 0 6px;
            border-radius: 8px; margin-right: 6px; text-align: center; }
.tp-s-covered { background: #e3f4ea; color: #1e5e38; } .tp-s-partly { background: #fff3d6; color: #7a5200; }
.tp-s-missed, .tp-s-incorrect { background: #fbe4e4; color: #8a1c1c; }
.tp-note { color: var(--body-text-color-subdued); }
.tp-hint { margin-top: 6px; padding: 4px 8px; background: #eef4ff; border-radius: 4px; }
.tp-src { margin-top: 4px; font-size: 0.85rem; white-space: pre-wrap; }
.tp-flag { color: #8a1c1c; }
"""


def _t(value: str) -> str:
    return html.escape(value or "").replace("$", "&#36;").replace("{", "&#123;").replace("}", "&#125;")


def _trial(value) -> str | None:
    if not value or not isinstance(value, str) or value.strip().lower() == ALL_TRIALS.lower():
        return None
    return value.strip()


def grade_html(grade) -> str:
    """A grade as the page shows it: verdict and score, each point with its status, the feedback, the hint,
    and, once revealed, the model answer and the passages cited."""
    parts = [f'<div class="tp-grade" data-verdict="{grade.verdict}">',
             f'<div class="tp-verdict tp-{grade.verdict}">{grade.verdict.capitalize()} · score {grade.score:.2f}'
             f'<span class="tp-note"> (graded {_t(grade.grader)})</span></div>']
    if grade.note:
        parts.append(f'<div class="tp-note">{_t(grade.note)}</div>')
    for flag in grade.flags:
        parts.append(f'<div class="tp-flag">Not credited: {_t(flag)}</div>')
    labels = {"covered": "covered", "partly": "partly", "missed": "missed", "incorrect": "not right"}
    for point in grade.points:
        note = f' <span class="tp-note">({_t(point.note)})</span>' if point.note else ""
        parts.append(f'<div class="tp-point" data-status="{point.status}"><span class="tp-status tp-s-{point.status}">'
                     f'{labels[point.status]}</span> {_t(point.text)} {_t(point.citation)}{note}</div>')
    parts.append(f'<div class="tp-note">{_t(grade.feedback.splitlines()[0])}</div>')  # the points above teach the rest
    if grade.hint and not grade.revealed:
        parts.append(f'<div class="tp-hint" id="tp-hint-text"><b>Hint:</b> {_t(grade.hint)}</div>')
    if grade.revealed:
        parts.append(f'<div class="tp-src"><b>Model answer:</b> {_t(grade.model_answer or "")}</div>')
        for source in grade.sources:
            parts.append(f'<div class="tp-src">[{source["n"]}] <b>{_t(source["section"])}</b>: {_t(source["text"])}</div>')
    parts.append("</div>")
    return "".join(parts)


def tally_markdown(tally: dict) -> str:
    tried = tally.get("scores", {})
    if not tried:
        return "**Session:** no items tried yet."
    average = sum(tried.values()) / len(tried)
    missed = list(dict.fromkeys(tally.get("missed", [])))
    text = f"**Session:** {len(tried)} item{'s' if len(tried) != 1 else ''} tried, average score {average:.2f}."
    if missed:
        text += " Topics to review: " + "; ".join(html.escape(m) for m in missed[-5:]) + "."
    return text


def new_practice() -> dict:
    return {"item": None, "tries": 0, "last": "", "seen": [], "scores": {}, "missed": []}


def build_practice(tutor, role_choices, first_role: str, trial_names: list[str], concurrency_id: str,
                   records=None) -> None:
    """The Practice tab's controls and events, inside the caller's gr.Tab; with `records`, thumbs on each grade
    and the session's downloads (tutor/practice_records_page.py)."""
    state = gr.State(new_practice())
    with gr.Row():
        trial = gr.Dropdown([ALL_TRIALS, *trial_names], value=ALL_TRIALS, label="Trial", elem_id="tp-trial",
                            filterable=False, scale=1)
        role = gr.Dropdown(role_choices, value=first_role, label="Training stage", elem_id="tp-role",
                           filterable=False, scale=1)
        specialty = gr.Textbox(label="Specialty (optional)", lines=1, max_lines=1, elem_id="tp-specialty", scale=1)
    question = gr.Markdown("Pick your stage and trial, then press **Next question**.", elem_id="tp-question")
    answer = gr.Textbox(label="Your answer", lines=4, max_lines=10, elem_id="tp-answer",
                        placeholder="Answer in a few sentences, with the figures where they matter.")
    with gr.Row():
        submit = gr.Button("Submit answer", variant="primary", elem_id="tp-submit")
        reveal = gr.Button("Show the answer", elem_id="tp-reveal")
        following = gr.Button("Next question", elem_id="tp-next")
    result = gr.HTML('<div class="tp-note">Your graded answer appears here.</div>', elem_id="tp-result",
                     js_on_load=None)
    tally = gr.Markdown(tally_markdown({}), elem_id="tp-tally")
    if records is not None:
        kept = practice_records_page.add_practice_controls()
        practice_records_page.wire_practice(kept, records, tutor, state, specialty, following)

    def next_item(role_id: str, trial_name: str, session: dict):
        session = {**session, "seen": list(session["seen"])}
        try:
            item = tutor.practice.next(role_id, _trial(trial_name), session["seen"])
        except TutorError as exc:
            return session, f"⚠️ {html.escape(public(str(exc)))}", gr.skip(), gr.skip()
        session.update(item=item.id, tries=0, last="", shown=None)
        session["seen"].append(item.id)
        kind = {"discussion": "Discussion", "recall": "Recall", "appraisal": "Appraisal"}[item.kind]
        heading = f"**{html.escape(item.trial)} · {kind}**  \n{html.escape(item.question)}"
        return session, heading, "", '<div class="tp-note">Write your answer, then submit it.</div>'

    def grade(text: str, role_id: str, specialty_text: str, session: dict, show: bool = False):
        session = {**session, "scores": dict(session["scores"]), "missed": list(session["missed"])}
        if not session.get("item"):
            return session, '<div class="tp-note">Press <b>Next question</b> first.</div>', gr.skip()
        try:
            clean_specialty(specialty_text)
            given = text if (text or "").strip() else session.get("last", "")
            if show and not (given or "").strip():
                item = tutor.practice.item(session["item"])
                return (session, f'<div class="tp-grade"><div class="tp-src"><b>Model answer:</b> '
                                 f'{_t(item.model_answer)}</div></div>', gr.skip())
            tries = session["tries"] + (0 if show else 1)
            result = tutor.practice.grade(session["item"], given, role_id, reveal=show or tries >= 2)
        except TutorError as exc:
            return session, f'<div class="tp-flag">⚠️ {_t(public(str(exc)))}</div>', gr.skip()
        except Exception:  # the page stays usable
            log.exception("practice grade failed")
            return session, '<div class="tp-flag">⚠️ Something went wrong grading that; try again.</div>', gr.skip()
        session.update(tries=tries, last=given)
        if records is not None:
            practice_records_page.keep(session, session["item"], given, result)
        if session["item"] not in session["scores"]:
            session["scores"][session["item"]] = result.score  # the first try counts in the tally
            item = tutor.practice.item(session["item"])
            rubric = {p.id: p for p in item.rubric.points}
            if result.verdict != "correct":
                topic = item.question if item.kind == "discussion" else rubric[result.points[0].id].text
                session["missed"].append(f"{item.trial}: {shorten(topic, 60, placeholder=' ...')}")
        return session, grade_html(result), tally_markdown(session)

    following.click(next_item, [role, trial, state], [state, question, answer, result], queue=False,
                    api_visibility="undocumented")
    submit.click(lambda a, r, s, st: grade(a, r, s, st), [answer, role, specialty, state], [state, result, tally],
                 concurrency_id=concurrency_id, api_visibility="undocumented")
    reveal.click(lambda a, r, s, st: grade(a, r, s, st, True), [answer, role, specialty, state],
                 [state, result, tally], concurrency_id=concurrency_id, api_visibility="undocumented")


def register_api(tutor, concurrency_id: str) -> None:
    """Named, stateless endpoints: /practice_items, /practice_next and /practice_grade."""

    def practice_items_api(role: str = "", trial: str = "") -> list[dict]:
        """The practice items (id, trial, role, kind, question) for a role ("" = every role) and a trial ("" = all)."""
        try:
            return [{"id": i.id, "trial": i.trial, "role": i.role, "kind": i.kind, "question": i.question}
                    for i in tutor.practice.items(role or None, _trial(trial))]
        except TutorError as exc:
            raise gr.Error(public(str(exc))) from exc

    def practice_next_api(role: str, trial: str = "", seen: list | None = None) -> dict:
        """The next item for a role: the first not in `seen` (ids already done; the caller keeps them)."""
        try:
            if seen is not None and (not isinstance(seen, list) or not all(isinstance(s, str) for s in seen)):
                raise TutorError("seen must be a list of item ids")
            item = tutor.practice.next(role, _trial(trial), seen or [])
            return {"id": item.id, "trial": item.trial, "role": item.role, "kind": item.kind, "question": item.question}
        except TutorError as exc:
            raise gr.Error(public(str(exc))) from exc

    def practice_grade_api(item_id: str, answer: str, role: str, reveal: bool = False) -> dict:
        """Grade an answer: item_id, score, verdict, points (text, status), feedback, hint, citations, sources.
        reveal=True teaches every gap and returns the model answer."""
        try:
            return tutor.practice.grade(item_id, answer, role, reveal=bool(reveal)).model_dump()
        except TutorError as exc:
            raise gr.Error(public(str(exc))) from exc

    gr.api(practice_items_api, api_name="practice_items", queue=False)
    gr.api(practice_next_api, api_name="practice_next", queue=False)
    gr.api(practice_grade_api, api_name="practice_grade", concurrency_id=concurrency_id)
