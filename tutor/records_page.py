"""The page's learner records: thumbs up or down on an answer (a comment box after a thumbs down), the
conversation as Markdown and JSON downloads, and the API's /feedback and /conversation.

A database that is down or read-only costs the learner nothing on screen: the chat goes on and a line
says "feedback not saved: <cause>".
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from tutor.errors import DatabaseError, TutorError, public
from tutor.feedback import Feedback, Records, new_session_id
from tutor.schema import Answer
from tutor.transcript import Turn, export, read_turns, to_json, to_markdown

log = logging.getLogger(__name__)
EXPORTS = Path(tempfile.gettempdir()) / "trial-tutor-exports"


def open_records(settings, records: Records | None = None) -> Records:
    """The records of the settings' database, its schema brought up to date now if it can be (a database
    that is down at start-up is upgraded on first use once it is back)."""
    records = records or Records(settings)
    try:
        purged = records.open()
        if purged:
            log.info("purged %d feedback record(s) past TUTOR_FEEDBACK_RETENTION_DAYS", purged)
    except DatabaseError as exc:
        log.warning("learner records unavailable at start-up (%s): %s; the chat works, feedback waits for it",
                    records.where, exc)
    return records


def remember(session: dict, question: str, answer: Answer, trial: str | None, at: int) -> None:
    """Keep a finished answer in the session (for feedback and downloads); `at` is its place in the chat."""
    session["id"] = session.get("id") or new_session_id()
    session["turns"] = [*session.get("turns", []),
                        {"question": question.strip(), "answer": answer.model_dump(), "trial": trial or "", "at": at}]


def _turns(session: dict) -> list[Turn]:
    return [Turn(question=t["question"], answer=Answer.model_validate(t["answer"]), trial=t["trial"])
            for t in session.get("turns", [])]


@dataclass
class Controls:
    comment_box: gr.Column
    comment: gr.Textbox
    send: gr.Button
    status: gr.Markdown
    markdown: gr.DownloadButton
    json: gr.DownloadButton


def add_download_buttons() -> tuple[gr.DownloadButton, gr.DownloadButton]:
    """Inside the page's button row: the conversation as Markdown and as JSON (enabled once there is one)."""
    return (gr.DownloadButton("Download Markdown", elem_id="tt-download-md", size="sm", interactive=False),
            gr.DownloadButton("Download JSON", elem_id="tt-download-json", size="sm", interactive=False))


def feedback_box(prefix: str, placeholder: str) -> tuple[gr.Markdown, gr.Column, gr.Textbox, gr.Button]:
    """What became of a rating, and the comment box a thumbs down opens (ids `<prefix>-feedback`,
    `<prefix>-comment-box`, `<prefix>-comment`, `<prefix>-comment-send`)."""
    status = gr.Markdown("", elem_id=f"{prefix}-feedback", visible=False)
    with gr.Column(visible=False, elem_id=f"{prefix}-comment-box") as box:
        with gr.Row():
            comment = gr.Textbox(show_label=False, lines=1, max_lines=4, scale=5, elem_id=f"{prefix}-comment",
                                 placeholder=placeholder)
            send = gr.Button("Send comment", size="sm", scale=1, min_width=80, elem_id=f"{prefix}-comment-send")
    return status, box, comment, send


def add_controls(downloads: tuple[gr.DownloadButton, gr.DownloadButton]) -> Controls:
    """Below the chat: what became of a rating, and the comment box a thumbs down opens."""
    status, box, comment, send = feedback_box("tt", "What was wrong or unclear? (optional; no names please)")
    return Controls(box, comment, send, status, *downloads)


def _said(text: str) -> gr.Markdown:
    return gr.Markdown(text, visible=bool(text))


def comment_sender(records: Records, not_saved, first: str):
    """The "Send comment" handler of a feedback box: the comment joins the thumbs-down before it (the
    state's "pending" record); `first` is said when there is none yet."""

    def send(state: dict, text: str):
        if not state.get("pending"):
            return state, _said(first), gr.Column(visible=False), text
        try:
            records.comment(state["pending"], text)
        except TutorError as exc:
            return state, _said(not_saved(exc)), gr.Column(visible=True), text  # the comment stays, to send again
        return {**state, "pending": None}, _said("Thanks: your comment was saved."), gr.Column(visible=False), ""

    return send


def wire(controls: Controls, records: Records, chat: gr.Chatbot, session: gr.State) -> None:
    """The events: a thumb on an answer, a comment, and fresh downloads whenever the conversation changes."""
    from tutor.app import inline  # the page's own escaping of user text

    def not_saved(exc: TutorError) -> str:
        return f"⚠️ feedback not saved: {inline(public(str(exc)))}. Your conversation is kept."

    def rate(state: dict, like: gr.LikeData):
        turns = state.get("turns", [])
        number = next((n for n, t in enumerate(turns) if t["at"] == like.index), None)
        if number is None:
            return state, _said("Feedback is taken on answers; that message is not one."), gr.Column(visible=False)
        turn = turns[number]
        try:
            if like.liked not in (True, False):  # the thumb clicked again: the rating is taken back
                records.withdraw(state["id"], number)
                return {**state, "pending": None}, _said("Rating withdrawn."), gr.Column(visible=False)
            stored = records.add(Feedback.for_answer(
                turn["question"], Answer.model_validate(turn["answer"]), "up" if like.liked else "down",
                session_id=state["id"], turn=number, trial=turn["trial"] or None))
        except TutorError as exc:
            return state, _said(not_saved(exc)), gr.Column(visible=False)
        if like.liked:
            return {**state, "pending": None}, _said("Thanks: your thumbs-up was saved."), gr.Column(visible=False)
        return ({**state, "pending": stored.id},
                _said("Thanks: your thumbs-down was saved. What was wrong or unclear? A comment helps faculty fix it."),
                gr.Column(visible=True))

    send = comment_sender(records, not_saved, "Give an answer a thumbs-down first, then comment.")

    def downloads(state: dict):
        turns = _turns(state)
        if not turns:
            return (gr.DownloadButton(value=None, interactive=False), gr.DownloadButton(value=None, interactive=False),
                    _said(""), gr.Column(visible=False))
        folder = EXPORTS / state["id"]
        folder.mkdir(parents=True, exist_ok=True)
        conversation = export(turns)
        md, js = folder / "trial-tutor-conversation.md", folder / "trial-tutor-conversation.json"
        md.write_text(to_markdown(conversation), encoding="utf-8")
        js.write_text(to_json(conversation), encoding="utf-8")
        return (gr.DownloadButton(value=str(md), interactive=True), gr.DownloadButton(value=str(js), interactive=True),
                gr.skip(), gr.skip())

    chat.like(rate, session, [session, controls.status, controls.comment_box], api_visibility="undocumented")
    for trigger in (controls.send.click, controls.comment.submit):
        trigger(send, [session, controls.comment], [session, controls.status, controls.comment_box, controls.comment],
                api_visibility="undocumented")
    # Once per finished answer (and on a new conversation): the session's turns are what is exported.
    session.change(downloads, session, [controls.markdown, controls.json, controls.status, controls.comment_box],
                   queue=False, trigger_mode="always_last", api_visibility="undocumented")


def add_api(records: Records) -> None:
    """/feedback and /conversation, for scripts and other front ends; call inside the page's Blocks."""

    def feedback_api(question: str, answer: dict, rating: str, comment: str = "", session: str = "",
                     turn: int | None = None, trial: str = "") -> dict:
        """Thumbs "up" or "down" (and an optional comment) on an answer /ask returned for `question`. `session`
        is any anonymous id of the conversation (a new one when empty) and `turn` the answer's place in it: a
        second rating of the same session and turn replaces the first. Returns the stored record."""
        try:
            parsed = Answer.model_validate(answer)
        except Exception:
            raise gr.Error("answer must be the answer object /ask returned") from None
        try:
            return records.add(Feedback.for_answer(question, parsed, rating, comment, session, turn,
                                                   trial.strip() or None)).model_dump(mode="json")
        except DatabaseError as exc:
            raise gr.Error(f"feedback not saved: {public(str(exc))}") from exc
        except TutorError as exc:
            raise gr.Error(public(str(exc))) from exc

    def conversation_api(turns: list) -> dict:
        """A conversation as the page's downloads give it: `turns` is [{"question": "...", "answer": {what /ask
        returned}, "trial": ""}]; returns {"markdown": text, "json": the same as data}, every citation
        resolved to its passage's text, trial and section."""
        try:
            conversation = export(read_turns(turns))
        except TutorError as exc:
            raise gr.Error(public(str(exc))) from exc
        return {"markdown": to_markdown(conversation), "json": conversation.model_dump(mode="json")}

    gr.api(feedback_api, api_name="feedback")
    gr.api(conversation_api, api_name="conversation", queue=False)
