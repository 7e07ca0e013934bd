"""The rules every user-supplied field passes before it reaches the tutor or a prompt.

One function, `clean`, checks a field's type and length and applies one character rule to all of
them: control characters (NUL, escape sequences, the C1 range), text-direction overrides and isolates,
and unpaired surrogates are refused, naming the character and where it is; line breaks and tabs are
allowed only in the fields that may span lines (a question, a turn of history). `clean_history` bounds a
conversation by turns and characters before a single turn is read. `for_prompt` escapes a field for an
attribute or a line of a prompt; `escape_block` keeps text inside a prompt block from closing or opening one.
`speaks_to_the_model` tells text that gives the tutor orders (in a passage or a question) from text for the reader.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

from tutor.errors import InputError

MAX_QUESTION = 2000
MAX_SPECIALTY = 100
MAX_NAME = 200  # a role's or a trial's name

# Bidirectional formatting: embeddings, overrides, isolates and the marks that reorder text as shown.
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = frozenset("\n\r\t")
# A specialty is a name ("cardio-oncology", "hematology/oncology", "nurse practitioner (NP)"): letters,
# digits, spaces and a few joining marks; nothing that quotes, tags or templates.
_SPECIALTY = re.compile(r"[\w\s\-/&,.'’()+]*")

# The prompt's own blocks (prompting.py): text inside one must not open or close any of them.
_BLOCK_TAG = re.compile(r"<(?=\s*/?\s*(?:passage|context|question|task|learner)\b)", re.I)


def _refused(value: str, multiline: bool) -> tuple[int, str] | None:
    """The first character the rule refuses, with its position, or None."""
    for i, ch in enumerate(value):
        if ch in LINE_BREAKS:
            if multiline:
                continue
            return i, ch
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs") or ch in BIDI:
            return i, ch
    return None


def _describe(ch: str) -> str:
    name = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", "\x00": "a NUL character",
            "\x1b": "an escape character"}.get(ch)
    if name:
        return f"{name} (U+{ord(ch):04X})"
    try:
        return f"U+{ord(ch):04X} {unicodedata.name(ch)}"
    except ValueError:
        return f"the control character U+{ord(ch):04X}"


def clean(field: str, value, *, limit: int, multiline: bool = False, optional: bool = False,
          fix: str = "") -> str | None:
    """A user-supplied field, checked: a string, not blank (unless optional: then None), at most `limit`
    characters, and free of the characters the rule refuses. Returns it stripped; raises an InputError
    that names the field, the problem and the fix."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if optional:
            return None
        raise InputError(f"the {field} is empty; {fix or 'fill it in'}")
    if not isinstance(value, str):
        raise InputError(f"the {field} must be text, not {_kind(value)}")
    if len(value) > limit:
        raise InputError(f"the {field} is {len(value)} characters; keep it to {limit} or fewer")
    bad = _refused(value, multiline)
    if bad is not None:
        where, ch = bad
        what = "control characters (such as newlines or tabs)" if ch in LINE_BREAKS else _describe(ch)
        raise InputError(f"the {field} contains {what} at character {where + 1}; use plain text")
    return value.strip()


def _kind(value) -> str:
    return {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)


def clean_question(question) -> str:
    return clean("question", question, limit=MAX_QUESTION, multiline=True, fix="type a question about the trial")


def clean_specialty(specialty) -> str | None:
    value = clean("specialty", specialty, limit=MAX_SPECIALTY, optional=True)
    if value is not None and not _SPECIALTY.fullmatch(value):
        odd = next(ch for ch in value if not _SPECIALTY.fullmatch(ch))
        raise InputError(f"the specialty contains {odd!r}; name a specialty in letters, digits, spaces and - / & , . ' ( ) +")
    return value


def clean_name(field: str, value, optional: bool = False) -> str | None:
    """A role or a trial as a user names it (whether it exists is the caller's to say)."""
    return clean(field, value, limit=MAX_NAME, optional=optional, fix=f"choose a {field}")


def clean_history(history, max_turns: int, max_chars: int) -> list[dict]:
    """A conversation as [{"role": "user"|"assistant", "content": "text"}], bounded before any turn is
    read: at most `max_turns` turns and `max_chars` characters of content in all."""
    if history is None or history == []:
        return []
    shape = 'history must be a list of {"role": "user" or "assistant", "content": "text"}'
    if not isinstance(history, list):
        raise InputError(f"{shape}, not {_kind(history)}")
    if len(history) > max_turns:
        raise InputError(f"the history has {len(history)} turns; send at most the last {max_turns} "
                         "(TUTOR_MAX_HISTORY_TURNS)")
    total = 0
    for turn in history:
        if not (isinstance(turn, dict) and turn.get("role") in ("user", "assistant")
                and isinstance(turn.get("content"), str)):
            raise InputError(shape)
        total += len(turn["content"])
        if total > max_chars:
            raise InputError(f"the history holds more than {max_chars} characters; send only the latest turns "
                             "(TUTOR_MAX_HISTORY_CHARS)")
    cleaned = []
    for n, turn in enumerate(history, 1):
        if clean(f"history turn {n}", turn["content"], limit=max_chars, multiline=True, optional=True) is not None:
            cleaned.append({"role": turn["role"], "content": turn["content"]})  # as written: checked, not changed
    return cleaned


def recent(history: Iterable[dict], max_turns: int, max_chars: int) -> list[dict]:
    """The newest turns of a conversation that fit the bounds (the page keeps its own history this way)."""
    kept: list[dict] = []
    total = 0
    for turn in reversed(list(history)):
        total += len(turn.get("content") or "")
        if len(kept) >= max_turns or total > max_chars:
            break
        kept.append(turn)
    kept.reverse()
    while kept and kept[0].get("role") != "user":  # a conversation starts with a question
        kept.pop(0)
    return kept


def for_prompt(value: str | None) -> str:
    """A field as it may stand in a prompt's attribute or line: no quote, tag or entity can act there."""
    return html.escape(value or "", quote=True)


def escape_block(text: str) -> str:
    """Text for the inside of a prompt block: '<passage', '</question' and the like become '<\\passage',
    '<\\/question', so a question or a passage can neither close its block nor open a new one."""
    return _BLOCK_TAG.sub("<\\\\", text)


# Text that addresses the model rather than the reader (a prompt injection), in a passage or a question.
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override|drop|ditch|abandon|bypass|set aside|throw out)\b.{0,40}"
    r"\b(instructions?|rules?|prompts?|passages?|context|guidelines)\b"
    r"|\bsystem prompt\b|\b(system|admin|developer|debug) (override|mode)\b|\byou are now\b"
    r"|\b(repeat|print|output|echo|copy)\b.{0,40}\b(everything (above|before)|all (of )?(the )?(text )?above|above this|"
    r"verbatim|word for word|from the (very )?first line)|\bnew instructions\b|\breveal\b.{0,40}\b(prompt|instructions)\b"
    r"|\b(assistants?|tutors?|models?|AI|chatbots?)\b.{0,30}\b(must|should|shall)\b.{0,15}"
    r"\b(say|state|answer|reply|respond|tell|print|write)\b",
    re.I | re.S,
)


def speaks_to_the_model(text: str) -> bool:
    return bool(_INSTRUCTION.search(text))
