"""Chat models behind one interface (langchain's BaseChatModel), so the chain never asks which.

- `offline`: a deterministic, grounded model. It reads the same messages an LLM would,
  picks the passage sentences that answer the question, frames them for the learner's
  role and specialty and cites them. It copies sentences verbatim, so every number it
  writes is in a passage. No network, no GPU: the default, and the eval model.
- `mock`: the simplest grounded baseline: the first passage, verbatim, cited as [1].
- `openai`: OpenAI or any OpenAI-compatible server (see `make_model`).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from tutor.errors import ConfigError
from tutor.grounding import NUMBER
from tutor.retrieve import _TOKEN, expand, heading_terms, tokenize
from tutor.roles import specialty_focus
from tutor.settings import Settings

NOT_COVERED = "The trial sources I teach from do not cover this question."

_PASSAGE = re.compile(r'<passage id="(\d+)"[^>]*section="([^"]*)"[^>]*>\n(.*?)\n</passage>', re.S)
_LEARNER = re.compile(r"<learner ([^>]*)/>")
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_QUESTION = re.compile(r"<question>\n(.*?)\n</question>", re.S)
_TASK = re.compile(r'<task kind="takeaways" count="(\d+)">(.*?)</task>', re.S)
_ABBREV = re.compile(r"(?:\bvs|\be\.g|\bi\.e|\bal|\bDr|\bmo|\bno|\bFig)\.$", re.I)
_NUMERIC_QUESTION = re.compile(
    r"\b(how many|how much|what (was|were|is|are) the (median|rate|dose|hazard|number|sample)|median|rate|"
    r"hazard|ratio|interval|dose|dosing|percent|%|months?|number|sample|size|how (large|big|long))\b", re.I
)


@dataclass
class Sentence:
    text: str
    passage: int
    rank: int
    tokens: set[str]


@dataclass
class Prompt:
    """What the offline model reads back out of the messages."""

    passages: list[tuple[int, str, str]]  # (n, section, text)
    learner: dict[str, str]
    question: str
    task_count: int = 0
    focus: list[str] | None = None


def parse_prompt(messages: list[BaseMessage]) -> Prompt:
    system = next((str(m.content) for m in messages if isinstance(m, SystemMessage)), "")
    human = next((str(m.content) for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    learner = {}
    if match := _LEARNER.search(system):
        learner = {k: html.unescape(v) for k, v in _ATTR.findall(match.group(1))}
    passages = [(int(n), html.unescape(sec), text) for n, sec, text in _PASSAGE.findall(human)]
    question = (m.group(1) if (m := _QUESTION.search(human)) else human).strip()
    prompt = Prompt(passages, learner, question)
    if task := _TASK.search(human):
        prompt.task_count = int(task.group(1))
        prompt.focus = re.findall(r"^\d+\. (.+)$", task.group(2), re.M)
    return prompt


def split_sentences(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("Question:"):
        # A discussion prompt asks rather than tells: keep only its key response, if any.
        text = text.split("Key response:", 1)[1] if "Key response:" in text else ""
    text = re.sub(r"^(Key response|Key result):\s*", "", text.strip())
    pieces = re.split(r"(?<=[.!?])\s+(?=[A-Z(])", text)
    sentences: list[str] = []
    for piece in pieces:
        if sentences and _ABBREV.search(sentences[-1]):
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return [s.strip() for s in sentences]


SUBJECT_BONUS = 1.5

# Trial abbreviations and what they stand for, so "HR" and "hazard ratio" match each other.
GLOSSARY = {
    "HR": "hazard ratio", "OS": "overall survival", "PFS": "progression-free survival",
    "CI": "confidence interval", "ORR": "objective response rate", "AE": "adverse event",
}
_GLOSSARY = [(re.compile(rf"\b{short}\b"), re.compile(rf"\b{long}\b", re.I), short, long)
             for short, long in GLOSSARY.items()]


def spell_out(text: str) -> str:
    """The text plus the long form of each abbreviation in it and the abbreviation of each long form."""
    extra = [long for short_re, _, _, long in _GLOSSARY if short_re.search(text)]
    extra += [short for _, long_re, short, _ in _GLOSSARY if long_re.search(text)]
    return " ".join([text, *extra])


def term_groups(text: str) -> list[set[str]]:
    """The text's words as groups of search terms: a hyphenated name ("T-DM1") and its parts
    form one group, so the name counts once, not once per part, when sentences are scored."""
    groups: list[set[str]] = []
    for word in _TOKEN.findall(text.lower()):
        group = set(tokenize(word))
        if group and group not in groups:
            groups.append(group)
    return groups


# Text in a passage that addresses the model rather than the reader: a prompt injection.
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|rules?|prompts?|passages?|context|guidelines)\b"
    r"|\bsystem prompt\b|\byou are now\b|\bnew instructions\b|\breveal\b.{0,40}\b(prompt|instructions)\b"
    r"|\b(assistants?|tutors?|models?|AI|chatbots?)\b.{0,30}\b(must|should|shall)\b.{0,15}"
    r"\b(say|state|answer|reply|respond|tell|print|write)\b",
    re.I | re.S,
)


def speaks_to_the_model(text: str) -> bool:
    return bool(_INSTRUCTION.search(text))


def is_fragment(sentence: str) -> bool:
    # Overlapping chunks start mid-sentence; discussion prompts ask rather than tell.
    return len(sentence) < 12 or not sentence[0].isupper() or sentence.endswith("?")


class OfflineTutorModel(BaseChatModel):
    """Deterministic, grounded, extractive answers: see the module docstring."""

    model_name: str = "offline"

    @property
    def _llm_type(self) -> str:
        return "trial-tutor-offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    # -- composing ----------------------------------------------------------------------

    def _sentences(self, prompt: Prompt) -> list[Sentence]:
        seen: set[str] = set()
        out: list[Sentence] = []
        for rank, (n, section, text) in enumerate(prompt.passages):
            if speaks_to_the_model(text):
                continue  # a passage that gives the tutor orders is not evidence: none of it is quoted
            for sentence in split_sentences(text):
                key = sentence.lower()
                if is_fragment(sentence) or key in seen:
                    continue
                seen.add(key)
                out.append(Sentence(sentence, n, rank, set(tokenize(spell_out(f"{section} {sentence}")))))
        return out

    @staticmethod
    def _scorer(sentences: list[Sentence]):
        df: dict[str, int] = {}
        for s in sentences:
            for t in s.tokens:
                df[t] = df.get(t, 0) + 1
        total = len(sentences) or 1

        def score(query: list[set[str]], s: Sentence) -> float:
            return sum(max((math.log(1 + total / df[t]) for t in group & s.tokens), default=0.0) for group in query)

        return score

    def compose(self, prompt: Prompt) -> str:
        if prompt.focus is not None:
            return self.compose_takeaways(prompt)
        learner = prompt.learner
        sentences = self._sentences(prompt)
        query = term_groups(spell_out(expand(prompt.question)))
        score = self._scorer(sentences)
        numeric = bool(_NUMERIC_QUESTION.search(prompt.question))
        # Passages whose own heading the question names ("TH3RESA", "Overall Survival") are its subject.
        terms = set().union(*query) if query else set()
        subject = {n for n, section, _ in prompt.passages if (h := heading_terms(section)) and h <= terms}
        ranked = []
        for s in sentences:
            relevance = score(query, s)
            if relevance <= 0:
                continue
            bonus = 0.3 * (len(prompt.passages) - s.rank) / max(len(prompt.passages), 1)
            if numeric and NUMBER.search(s.text):
                bonus += 1.0
            if s.passage in subject:
                bonus += SUBJECT_BONUS
            ranked.append((relevance + bonus, s))
        ranked.sort(key=lambda pair: -pair[0])
        # Keep sentences that answer about as well as the best one, not the stragglers.
        ranked = [(value, s) for value, s in ranked if value >= 0.4 * ranked[0][0]] if ranked else []
        if not ranked:
            return f"{NOT_COVERED} The passages retrieved for it do not answer it directly."
        points = max(1, int(learner.get("points", "3") or 3))
        chosen = [s for _, s in ranked[:points]]
        specialty = learner.get("specialty", "")
        extra = self._specialty_sentence(specialty, sentences, [], score)

        lead = learner.get("lead", "Answer")
        lines = [f"{lead}: {chosen[0].text} [{chosen[0].passage}]"]
        if len(chosen) > 1:
            lines.append("")
            lines.extend(f"- {s.text} [{s.passage}]" for s in chosen[1:])
        if specialty:
            lines.append("")
            if extra is not None and extra in chosen:
                lines.append(f"For {specialty}: the point above that matters most to your work is the one cited "
                             f"[{extra.passage}].")
            elif extra is not None:
                lines.append(f"For {specialty}: {extra.text} [{extra.passage}]")
            else:
                lines.append(f"For {specialty}: these passages say nothing specific to {specialty}; "
                             "the points above are what the trial reports.")
        if closing := learner.get("closing"):
            lines += ["", closing]
        return "\n".join(lines)

    def _specialty_sentence(self, specialty, sentences, chosen, score) -> Sentence | None:
        if not specialty:
            return None
        query = term_groups(specialty_focus(specialty))
        best = max(
            ((score(query, s), s) for s in sentences if s not in chosen), key=lambda pair: pair[0], default=(0, None)
        )
        return best[1] if best[0] > 0 else None

    def compose_takeaways(self, prompt: Prompt) -> str:
        sentences = self._sentences(prompt)
        score = self._scorer(sentences)
        specialty = prompt.learner.get("specialty", "")
        focus = list(prompt.focus or [])
        lines: list[str] = []
        used: list[Sentence] = []
        for item in focus:
            query = term_groups(expand(item))
            best = max(((score(query, s), s) for s in sentences if s not in used),
                       key=lambda pair: pair[0], default=(0, None))
            if best[1] is not None and best[0] > 0:
                used.append(best[1])
                lines.append(f"- {best[1].text} [{best[1].passage}]")
        if specialty and (extra := self._specialty_sentence(specialty, sentences, [], score)):
            line = f"- For {specialty}: {extra.text} [{extra.passage}]"
            if extra in used:  # already a takeaway: say why it matters to this learner
                lines[used.index(extra)] = line
            elif len(lines) < 5:
                lines.append(line)
            else:
                lines[-1] = line
        return "\n".join(lines) if lines else NOT_COVERED

    # -- BaseChatModel -------------------------------------------------------------------

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        text = self.compose(parse_prompt(messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop=None, run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        text = self.compose(parse_prompt(messages))
        for token in re.findall(r"\S+\s*|\s+", text):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk


class MockTutorModel(OfflineTutorModel):
    """Baseline for evals: the top passage verbatim, cited. Grounded, but not role-framed."""

    model_name: str = "mock"

    @property
    def _llm_type(self) -> str:
        return "trial-tutor-mock"

    def compose(self, prompt: Prompt) -> str:
        if not prompt.passages:
            return NOT_COVERED
        n, _, text = prompt.passages[0]
        if prompt.focus is not None:
            return "\n".join(f"- {t} [{n}]" for n, _, t in prompt.passages[: max(3, min(5, prompt.task_count))])
        return f"{text} [{n}]"


def make_model(settings: Settings) -> BaseChatModel:
    """The chat model the settings ask for."""
    if settings.model == "offline":
        return OfflineTutorModel()
    if settings.model == "mock":
        return MockTutorModel()
    if settings.model == "openai":
        from tutor.openai_backend import chat_model  # imported only when asked for

        return chat_model(settings)
    raise ConfigError(f"TUTOR_MODEL={settings.model!r} is unknown; use offline, mock or openai")


def model_label(model: BaseChatModel) -> str:
    return str(getattr(model, "model_name", None) or getattr(model, "model", None) or model._llm_type)
