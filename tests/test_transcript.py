"""The conversation a learner downloads: every citation of every answer resolved to its passage."""

from __future__ import annotations

import json

import pytest

from tutor.errors import InputError
from tutor.transcript import Turn, cited_numbers, export, read_turns, to_json, to_markdown

QUESTIONS = ["What was the median progression-free survival with T-DM1?",
             "and the hazard ratio?",
             "How did DESTINY-Breast03 compare T-DXd with T-DM1?"]


@pytest.fixture(scope="module")
def conversation(tutor):
    """Three turns as the page asks them: the second is a follow-up read with the first."""
    history, turns = [], []
    for question in QUESTIONS:
        answer = tutor.ask(question, "fellow", None, history)
        turns.append(Turn(question=question, answer=answer))
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]
    return turns


def test_markdown_holds_every_citation_resolved_to_its_passage(conversation, tutor):
    markdown = to_markdown(export(conversation))
    passages = {c.id: c for c in tutor.retriever.chunks}
    for n, turn in enumerate(conversation, 1):
        assert f"## {n}. {turn.question}" in markdown
        assert turn.answer.answer.strip() in markdown
        numbers = cited_numbers(turn.answer)
        assert numbers, turn.answer.answer  # each of these answers cites
        for number in numbers:
            source = turn.answer.sources[number - 1]
            passage = passages[source.id]  # the store's own text, not the answer's copy
            assert f"**[{number}] {passage.trial} › {passage.section}**" in markdown
            assert "\n".join("> " + line if line.strip() else ">" for line in passage.text.strip().splitlines()) \
                in markdown
    assert "not medical advice" in markdown


def test_json_is_the_same_conversation_as_data(conversation):
    data = json.loads(to_json(export(conversation)))
    assert [t["question"] for t in data["turns"]] == QUESTIONS
    for turn, exported in zip(conversation, data["turns"]):
        assert exported["answer"] == turn.answer.answer and exported["role"] == "fellow"
        assert [c["n"] for c in exported["citations"]][:len(cited_numbers(turn.answer))] == cited_numbers(turn.answer)
        for citation in exported["citations"]:
            source = turn.answer.sources[citation["n"] - 1]
            assert (citation["id"], citation["text"], citation["trial"], citation["section"]) == (
                source.id, source.text, source.trial, source.section)


def test_the_api_s_turns_are_checked():
    with pytest.raises(InputError, match="turns must be a list"):
        read_turns({"question": "x"})
    with pytest.raises(InputError, match=r"turns\[0\]\.answer: Field required"):
        read_turns([{"question": "x"}])
