"""The Practice tab's learner records: thumbs up or down on the grade on screen (a comment box after a thumbs
down), the session as Markdown and JSON downloads, and the API's /practice_feedback and /practice_export.

As in the chat, a database that is down or read-only costs the learner nothing on screen: the practice goes
on and a line says "feedback not saved: <cause>".
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import gradio as gr

from tutor import guard
from tutor.errors import DatabaseError, TutorError, public
from tutor.feedback import Records, new_session_id
from tutor.practice_records import Attempt, export_practice, grade_feedback, read_attempts, to_json, to_markdown
from tutor.records_page import EXPORTS, Controls, _said, comment_sender, feedback_box


def keep(session: dict, item_id: str, answer: str, grade) -> None:
    """Keep a grade in the practice session (for feedback and downloads) as the one on screen. Asking for the
    answer re-grades the same answer: that grade replaces the one before it rather than adding a try."""
    session["id"] = session.get("id") or new_session_id()
    graded = list(session.get("graded", []))
    entry = {"item_id": item_id, "answer": answer, "grade": grade.model_dump()}
    if graded and graded[-1]["item_id"] == item_id and graded[-1]["answer"] == answer and session.get("shown") is not None:
        graded[-1] = entry
    else:
        graded.append(entry)
    session["graded"] = graded
    session["shown"] = len(graded) - 1


@dataclass
class PracticeControls(Controls):
    """The chat's feedback controls, plus the grade's own thumbs (the chat's are the chatbot's)."""

    thumbs: gr.Row
    up: gr.Button
    down: gr.Button


def add_practice_controls() -> PracticeControls:
    """Below the grade: the thumbs (once there is a grade), what became of a rating, the comment box a thumbs
    down opens, and the session's downloads."""
    with gr.Row(visible=False, elem_id="tp-thumbs") as thumbs:
        gr.Markdown("Was this grade right?", elem_id="tp-thumbs-label")
        # Words, not emoji: the page must read the same where no emoji font is installed.
        up = gr.Button("Thumbs up: fair grade", size="sm", elem_id="tp-like", scale=0, min_width=170)
        down = gr.Button("Thumbs down: not right", size="sm", elem_id="tp-dislike", scale=0, min_width=170)
    status, box, comment, send = feedback_box("tp", "What was wrong with the grade? (optional; no names please)")
    with gr.Row():
        markdown = gr.DownloadButton("Download practice (Markdown)", elem_id="tp-download-md", size="sm",
                                     interactive=False)
        json = gr.DownloadButton("Download practice (JSON)", elem_id="tp-download-json", size="sm", interactive=False)
    return PracticeControls(comment_box=box, comment=comment, send=send, status=status, markdown=markdown, json=json,
                            thumbs=thumbs, up=up, down=down)


def _chunks(tutor) -> dict:
    return {c.id: c for c in tutor.retriever.chunks}


def wire_practice(controls: PracticeControls, records: Records, tutor, state: gr.State, specialty: gr.Textbox,
                  next_button: gr.Button) -> None:
    """The events: a thumb on the grade on screen, a comment, fresh downloads whenever a grade is kept, and
    the thumbs put away with the grade when the next question comes."""

    def not_saved(exc: TutorError) -> str:
        return f"⚠️ feedback not saved: {html.escape(public(str(exc)))}. Your practice is kept."

    def rate(session: dict, specialty_text: str, rating: str):
        shown = session.get("shown")
        if shown is None:
            return session, _said("Feedback is taken on a grade; submit an answer first."), gr.Column(visible=False)
        entry = session["graded"][shown]
        try:
            attempt = Attempt.model_validate(entry)
            stored = records.add(grade_feedback(attempt, tutor.practice.item(attempt.item_id), _chunks(tutor), rating,
                                                session_id=session["id"], turn=shown,
                                                specialty=guard.clean_specialty(specialty_text)))
        except TutorError as exc:
            return {**session, "said_for": shown}, _said(not_saved(exc)), gr.Column(visible=False)
        session = {**session, "said_for": shown}
        if rating == "up":
            return {**session, "pending": None}, _said("Thanks: your thumbs-up on this grade was saved."), \
                gr.Column(visible=False)
        return ({**session, "pending": stored.id},
                _said("Thanks: your thumbs-down was saved. What was wrong with the grade? A comment helps faculty fix it."),
                gr.Column(visible=True))

    send = comment_sender(records, not_saved, "Give the grade a thumbs-down first, then comment.")

    def refresh(session: dict):
        shown = session.get("shown")
        # A new grade (or a new question) clears what was said about the one before.
        quiet = (gr.skip(), gr.skip()) if shown is not None and session.get("said_for") == shown else \
            (_said(""), gr.Column(visible=False))
        graded = session.get("graded", [])
        if not graded:
            return (gr.Row(visible=False), gr.DownloadButton(value=None, interactive=False),
                    gr.DownloadButton(value=None, interactive=False), *quiet)
        exported = export_practice([Attempt.model_validate(g) for g in graded], tutor.practice.item, _chunks(tutor))
        folder = EXPORTS / session["id"]
        folder.mkdir(parents=True, exist_ok=True)
        md, js = folder / "trial-tutor-practice.md", folder / "trial-tutor-practice.json"
        md.write_text(to_markdown(exported), encoding="utf-8")
        js.write_text(to_json(exported), encoding="utf-8")
        return (gr.Row(visible=shown is not None), gr.DownloadButton(value=str(md), interactive=True),
                gr.DownloadButton(value=str(js), interactive=True), *quiet)

    outputs = [state, controls.status, controls.comment_box]
    controls.up.click(lambda s, sp: rate(s, sp, "up"), [state, specialty], outputs, api_visibility="undocumented")
    controls.down.click(lambda s, sp: rate(s, sp, "down"), [state, specialty], outputs, api_visibility="undocumented")
    for trigger in (controls.send.click, controls.comment.submit):
        trigger(send, [state, controls.comment], [*outputs, controls.comment], api_visibility="undocumented")
    # The next question (an unqueued event) set the state without firing its change event here: hide on the click.
    next_button.click(lambda: (gr.Row(visible=False), _said(""), gr.Column(visible=False)), None,
                      [controls.thumbs, controls.status, controls.comment_box], queue=False,
                      api_visibility="undocumented")
    state.change(refresh, state, [controls.thumbs, controls.markdown, controls.json, controls.status,
                                  controls.comment_box],
                 queue=False, trigger_mode="always_last", api_visibility="undocumented")


def add_api(tutor, records: Records) -> None:
    """/practice_feedback and /practice_export, stateless; call inside the page's Blocks."""

    def practice_feedback_api(item_id: str, answer: str, grade: dict, rating: str, comment: str = "",
                              session: str = "", turn: int | None = None, specialty: str = "") -> dict:
        """Thumbs "up" or "down" (and an optional comment) on a grade /practice_grade returned for `answer` to
        `item_id`. `session` is any anonymous id of the practice session (a new one when empty) and `turn` the
        grade's place in it: a second rating of the same session and turn replaces the first. Returns the
        stored record (kind "grade")."""
        try:
            [attempt] = read_attempts([{"item_id": item_id, "answer": answer, "grade": grade}])
            session_id = guard.clean("session", session, limit=guard.MAX_NAME, optional=True) or ""
            feedback = grade_feedback(attempt, tutor.practice.item(item_id), _chunks(tutor), rating, comment=comment,
                                      session_id=session_id, turn=turn, specialty=guard.clean_specialty(specialty))
            return records.add(feedback).model_dump(mode="json")
        except DatabaseError as exc:
            raise gr.Error(f"feedback not saved: {public(str(exc))}") from exc
        except TutorError as exc:
            raise gr.Error(public(str(exc))) from exc

    def practice_export_api(attempts: list) -> dict:
        """A practice session as the page's downloads give it: `attempts` is [{"item_id": "...", "answer": "...",
        "grade": {what /practice_grade returned}}]; returns {"markdown": text, "json": the same as data}, each
        missed point with its passage's text, trial and section."""
        try:
            exported = export_practice(read_attempts(attempts), tutor.practice.item, _chunks(tutor))
        except TutorError as exc:
            raise gr.Error(public(str(exc))) from exc
        return {"markdown": to_markdown(exported), "json": exported.model_dump(mode="json")}

    gr.api(practice_feedback_api, api_name="practice_feedback")
    gr.api(practice_export_api, api_name="practice_export", queue=False)
