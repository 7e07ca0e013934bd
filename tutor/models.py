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
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from tutor.errors import ConfigError
from tutor.grounding import NUMBER
from tutor.retrieve import (
    TOKEN, abbreviations_in, americanise, expand, expanded_words, expansions, heading_terms, heading_words,
    is_follow_up, names_heading, query_words, spell_out, tokenize,
)
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
    trial: str | None = None  # a related trial the passage is about; None for the taught trial

    @property
    def quoted(self) -> str:
        """The sentence as it may be quoted: without its "Key result:" label, and a related
        trial's result saying which trial it is."""
        text = _LABEL.sub("", self.text)
        if self.trial and self.trial.lower() not in text.lower():
            return f"{self.trial} trial: {text}"
        return text


@dataclass
class Prompt:
    """What the offline model reads back out of the messages."""

    passages: list[tuple[int, str, str]]  # (n, section, text)
    learner: dict[str, str]
    question: str
    task_count: int = 0
    focus: list[str] | None = None
    previous: list[str] = field(default_factory=list)  # the learner's earlier questions, oldest first
    instructions: str = ""  # the system message: the role's depth and structure in words


def parse_prompt(messages: list[BaseMessage]) -> Prompt:
    system = next((str(m.content) for m in messages if isinstance(m, SystemMessage)), "")
    humans = [str(m.content) for m in messages if isinstance(m, HumanMessage)]
    human = humans[-1] if humans else ""
    learner = {}
    if match := _LEARNER.search(system):
        learner = {k: html.unescape(v) for k, v in _ATTR.findall(match.group(1))}
    passages = [(int(n), html.unescape(sec), text) for n, sec, text in _PASSAGE.findall(human)]
    question = (m.group(1) if (m := _QUESTION.search(human)) else human).strip()
    prompt = Prompt(passages, learner, question, previous=[h.strip() for h in humans[:-1]], instructions=system)
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
NAMED_TRIAL_BONUS = 2.0
EXPANSION_WEIGHT = 0.5  # words the question implies count half as much as the words it uses
# Measures, not subjects: a number next to "rate" alone does not answer "the rate of diarrhea".
GENERIC = frozenset(tokenize(
    "rate rates number numbers median months month percent percentage patients patient arm arms level "
    "result results value proportion figure figures data each both t-dm1 trastuzumab emtansine emilia drug"
))
_MENTION = re.compile(r"\b[A-Za-z][A-Za-z0-9]*-?[A-Z0-9][A-Za-z0-9-]*[A-Za-z0-9]\b")  # DESTINY-Breast03, TH3RESA
_TRIAL_HEADING = re.compile(r"^([A-Z][A-Za-z0-9-]*[A-Z0-9][A-Za-z0-9-]*) Trial\b")
_OTHER_TRIALS = re.compile(r"\b(other|related|similar|later|newer|subsequent|earlier|previous|landmark)\b"
                           r"[\w\s-]{0,25}\btrials?\b|\btrials\b", re.I)
_LABEL = re.compile(r"^(Key response|Key result):\s*")
# What learners ask about that a trial summary may not report: when the passages never mention
# it, the answer says so before giving the nearest evidence. (Ordinary words are not checked: a
# paraphrase like "apply" or "newer" is not a gap in the sources.)
CLINICAL_TOPICS = frozenset(tokenize(
    "cardiac cardiotoxicity heart lvef ejection cardiomyopathy neuropathy neurotoxicity nausea vomiting alopecia "
    "hair neutropenia anemia anaemia fatigue rash mucositis infusion brain cns leptomeningeal bone liver-metastases "
    "cost costs price prices reimbursement sponsor sponsored funding funded subgroup subgroups age elderly older "
    "younger men male pregnancy pregnant fertility biomarker biomarkers ctdna hormone-receptor estrogen-receptor "
    "mortality deaths discontinuation discontinued reduction reductions delay delays"
))
_EXPLAIN = re.compile(r"^\s*(how|why)\b|\bexplain\b|\bdescribe\b|\bmechanism\b|\bwhat makes\b", re.I)


def passage_trial(section: str) -> str | None:
    """"Clinical Landscape > MARIANNE Trial (2017)" -> "MARIANNE": the passage is about that trial."""
    match = _TRIAL_HEADING.match(section.split(" > ")[-1].strip())
    return match.group(1) if match else None

def term_groups(text: str) -> list[set[str]]:
    """The text's words as groups of search terms: a hyphenated name ("T-DM1") and its parts
    form one group, so the name counts once, not once per part, when sentences are scored."""
    groups: list[set[str]] = []
    for word in TOKEN.findall(text.lower()):
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


_FIGURE = "the figure or time point you name"


def _quote(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _is_statement(sentence: str) -> bool:
    """A sentence with a verb, roughly: more than a label or a list of endpoints."""
    return bool(re.search(r"\b(is|are|was|were|has|have|had|\w+ed|\w+es|\w+s)\b", sentence)) and len(sentence.split()) >= 6


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
            trial = passage_trial(section)
            for sentence in split_sentences(text):
                key = sentence.lower()
                if is_fragment(sentence) or key in seen:
                    continue
                seen.add(key)
                out.append(Sentence(sentence, n, rank, set(tokenize(spell_out(f"{section} {sentence}"))), trial))
        return out

    @staticmethod
    def _scorer(sentences: list[Sentence]):
        df: dict[str, int] = {}
        for s in sentences:
            for t in s.tokens:
                df[t] = df.get(t, 0) + 1
        total = len(sentences) or 1

        def score(query: list[tuple[set[str], float]], s: Sentence) -> float:
            return sum(weight * max((math.log(1 + total / df[t]) for t in group & s.tokens), default=0.0)
                       for group, weight in query)

        return score

    @staticmethod
    def _query(question: str, before: str | None) -> list[tuple[set[str], float]]:
        """The question's words at full weight, its measures ("rate", "median") at half; what its
        expansions add, and for a follow-up ("and the hazard ratio?") the words of the question
        `before` it, at half weight too."""
        spelled = spell_out(question)
        query = [(group, EXPANSION_WEIGHT if group <= GENERIC else 1.0) for group in term_groups(spelled)]
        implied = [(words, None) for words in expansions(spelled)]
        if before:
            spelled_before = spell_out(before)
            implied.append((spelled_before, EXPANSION_WEIGHT))
            implied += [(words, None) for words in expansions(spelled_before)]
        for words, weight in implied:
            groups = term_groups(words)
            # An expansion stands for a word or two of the question ("dosing" -> six dose words):
            # together its words weigh about what those words do.
            share = weight or min(1.0, 2 / max(len(groups), 1))
            query += [(g, share) for g in groups if all(g != q for q, _ in query)]
        return query

    @staticmethod
    def _unanswered(question: str, passages: list[tuple[int, str, str]]) -> list[str]:
        """The question's words that no passage mentions ("diarrhea rate", "5-year", "cardiac"):
        the passages cannot answer that part, and the answer must say so."""
        text = americanise(" ".join(f"{section} {body}" for _, section, body in passages).lower())
        known = set(tokenize(spell_out(text)))
        implied = expanded_words(question)
        missing = []
        for word in TOKEN.findall(americanise(question.lower())):
            tokens = set(tokenize(word))
            if any(ch.isdigit() for ch in word):
                if word not in text:
                    missing.append(_FIGURE)  # quoted as words: a number the sources lack is not repeated
            elif tokens & CLINICAL_TOPICS and not tokens & (known | implied):
                missing.append(f'"{word}"')
        return list(dict.fromkeys(missing))

    def compose(self, prompt: Prompt) -> str:
        if prompt.focus is not None:
            return self.compose_takeaways(prompt)
        learner = prompt.learner
        sentences = self._sentences(prompt)
        question = prompt.question
        follow_up = bool(prompt.previous) and is_follow_up(question)
        asked = f"{prompt.previous[-1]} {question}" if follow_up else question
        query = self._query(question, prompt.previous[-1] if follow_up else None)
        score = self._scorer(sentences)
        numeric = bool(_NUMERIC_QUESTION.search(question))
        # A number only answers when its sentence is about the question's subject, not just its measure
        # ("rate", "median"). The subject is what weighs in full: the question's own words and the short
        # expansions that translate them ("enrolled" -> sample); a long one ("dosing" -> six dose words,
        # a third each) is context, so "capecitabine" decides which dose answers.
        subject_words = [g for g, w in query if w == 1.0]
        # Passages whose own heading the question names ("TH3RESA", "Overall Survival") are its subject;
        # a one-word heading only by that word itself ("Comparator" is not named by "compare").
        terms = set().union(*(g for g, _ in query)) if query else set()
        implied = expand(spell_out(asked))
        words = query_words(implied)
        subject = {n for n, section, _ in prompt.passages
                   if names_heading(heading_terms(section), heading_words(section), terms, words)}
        # Related trials: the one the question names is its subject; the others are not the answer.
        trials = {s.trial for s in sentences if s.trial}
        named = {t for t in trials if re.search(rf"\b{re.escape(t)}\b", asked, re.I)}
        # Other names the question uses that few sentences carry ("DESTINY-Breast03"): those sentences are about it.
        mentioned = [name.lower() for name in _MENTION.findall(asked)
                     if 0 < sum(name.lower() in s.text.lower() for s in sentences) <= max(2, len(sentences) // 4)]
        about_others = bool(_OTHER_TRIALS.search(asked))
        ranked = []
        for s in sentences:
            relevance = score(query, s)
            if relevance <= 0:
                continue
            bonus = 0.3 * (len(prompt.passages) - s.rank) / max(len(prompt.passages), 1)
            if numeric and NUMBER.search(s.text) and (not subject_words or any(g & s.tokens for g in subject_words)):
                bonus += 1.0
            if s.passage in subject:
                bonus += SUBJECT_BONUS
            if any(name in s.text.lower() for name in mentioned):
                bonus += NAMED_TRIAL_BONUS / 2
            value = relevance + bonus
            if named:
                if s.trial in named:
                    value += NAMED_TRIAL_BONUS
                elif s.trial or not any(t.lower() in s.text.lower() for t in named):
                    value *= 0.2 if s.trial else 0.5
            elif s.trial and not about_others:
                value *= 0.3
            ranked.append((value, s))
        ranked.sort(key=lambda pair: -pair[0])
        # Keep sentences that answer about as well as the best one, not the stragglers.
        ranked = [(value, s) for value, s in ranked if value >= 0.4 * ranked[0][0]] if ranked else []
        if not ranked:
            return f"{NOT_COVERED} The passages retrieved for it do not answer it directly."
        points = max(1, int(learner.get("points", "3") or 3))
        chosen = [s for _, s in ranked[:points]]
        if _EXPLAIN.search(question):
            # "How does it work?" wants the explanation's thread: the best passage's sentences in order.
            thread = [s for s in sentences if s.passage == chosen[0].passage]
            start = thread.index(chosen[0])
            chosen = thread[start:start + points + 2]
            chosen += [s for _, s in ranked if s not in chosen][: max(0, points - len(chosen))]
        specialty = learner.get("specialty", "")

        lead = learner.get("lead", "Answer")
        opening = ""
        if missing := self._unanswered(question, prompt.passages):
            opening = (f"The trial sources say nothing about {_quote(missing)}, so they cannot answer that part; "
                        "the closest they come: ")
        lines = [f"{lead}: {opening}{chosen[0].quoted} [{chosen[0].passage}]"]
        if len(chosen) > 1:
            lines.append("")
            lines.extend(f"- {s.quoted} [{s.passage}]" for s in chosen[1:])
        if specialty:
            lines += ["", self._specialty_line(specialty, sentences, chosen, score)]
        if "define every abbreviation" in prompt.instructions.lower():
            if terms_used := abbreviations_in("\n".join(lines)):
                lines += ["", "Terms: " + "; ".join(f"{short} = {long}" for short, long in terms_used) + "."]
        if closing := learner.get("closing"):
            lines += ["", closing]
        return "\n".join(lines)

    def _specialty_sentence(self, specialty, sentences, chosen, score) -> Sentence | None:
        if not specialty:
            return None
        query = [(g, 1.0) for g in term_groups(specialty_focus(specialty))]
        best = max(
            ((score(query, s), s) for s in sentences if s not in chosen), key=lambda pair: pair[0], default=(0, None)
        )
        return best[1] if best[0] > 0 else None

    def _specialty_line(self, specialty, sentences, chosen, score) -> str:
        extra = self._specialty_sentence(specialty, sentences, [], score)
        if extra is None:
            return (f"For {specialty}: these passages say nothing specific to {specialty}; "
                    "the points above are what the trial reports.")
        if extra in chosen:
            return f"For {specialty}: the point above that matters most to your work is the one cited [{extra.passage}]."
        return f"For {specialty}: {extra.quoted} [{extra.passage}]"

    def compose_takeaways(self, prompt: Prompt) -> str:
        sentences = self._sentences(prompt)
        score = self._scorer(sentences)
        specialty = prompt.learner.get("specialty", "")
        focus = list(prompt.focus or [])
        lines: list[str] = []
        used: list[Sentence] = []
        for item in focus:
            query = [(g, 1.0) for g in term_groups(expand(item))]
            # A takeaway is a statement: a sentence that only names an endpoint ("Progression-free
            # survival (by independent review) and overall survival.") teaches nothing on its own.
            best = max(((score(query, s), s) for s in sentences if s not in used and _is_statement(s.text)),
                       key=lambda pair: pair[0], default=(0, None))
            if best[1] is not None and best[0] > 0:
                used.append(best[1])
                lines.append(f"- {best[1].quoted} [{best[1].passage}]")
        if specialty and (extra := self._specialty_sentence(specialty, sentences, [], score)):
            line = f"- For {specialty}: {extra.quoted} [{extra.passage}]"
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
