"""The offline model's composer: a grounded, extractive answer from the messages an LLM would read.

It picks the passage sentences that answer the question, frames them for the learner's role and
specialty and cites them. It copies sentences verbatim, so every number it writes is in a passage.
Everything it knows comes from the messages: the passages (with their trial and part of the page),
the question (with its intent and the trials it is about) and the learner profile.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from tutor.grounding import NUMBER
from tutor.guard import speaks_to_the_model
from tutor.lexicon import (
    DOSE, STOPWORDS, TOKEN, abbreviations_in, americanise, base_glossary, canonical, directions, doses_in, effect_frame,
    effect_words, everyday, expand, expanded_words, expansions, figures, learn_abbreviations, measures, name_pattern,
    phrasing, spell_out, term_groups, tokenize, topics,
)
from tutor.retrieve import asks_gist, heading_terms, heading_words, is_follow_up, names_heading, query_words

NOT_COVERED = "The trial sources I teach from do not cover this question."

_PASSAGE = re.compile(r"<passage id=\"(\d+)\"([^>]*)>\n(.*?)\n</passage>", re.S)
_LEARNER = re.compile(r"<learner ([^>]*)/>")
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_QUESTION = re.compile(r"<question([^>]*)>\n(.*?)\n</question>", re.S)
_TASK = re.compile(r'<task kind="takeaways" count="(\d+)"([^>]*)>(.*?)</task>', re.S)
_ABBREV = re.compile(r"(?:\bvs|\be\.g|\bi\.e|\bal|\bDr|\bmo|\bno|\bFig)\.$", re.I)
_NUMERIC_QUESTION = re.compile(
    r"\b(how many|how much|what (was|were|is|are) the (median|rate|dose|hazard|number|sample)|median|rate|"
    r"hazard|ratio|interval|dose|dosing|percent|%|months?|number|sample|size|how (large|big|long))\b", re.I
)
_LABEL = re.compile(r"^(Key response|Key result):\s*")
_EXPLAIN = re.compile(r"^\s*(how|why)\b|\bexplain\b|\bdescribe\b|\bmechanism\b|\bwhat makes\b", re.I)
_OTHER_TRIALS = re.compile(r"\b(other|related|similar|later|newer|subsequent|earlier|previous|landmark)\b"
                           r"[\w\s-]{0,25}\btrials?\b|\btrials\b", re.I)
_COMPARING = re.compile(r"\b(?:compar\w*|versus|vs|contrast\w*|differ\w*)\b", re.I)
SUBJECT_BONUS = 1.5
NAMED_TRIAL_BONUS = 2.0
QUOTED_FIGURE_BONUS = 2.0  # a sentence giving the very figure the question quotes ("what does the 12.5% mean?")
# A sentence giving the subject's figures, when the question asks for a result in any words ("is the new pill safer
# for bleeding?"); a figure asked for outright ("what was the rate ...") weighs 1.0. Small: it settles near ties
# between a figure and a sentence of words, not a counsellor's reasoning against a finding.
RESULT_FIGURE_BONUS = 0.3
FIGURE_SHARE = 0.8  # side by side, a trial's sentence with a figure leads when it scores this share of its best
INTENT_BONUS = 1.0  # a sentence from the part of the page the question's intent asks for
EXPANSION_WEIGHT = 0.5  # words the question implies count half as much as the words it uses
# The lead: among the sentences chosen by their words, the one whose meaning is nearest the question's,
# this much cosine weighing as much as the best sentence's whole word score (set on the dev and tune
# splits together, 234 cases: 1.0 led right in 0.705 of them, 2.0 in 0.701, none in 0.667).
LEAD_MEANING = 1.0
# The page's own answer: a guided-discussion question for the learner's role this near the question in meaning
# asks the same thing, and its key response joins the answer (set at 0.6 before measuring and kept: 37 pages' facts
# 0.8110 -> 0.8177, no lead changed).
PAGE_ANSWER = 0.6
_FIGURE = "the figure or time point you name"
# A question that asks for a figure, and a figure in a sentence (not the digits of a name like "X-DM1").
_ASKS_FIGURE = re.compile(r"\b(rates?|median|how (many|long|often|much|common|frequent\w*|likely)|incidence|what (fraction|proportion|percentage|share)|"
                          r"percent\w*|proportion|figures?|numbers?|scores?|hazard ratio|by arm|in each arm|each arm)\b")
# Asking what a treatment did to something ("did it lower NT-proBNP?", "any effect on ...")
_ASKS_EFFECT = re.compile(r"\b(?:lower|lowered|reduce|reduced|improve|improved|increase|increased|raise|raised|change|changed|"
                          r"affect|affected|decrease|decreased|effect|effects|impact)\b", re.I)
# a time point, its number before its unit ("12-month", "at 2 years") or after it ("week 12", "wk 52", "month 8"; not
# a range, "days 1-14", nor a calendar year, "year 2019")
_TIME_POINT = re.compile(r"\b(\d+(?:\.\d+)?)[\s-]*(day|week|wk|month|year)s?\b"
                         r"|\b(day|week|wk|month|year)s?[\s-]*(\d{1,3})\b(?![\s-]*(?:day|week|wk|month|year|[-\u2013]\s*\d|to\s+\d))",
                         re.I)


# Shorthand for a time point: "90d", "6mo", "2y", "12wk" is "90-day", "6-month", "2-year", "12-week".
_SHORT_TIME = re.compile(r"^(\d+)-?(d|days?|mo|mos|months?|m|y|yrs?|years?|w|wks?|weeks?)$")
_UNIT = {"d": "day", "m": "month", "y": "year", "w": "week"}
# A time point written apart from its number, or two sharing one unit: "at 2 or 3 yrs" asks for "2yrs" and "3yrs".
_SPACED_TIME = re.compile(r"(?<![\d.,])\b(\d+)(?:\s*(?:or|and|to|-|–)\s*(\d+))?\s+"
                          r"(days?|mos?|months?|yrs?|years?|wks?|weeks?)\b", re.I)


def _fuse_times(text: str) -> str:
    return _SPACED_TIME.sub(lambda m: " or ".join(n + m.group(3) for n in m.groups()[:2] if n), text)


def _is_age(word: str, question: str) -> bool:
    """"an 80yo", "a 72-year-old woman", "my 79 year old mother", "an 80-something", "in her 80s": one person's age,
    the learner's patient described,
    not a figure asked of the trial ("patients 65 years or older" is a subgroup, and asked)."""
    number = re.escape(re.match(r"\d+", word).group())
    return bool(re.search(rf"\b(?:an?|my|her|his|this|our|your)\s+{number}\s*-?\s*"
                          rf"(?:yo\b|y/o\b|(?:years?|yrs?|y)[\s-]*old\b|-?something\b|-?ish\b|s\b)", question, re.I)
                or re.search(rf"\b(?:in (?:her|his|their) (?:early |late |mid-?)?){number}s\b", question, re.I))


# A question's own asking words: a note without any ("ICC?") names only what it asks of
_ASKING = re.compile(r"\b(?:what|which|who|whom|when|where|why|how|did|does|do|is|are|was|were|can|could|should|would|"
                     r"tell|explain|describe|define|summari[sz]e|find|found|show|showed|mean|means|compare)\b", re.I)


def _terse(question: str, arms: frozenset[str] = frozenset()) -> bool:
    """A note of a word or two that names what it asks of, and no asking word ("ICC?", "SSI rates?", "median
    f/u?"): it asks for the figure, as a learner's note does, not for an explanation."""
    words = set(tokenize(question)) - phrasing() - arms
    return 0 < len(words) <= 2 and not _ASKING.search(question) and len(question.split()) <= 4


def _figure_in(word: str, text: str) -> bool:
    """Do the sources give the figure a question writes ("12-month", "90d", "88-92%")? A time point in
    shorthand as its long form; a range by both its ends. A code with a digit ("O2", "HER2") is a name,
    not a figure: the caller passes words that start with a digit."""
    if word in text:
        return True
    if short := _SHORT_TIME.match(word):
        number, unit = int(short.group(1)), _UNIT[short.group(2)[0]]
        # the same time in another unit: "2 years" is the page's "24 months", "1 year" its "52 weeks"
        same = [(number, unit)] + {"year": [(number * 12, "month"), (number * 52, "week")],
                                   "month": [(number // 12, "year")] if number % 12 == 0 else []}.get(unit, [])
        return any(re.search(rf"\b{n}[- ]{u}s?\b|\b{u}s? {n}\b", text) for n, u in same)
    if unit := re.fullmatch(r"(\d+(?:\.\d+)?)([a-z][a-z/]*)", word):  # "80mg" as the page's "80 mg"
        return bool(re.search(rf"(?<![\d.]){re.escape(unit.group(1))}[\s-]?{re.escape(unit.group(2))}(?![a-z])", text))
    if ends := re.fullmatch(r"(\d+(?:\.\d+)?)(%?)[-–](\d+(?:\.\d+)?)(%?)", word):
        low, high, percent = ends.group(1), ends.group(3), ends.group(2) or ends.group(4)
        return all(re.search(rf"(?<![\d.]){re.escape(n)}{re.escape(percent)}(?![\d])", text) for n in (low, high))
    return False


def _time_points(text: str) -> set[tuple[str, str]]:
    """("12", "month") for "12-month", "at 12 months", "month 12"."""
    return {(n or m, (unit or before).lower().replace("wk", "week"))
            for n, unit, before, m in _TIME_POINT.findall(text)}


_NUMBER = re.compile(r"(?<![\w\-.])\d+(?:\.\d+)?(?![\w\-])")
_PRECISE = re.compile(r"\d\.\d|\d\s?%")  # a figure as the page states it: a decimal or a percentage
_SUMMARIES = ("bottom_line", "significance", "history")  # the parts of a page that sum it up in words


@lru_cache(maxsize=1)
def _direction_words() -> frozenset[str]:
    """The lexicon's words for which way a result went ("better", "beat", "fewer")."""
    return frozenset(t for word in directions() for t in tokenize(word))


def _result_topic(question: str, arms: frozenset[str]) -> set[str]:
    """The words a question about a result names its topic by: its uncommon words ("platelets", "dialysis"), not its
    treatments' names, its measures, its phrasing ("patients"), nor the effect or direction asked about ("better")."""
    return {t for t in tokenize(question) if not everyday(t, 5.0)} - measures() - phrasing() - arms \
        - effect_words() - _direction_words()


# A yes-or-no question about what a treatment did ("is the new pill safer for bleeding?", "did it work as well as
# the usual drug?", "does it cause fewer bleeds?"): the result, with its figures, answers it first.
# (asked first, or after a clause that frames it: "In plain words, did it ...?", "explain like I'm 5 - did it ...?")
_ASKS_RESULT = re.compile(r"(?:^|[:;,]|\s[-\u2013]\s)\W*(?:(?:so|and|but|ok|okay)\W+)?(?:is|are|was|were|did|does|do|has|"
                          r"have|had|can|could)\b"
                          r"(?=.*\b(?:safer|better|worse|fewer|less|more|higher|longer|shorter|reduc\w*|improv\w*|"
                          r"cut|work(?:s|ed)?|help(?:s|ed)?|prevent\w*|caus\w*|lower\w*|rais\w*|increas\w*|"
                          r"decreas\w*|as well as|beat|keep|kept|stop(?:s|ped|ping)?\b(?!\s+early)|avoid(?:s|ed)?|"
                          r"clear(?:s|ed)?|protect\w*|spar(?:e|ed|es)|shorten\w*)\b)", re.I)
FIGURE_REACH = 6  # at most this many words from a figure to what it measures ("infection (8.6% vs. 1.0%)")
_STATES_FIGURE = re.compile(r"\d\.\d|\d\s?%|\d,\d{3}|\d{2,}|\d:\d")  # a figure, not a label's digit ("grade 3", "0 or 1")
_RESULT_FIGURE = re.compile(r"\d\.\d|\d\s?%")  # a rate, a share or an estimate; not a count ("in 9,046 patients")
_ESTIMATE = re.compile(r"\b(?:CI|confidence interval|P\s?[=<>]|hazard|odds|risk|rate ratio|difference)\b", re.I)
_ROUNDED = re.compile(r"\b(\d+|one|two|three) (in|out of) (\d+|ten|a hundred)\b", re.I)


# A dose ("80 mg", "3.6 mg/kg") names an arm, as its drug does: it is no figure of a result, unless a dose is asked.
_ASKS_DOSE = re.compile(r"\bdos(?:e|es|ing|ed)\b|\bhow much\b|\bregimens?\b|\bschedul|\bmg\b|\bstrength", re.I)


def _states_figure(text: str, doses: bool = False) -> bool:
    """Does the text state a figure (a dose only when `doses` are asked for)?"""
    return bool(_STATES_FIGURE.search(text if doses else DOSE.sub(" ", text)))


def _figure_of(text: str, subject: set[str], doses: bool = False, figure: re.Pattern = _STATES_FIGURE) -> bool:
    """Does the text state a figure (of the `figure` kind) within FIGURE_REACH words of a word of the subject?"""
    words = (text if doses else DOSE.sub("dose", text)).split()
    figures = [i for i, w in enumerate(words) if figure.search(w)]
    if not figures or not subject:
        return False
    near = [i for i, w in enumerate(words) if subject & set(tokenize(w))]
    return any(abs(i - j) <= FIGURE_REACH for i in near for j in figures)


def _rounds(text: str) -> bool:
    """Gives its figures as a layman reads them ("36 in 100"), and none as the page states it."""
    return bool(_ROUNDED.search(text)) and not _PRECISE.search(text)


def _concern_weights(focus: str) -> list[tuple[set[str], float]]:
    """A specialty's concerns as search terms, the first (its core) weighing most: a gastroenterologist's
    "diarrhea" before the "transaminases" it shares with hepatology."""
    return [(g, 1 / (1 + 0.1 * i)) for i, g in enumerate(term_groups(focus))]


@dataclass
class Passage:
    n: int
    section: str
    text: str
    trial: str = ""  # the page it is from
    about: str = ""  # the trial it is about (a related trial, for a summary of one)
    kind: str = ""
    primary: bool = False  # the page's first key finding: its primary result
    role: str = ""  # a guided-discussion passage: the role it was written for
    asks: str = ""  # a guided-discussion passage: the question its key response answers

    @property
    def summary(self) -> bool:
        """A summary of another trial on this trial's page."""
        return bool(self.about and self.trial and self.about != self.trial)


@dataclass
class Sentence:
    text: str
    passage: Passage
    rank: int
    tokens: set[str]

    @property
    def n(self) -> int:
        return self.passage.n

    def quoted(self, name_trial: bool = False) -> str:
        """The sentence as it may be quoted: without its "Key result:" label; a related trial's result
        (or, with `name_trial`, any trial's) saying which trial it is."""
        text = _LABEL.sub("", self.text)
        about = self.passage.about
        if about and (self.passage.summary or name_trial) and not name_pattern(about).search(text):
            return f"{about}: {text}"
        return text


@dataclass
class Prompt:
    """What the offline model reads back out of the messages."""

    passages: list[Passage]
    learner: dict[str, str]
    question: str
    intent: str = ""
    kinds: str = ""  # the page parts (chunk kinds) that answer the intent, space-separated
    trials: list[str] = field(default_factory=list)
    lens: str = ""
    arms: frozenset[str] = frozenset()  # the words that name the trials' treatments
    task_count: int = 0
    focus: list[str] | None = None
    previous: list[str] = field(default_factory=list)  # the learner's earlier questions, oldest first
    instructions: str = ""  # the system message: the role's depth and structure in words
    primary: bool = False  # asks for the effect without naming an outcome: the primary result leads
    unnamed: list[str] = field(default_factory=list)  # drugs the question names that the trials' pages never do


def parse_prompt(messages: list[BaseMessage]) -> Prompt:
    system = next((str(m.content) for m in messages if isinstance(m, SystemMessage)), "")
    humans = [str(m.content) for m in messages if isinstance(m, HumanMessage)]
    human = humans[-1] if humans else ""
    learner = {}
    if match := _LEARNER.search(system):
        learner = {k: html.unescape(v) for k, v in _ATTR.findall(match.group(1))}
    passages = []
    for n, attributes, text in _PASSAGE.findall(human):
        attrs = {k: html.unescape(v) for k, v in _ATTR.findall(attributes)}
        passages.append(Passage(int(n), attrs.get("section", ""), text, attrs.get("trial", ""), attrs.get("about", ""),
                                attrs.get("kind", ""), attrs.get("primary") == "true", attrs.get("role", ""),
                                attrs.get("asks", "")))
    question, attrs = human.strip(), {}
    if match := _QUESTION.search(human):
        question = match.group(2).strip()
        attrs = {k: html.unescape(v) for k, v in _ATTR.findall(match.group(1))}
    prompt = Prompt(passages, learner, question, intent=attrs.get("intent", ""), kinds=attrs.get("kinds", ""),
                    trials=[t for t in attrs.get("trials", "").split("; ") if t], lens=attrs.get("lens", ""),
                    previous=[h.strip() for h in humans[:-1]], instructions=system,
                    arms=frozenset(attrs.get("arms", "").split()), primary=attrs.get("asks") == "primary result",
                    unnamed=attrs.get("unnamed", "").split())
    if task := _TASK.search(human):
        prompt.task_count = int(task.group(1))
        prompt.lens = dict(_ATTR.findall(task.group(2))).get("lens", "")
        prompt.focus = re.findall(r"^\d+\. (.+)$", task.group(3), re.M)
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


def is_fragment(sentence: str) -> bool:
    # Overlapping chunks start mid-sentence; discussion prompts ask rather than tell.
    return len(sentence) < 12 or not sentence[0].isupper() or sentence.endswith("?")


def _quote(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _names_a_page(s: Sentence) -> bool:
    """The title of a page, or the line that opens a related trial's summary ("Summary from ...")."""
    return s.passage.kind in ("publication", "related") and s.passage.text.startswith(s.text)


def _only_names(s: Sentence) -> bool:
    """A line that names a page and says nothing else: a title, or a related trial's opening line without
    its year, size and journal (which are facts)."""
    return _names_a_page(s) and (s.passage.kind == "publication" or not NUMBER.search(s.text))


def _is_statement(sentence: str) -> bool:
    """A sentence with a verb, roughly: more than a label or a list of endpoints."""
    return bool(re.search(r"\b(is|are|was|were|has|have|had|\w+ed|\w+es|\w+s)\b", sentence)) and len(sentence.split()) >= 6


def _primary_first(chosen: list[Sentence], reserve: list[Sentence], question: str = "") -> list[Sentence]:
    """Asked for the effect without an outcome named ("the HR vs placebo?"), the primary result answers first
    (`_primary_result`), chosen already or taking the last place; not one of another dose than the question names
    ("HR for 40mg?" when the primary result is the 80 mg arm's)."""
    found = _primary_result([*chosen, *reserve], doses_in(question))
    if found is None:
        return chosen
    rest = [s for s in chosen if s is not found]
    return [found] + (rest if found in chosen else rest[:-1])


def _primary_result(candidates: list[Sentence], doses: set[str] = frozenset()) -> Sentence | None:
    """The sentence of the primary result that states it: of the candidates from the primary finding with a
    figure (and every dose in `doses`), the first in the page's order that gives an estimate, else the first. Not
    a sensitivity analysis that shares the question's words ("a per-protocol analysis gave a similar result"), nor
    the count of who took part ("Of 18,462 adults ...")."""
    pool = list({id(s): s for s in candidates}.values())  # a sentence may be among them twice
    results = [s for s in pool if s.passage.primary and _states_figure(s.text) and doses <= doses_in(s.text)]
    results.sort(key=lambda s: s.passage.text.find(s.text))
    return next((s for s in results if _ESTIMATE.search(s.text)), results[0] if results else None)


def _with_primary(chosen: list[Sentence], reserve: list[Sentence], points: int) -> list[Sentence]:
    """Asked for a trial's gist ("summarise it for me"), its primary result is one of the points: after the
    lead (in place of the last point, when the role's points are all taken), when no point chosen gives it."""
    if not chosen or any(s.passage.primary and _states_figure(s.text) for s in chosen):
        return chosen
    found = _primary_result(reserve)
    if found is None:
        return chosen
    return [chosen[0], found, *chosen[1:points - 1 if len(chosen) >= points else None]]


class Composer:
    """Deterministic, grounded, extractive answers and takeaways. `meaning` (an
    `embeddings.SentenceVectors`, optional) lets the answer lead with the chosen sentence nearest the
    question in meaning; without it the word score alone orders them."""

    def __init__(self, meaning=None):
        self.meaning = meaning

    def sentences(self, prompt: Prompt, glossary) -> list[Sentence]:
        seen: set[str] = set()
        out: list[Sentence] = []
        for rank, passage in enumerate(prompt.passages):
            if speaks_to_the_model(passage.text):
                continue  # a passage that gives the tutor orders is not evidence: none of it is quoted
            for sentence in split_sentences(passage.text):
                key = sentence.lower()
                if is_fragment(sentence) or key in seen:
                    continue
                seen.add(key)
                words = spell_out(f"{passage.section} {passage.kind.replace('.', ' ')} {sentence}", glossary)
                out.append(Sentence(sentence, passage, rank, set(tokenize(words))))
        return out

    @staticmethod
    def scorer(sentences: list[Sentence]):
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
    def query(question: str, before: str | None, glossary=None, arms: frozenset[str] = frozenset()) -> list[tuple[set[str], float]]:
        """The question's words at full weight, its measures ("rate", "median") and the names of the
        trial's treatments (which say which arm, not what is asked of it) at half; what its expansions
        add, and for a follow-up ("and the hazard ratio?") the words of the question `before` it, at
        half weight too."""
        spelled = spell_out(question, glossary)
        groups = term_groups(spelled)
        # A treatment's name is the subject itself when little else is asked ("how much ALPHA-1 was given?").
        said_anyway = measures() | phrasing() | arms
        if sum(1 for g in groups if not g <= said_anyway) < 2:
            arms = frozenset()
        generic = measures() | arms
        query = [(group, EXPANSION_WEIGHT if group <= generic else 1.0) for group in groups]
        implied = [(words, None) for words in expansions(spelled)]
        if before:
            spelled_before = spell_out(before, glossary)
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
    def unanswered(question: str, passages: list[Passage], glossary=None, unnamed: Sequence[str] = ()) -> list[str]:
        """What the question asks for that no passage mentions ("5-year", "cardiac", "NNT"), and the drugs it
        names that the trials' pages never do (`unnamed`): the passages cannot answer that part, and the answer
        must say so."""
        text = americanise(" ".join(f"{p.trial} {p.about} {p.section} {p.text}" for p in passages).lower())
        known = set(tokenize(spell_out(text, glossary)))
        implied = expanded_words(question, known)
        clinical = topics()
        unnamed_words = {w.lower() for w in unnamed}
        missing = []
        for about in {p.about for p in passages if p.about}:  # "DB-03" names a trial, not a figure
            question = name_pattern(about).sub(" ", question)
        question = _fuse_times(question)
        for word in TOKEN.findall(americanise(spell_out(question, glossary).lower())):
            tokens = set(tokenize(word))
            if any(ch.isdigit() for ch in word):
                # "1L" is shorthand the lexicon reads ("first-line"), not a figure
                # ("the low 90s": a band of values, not a figure)
                if word[0].isdigit() and word in question.lower() and not _figure_in(word, text) \
                        and re.search(r"\d", canonical(word)) and not _is_age(word, question) \
                        and not re.fullmatch(r"\d+0s", word):
                    missing.append(_FIGURE)  # quoted as words: a number the sources lack is not repeated
            # a hyphenated topic is asked whole: "cost-effectiveness" is not answered by an "effect" of the page
            elif (topical := tokens & clinical) and not topical & (known | implied) or word in unnamed_words:
                long = {**base_glossary(), **(glossary or {})}.get(word.upper())
                missing.append(f'"{long} ({word.upper()})"' if long else f'"{word}"')  # "nnt" as it is written
        # A clinical topic the lexicon reads the question's shorthand or lay words as ("MI", "heart attack" ->
        # myocardial infarction), when no passage uses a word of it or of any other reading of the question ("live
        # longer" is read as overall survival and as mortality: either answers): the sources do not report it.
        terms = {term: set(tokenize(term)) for term in expansions(question)}
        if not any(words & known for words in terms.values()):
            missing += [f'"{term}"' for term, words in terms.items() if words and words <= clinical]
        return list(dict.fromkeys(missing))

    @staticmethod
    def unfigured(question: str, sentences: list[Sentence], trials: list[str], glossary=None) -> list[str]:
        """Endpoints the question asks a figure for ("objective response rate", "median follow-up")
        that no sentence of the asked trials' own pages gives with a number: listed as an endpoint is
        not reported as a result."""
        asked = americanise(spell_out(question, glossary).lower())
        if not _ASKS_FIGURE.search(" ".join([asked, *expansions(question)])):
            return []
        own = [s for s in sentences if not s.passage.summary and (not trials or s.passage.about in trials)]
        words = [set(tokenize(spell_out(s.text, glossary))) for s in own]
        # "how old" asks for the median age: a lay phrase the lexicon translates to an endpoint, whole; not a wording
        # the page itself uses ("worsening heart-failure events" is no progression)
        asked = " ".join([asked, *(e for e in expansions(question, set().union(*words)) if e in figures())])
        if not _ASKS_FIGURE.search(asked):
            return []
        numbered = [w for w, s in zip(words, own) if _NUMBER.search(s.text)]
        missing = []
        for endpoint, fields in figures().items():
            if not re.search(rf"\b{re.escape(endpoint)}", asked):
                continue
            keys = [set(tokenize(e)) - measures() for e in (endpoint, *fields)]
            # "the median overall survival" is not answered by a 12-month survival rate: a median asked for
            # needs a sentence that gives the endpoint's median.
            # (an endpoint that is itself a median, "median age", needs a median or a mean of it: "aged 18 to 65" is
            # who could enrol, not how old they were)
            median = bool(re.search(rf"\bmedian\b[\w\s-]{{0,12}}\b{re.escape(endpoint)}", asked))
            central = set(tokenize("median mean average")) if median or endpoint.startswith("median ") else set()
            if not any(k <= w and (not central or central & w) for k in keys for w in numbered):
                missing.append(f'"median {endpoint}"' if median else f'"{endpoint[7:]}" (a median or a mean)'
                               if central else f'"{endpoint}"')
        # A clinical topic the passages name but never with a number ("neuropathy" among the side effects).
        for word in TOKEN.findall(americanise(question.lower())):
            stem = set(tokenize(word)) & topics()
            if stem and any(stem <= w for w in words) and not any(stem <= w for w in numbered):
                missing.append(f'"{word}"')
        return list(dict.fromkeys(missing))

    @staticmethod
    def only_designed(question: str, sentences: list[Sentence], trials: list[str], arms: frozenset[str] = frozenset(),
                      glossary=None, passages=()) -> list[str]:
        """What a question asks a result or a figure of ("did it lower NT-proBNP?", "what proportion were in atrial
        fibrillation?") that the asked trials' pages name only in their design fields (an entry criterion, a dose),
        never in a finding, a limitation or a discussion: the page does not report it as a result. A word the
        page's own discussion questions use (`passages`: "... for a ventilated patient with septic shock?") is
        one the page discusses."""
        asked = americanise(spell_out(question, glossary))
        if not (_ASKS_FIGURE.search(asked.lower()) or _ASKS_EFFECT.search(asked)):
            return []
        own = [s for s in sentences if not s.passage.summary and (not trials or s.passage.about in trials)]
        if not own:
            return []
        generic = measures() | phrasing() | effect_words() | effect_frame() | arms | STOPWORDS | {
            t for name in trials for t in tokenize(name)}
        words = re.findall(r"[A-Za-z][\w-]*", asked)
        discussed = set().union(*(tokenize(spell_out(p.text.split("Key response:", 1)[0], glossary)) for p in passages
                                  if p.kind == "discussion" and p.text.lstrip().startswith("Question:")
                                  and not p.summary and (not trials or p.about in trials)
                                  and not speaks_to_the_model(p.text)))
        designed = []  # (position, word) of each word the pages name only in their design
        for k, written in enumerate(words):
            terms = set(tokenize(written)) - generic
            if not terms or everyday(written.lower(), 4.0) or _ASKS_FIGURE.fullmatch(written.lower()) \
                    or _ASKS_EFFECT.fullmatch(written):
                continue
            if terms & discussed:
                continue
            holders = [s for s in own if terms & s.tokens]
            # not the field's own name ("how were they randomised?" asks for the Randomization field)
            if holders and all(s.passage.kind.startswith("design.") and not terms & heading_terms(s.passage.section)
                               for s in holders):
                designed.append((k, written))
        phrases: list[list[str]] = []  # words next to each other in the question are one name ("atrial fibrillation")
        for k, written in designed:
            if phrases and k == last + 1:
                phrases[-1].append(written)
            else:
                phrases.append([written])
            last = k
        return list(dict.fromkeys(f'"{" ".join(p)}"' for p in phrases))

    # -- answers ------------------------------------------------------------------------------

    def compose(self, prompt: Prompt) -> str:
        if prompt.focus is not None:
            return self.compose_takeaways(prompt)
        learner = prompt.learner
        glossary = learn_abbreviations(p.text for p in prompt.passages)
        sentences = self.sentences(prompt, glossary)
        question = prompt.question
        follow_up = bool(prompt.previous) and is_follow_up(question)
        asked = f"{prompt.previous[-1]} {question}" if follow_up else question
        # Side by side, the treatments' names tell the trials apart: they keep their full weight.
        arms = prompt.arms if len(prompt.trials) < 2 else frozenset()
        query = self.query(question, prompt.previous[-1] if follow_up else None, glossary, arms)
        if len(prompt.trials) > 1:
            query = self._topic_only(query, prompt)
        # Asked for a figure of the design ("how many were enrolled in ALPHA-1, and how were they randomised?"), a
        # trial's name says which page, not what is asked: when every passage is about that one trial, the
        # sentences that repeat the name ("In ALPHA-1 the benefit ...") answer no better for it. (Asked what the
        # trial showed, the sentences that name it are its summaries: the name stays.)
        abouts = {p.about for p in prompt.passages}
        kinds = prompt.kinds.split()
        if kinds and all(k.startswith("design.") for k in kinds) and _ASKS_FIGURE.search(question.lower()) \
                and len(abouts) == 1 and (only := abouts.pop()) \
                and not any(p.summary for p in prompt.passages):
            name = set(tokenize(only))
            if any(g != name and not g <= measures() | phrasing() for g in term_groups(spell_out(question, glossary))):
                query = [(group, weight) for group, weight in query if group != name]
        score = self.scorer(sentences)
        ranked = self._rank(prompt, sentences, query, score, asked)
        if not ranked and prompt.intent and sentences:
            # Judged in scope by meaning ("what does this trial mean for a psychiatrist?") though no
            # sentence shares its words: the passages retrieval ranked for that intent, in their order.
            ranked = [(0.0, s) for s in sentences if _is_statement(s.text) and not s.passage.summary]
        if not ranked:
            return f"{NOT_COVERED} The passages retrieved for it do not answer it directly."
        points = max(1, int(learner.get("points", "3") or 3))
        answering = {s.passage.about for _, s in ranked}
        trials = [t for t in prompt.trials if t in answering]
        side_by_side = len(trials) > 1
        pages = {p.about for p in prompt.passages if not p.summary}
        name_trial = side_by_side or len(pages) > 1  # passages from several trials: say whose each is
        if side_by_side:
            figure = bool(_ASKS_FIGURE.search(americanise(spell_out(asked, glossary).lower())))
            chosen = self._side_by_side(ranked, trials, points, figure)
        else:
            reserve = [s for _, s in ranked[points:]]
            chosen = self._lead_first(ranked[:points], spell_out(asked), arms, reserve)
            if prompt.primary:
                chosen = _primary_first(chosen, reserve + sentences, question)
            elif asks_gist(question, prompt.intent):
                chosen = _with_primary(chosen, reserve + sentences, max(points, 2))
            if _EXPLAIN.search(question):
                # "How does it work?" wants the explanation's thread: the best passage's sentences in order.
                thread = [s for s in sentences if s.passage is chosen[0].passage]
                start = thread.index(chosen[0])
                chosen = thread[start:start + points + 2]
                chosen += [s for _, s in ranked if s not in chosen][: max(0, points - len(chosen))]
            own = self._page_answer(prompt, asked, sentences, chosen[0].passage.about)
            if thread := [s for s in own if s is not chosen[0]]:
                # the page's own answer to what is asked: its key response, in order, after the sentence that answers
                # best, then the next chosen sentence, if any (the page's answer adds to the answer, it does not
                # stand in for it)
                rest = [s for s in chosen[1:] if s not in thread]
                chosen = chosen[:1] + thread + rest[: max(1, points - 1 - len(thread))]

        lead = learner.get("lead", "Answer")
        opening = ""
        if missing := self.unanswered(question, prompt.passages, glossary, prompt.unnamed):
            opening = (f"The trial sources do not report {_quote(missing)}, so they cannot answer that part; "
                       "the closest they come: ")
        elif unfigured := self.unfigured(asked, sentences, trials or sorted(pages), glossary):
            opening = (f"The trial sources do not give a figure for {_quote(unfigured)}, so they cannot answer that part; "
                       "the closest they come: ")
        elif unreported := self.only_designed(asked, sentences, trials or sorted(pages), prompt.arms, glossary,
                                                          prompt.passages):
            opening = (f"The trial sources do not report a result for {_quote(unreported)}: they name it only in the "
                       "trial's design (who could take part, what was given), so they cannot answer that part; the closest "
                       "they come: ")
        lines = [f"{lead}: {opening}{chosen[0].quoted(name_trial)} [{chosen[0].n}]"]
        if len(chosen) > 1:
            lines.append("")
            lines.extend(f"- {s.quoted(name_trial)} [{s.n}]" for s in chosen[1:])
        if specialty := learner.get("specialty", ""):
            lines += ["", self._specialty_line(specialty, prompt.lens, sentences, chosen, score, name_trial)]
        if "define every abbreviation" in prompt.instructions.lower():
            if terms_used := abbreviations_in("\n".join(lines), glossary):
                lines += ["", "Terms: " + "; ".join(f"{short} = {long}" for short, long in terms_used) + "."]
        if closing := learner.get("closing"):
            lines += ["", closing]
        return "\n".join(lines)

    def _page_answer(self, prompt: Prompt, question: str, sentences: list[Sentence], about: str) -> list[Sentence]:
        """The page's own answer to what is asked: the key response of the guided-discussion item, among those of the
        trial answered with a retrieved passage of key response, whose question means most nearly what is asked,
        when it was written for the learner's role and means it nearly enough. (Another role's item asks at another
        depth; one that only comes near asks something else.)"""
        items: dict[tuple[str, str], list[Sentence]] = {}
        for s in sentences:
            p = s.passage
            if p.kind == "discussion" and p.asks and p.about == about and not p.summary:
                items.setdefault((p.asks, p.role), []).append(s)
        if self.meaning is None or not items:
            return []
        keys = list(items)
        cosine = self.meaning.similarity(question, [asks for asks, _ in keys], library=True)
        best = int(cosine.argmax())
        if keys[best][1] == prompt.learner.get("role", "") and cosine[best] >= PAGE_ANSWER:
            return items[keys[best]]
        return []

    @staticmethod
    def _topic_only(query, prompt: Prompt):
        """A comparison's words less its framing: the comparing words ("versus", "compared") say that the
        trials are set side by side, not what is compared."""
        framing = set(tokenize(" ".join(_COMPARING.findall(prompt.question))))
        kept = [(g, w) for g, w in query if not g <= framing]
        return kept or query

    def _rank(self, prompt: Prompt, sentences: list[Sentence], query, score, asked: str) -> list[tuple[float, Sentence]]:
        question = prompt.question
        numeric = bool(_NUMERIC_QUESTION.search(question))
        # A number only answers when its sentence is about the question's subject, not just its measure
        # ("rate", "median"): the question's own words and the short expansions that translate them.
        subject_words = [g for g, w in query if w == 1.0]
        # Passages whose own heading the question names are its subject; a one-word heading only by that
        # word itself ("Comparator" is not named by "compare").
        terms = set().union(*(g for g, _ in query)) if query else set()
        words = query_words(expand(spell_out(asked)))
        subject = {p.n for p in prompt.passages
                   if names_heading(heading_terms(p.section), heading_words(p.section), terms, words)}
        # Trials: the ones the question names are its subject; a summary of another trial is not the answer.
        abouts = {p.about for p in prompt.passages if p.about}
        named = {t for t in abouts if name_pattern(t).search(asked)} or set(prompt.trials) & abouts
        if len(prompt.trials) > 1:  # compared side by side: the chosen trial ("here") as much as the one named
            named |= set(prompt.trials) & abouts
        about_others = bool(_OTHER_TRIALS.search(asked))
        intent_kinds = set(prompt.kinds.split())  # the page parts the question's intent asks for, if given
        # asked for a result in words that ask for no figure: a figure answers when its sentence names what the result
        # is of, in the question's uncommon words ("platelets"), not only who had it or how often ("patients", "more")
        results = not numeric and "finding" in intent_kinds
        topic = _result_topic(spell_out(asked), prompt.arms) if results else set()
        # Figures the question quotes: the sentence that gives one is where it comes from, whatever its words;
        # a figure many sentences give ("95%" of every confidence interval) singles none of them out.
        quoted = set(_NUMBER.findall(question))
        figures = {id(s): quoted & set(_NUMBER.findall(s.text)) for s in sentences} if quoted else {}
        spread = {f: sum(f in found for found in figures.values()) for f in quoted}
        ranked = []
        for s in sentences:
            relevance = score(query, s)
            figure = max((min(1.0, 2 / spread[f]) for f in figures.get(id(s), ())), default=0.0)
            if relevance <= 0 and not figure:
                continue
            bonus = 0.3 * (len(prompt.passages) - s.rank) / max(len(prompt.passages), 1)
            if numeric and NUMBER.search(s.text) and (not subject_words or any(g & s.tokens for g in subject_words)):
                bonus += 1.0
            elif results and NUMBER.search(s.text) and topic & s.tokens:
                bonus += RESULT_FIGURE_BONUS
            if s.n in subject:
                bonus += SUBJECT_BONUS
            if s.passage.kind in intent_kinds:
                bonus += INTENT_BONUS
            lift = QUOTED_FIGURE_BONUS * figure
            bonus += lift
            value = relevance + bonus
            if named:
                if s.passage.about in named and not (s.passage.summary and s.passage.about in
                                                     {p.about for p in prompt.passages if not p.summary}):
                    value += NAMED_TRIAL_BONUS
                else:
                    value *= 0.2
            elif s.passage.summary and not about_others:
                value *= 0.3
            ranked.append((value, s, value - lift))
        ranked.sort(key=lambda triple: -triple[0])
        # A page's title names what the trial compared; it is no point of an answer to anything but the
        # publication ("which journal?") while other sentences answer.
        if not ({"publication"} & intent_kinds
                or any(p.kind == "publication" and p.n in subject for p in prompt.passages)):
            titled = [t for t in ranked if t[1].passage.kind == "publication" and _only_names(t[1])]
            if len(ranked) > len(titled):
                ranked = [t for t in ranked if t not in titled]
        # Keep sentences that answer about as well as the best one, not the stragglers; the quoted figure
        # orders the sentences but does not raise that bar (the figure's context answers too).
        bar = 0.4 * max((base for _, _, base in ranked), default=0.0)
        return [(value, s) for value, s, _ in ranked if value >= bar]

    def _lead_first(self, ranked: list[tuple[float, Sentence]], question: str,
                    arms: frozenset[str] = frozenset(), reserve: list[Sentence] = ()) -> list[Sentence]:
        """The chosen sentences, the one that says most nearly what was asked first: the words pick
        which sentences answer, the meaning picks which answers it head-on ("how was the control drug
        dosed?" leads with the comparator's dose, not the new drug's, though both share the dose words)."""
        chosen = [s for _, s in ranked]
        if self.meaning is None or len(chosen) < 2:
            return chosen
        best = ranked[0][0] or 1.0
        cosine = self.meaning.similarity(question, [s.text for s in chosen], library=True)
        # A line that only names a page (its title, the header of a related trial's summary) shares the
        # question's names, not its meaning: the meaning moves it no higher than the weakest candidate.
        floor = float(cosine.min())
        cosine = [floor if _names_a_page(s) else c for s, c in zip(chosen, cosine)]
        order = sorted(range(len(chosen)), key=lambda i: -(ranked[i][0] / best + LEAD_MEANING * float(cosine[i])))
        chosen = [chosen[i] for i in order]
        # A time point asked for ("the 12-month rate", "at 2 years") is answered first by a sentence at that
        # time point, however close in meaning a sentence about the same endpoint at another one ("median") is.
        # (A lead that names no time point stays: "PASI 100 was reached by 44.1%" may be the week-16 figure its finding
        # dated in an earlier sentence.)
        lead_at = _time_points(chosen[0].text)
        if (asked := _time_points(question)) and lead_at and not asked & lead_at:
            # (one that reports a result there first: "remission at week 12 was 29.4%", not "the endpoints were
            # remission at week 12 and at week 52")
            at_time = [s for s in chosen if asked & _time_points(s.text)]
            at = next((s for s in at_time if _RESULT_FIGURE.search(s.text)), at_time[0] if at_time else None)
            if at is not None:
                chosen = [at] + [s for s in chosen if s is not at]
        # Asked for a figure, a sentence that rounds it ("about 36 in 100") gives way to the one that states
        # the same figures as the page does ("36.4%").
        if _ASKS_FIGURE.search(question.lower()) and _rounds(chosen[0].text):
            rounded = {m.group(1) for m in _ROUNDED.finditer(chosen[0].text)}
            exact = next((s for s in chosen[1:] if rounded <= {n.split(".")[0] for n in _NUMBER.findall(s.text)}), None)
            if exact is not None:
                chosen = [exact] + [s for s in chosen if s is not exact]
        # Asked for a figure, a sentence that gives none ("a score of 0 or 1 means clear skin") gives way to the
        # first chosen sentence that gives one of what is asked: it shares a word of the question's subject, not
        # only its measure ("patients", "rate"). A page's summary (its bottom line, its significance) gives way
        # too when its figures are not of what is asked ("a shorter hospital stay" beside "aged 60 years"): to
        # a sentence with a figure within a few words of the subject, not of the arms' names (which say which
        # arm, not what is asked of it).
        if _ASKS_FIGURE.search(question.lower()) or _terse(question, arms):
            # "how much was given?": a dose is the figure asked for; a question that writes one ("the 40 mg dose")
            # names an arm by it
            doses = bool(_ASKS_DOSE.search(question)) and not DOSE.search(question)
            # the words that ask for the figure ("how common") are not what it is of
            subject = set(tokenize(_ASKS_FIGURE.sub(" ", question.lower()))) - measures() - phrasing() - arms
            if subject and len(chosen) > 1 and not any(_figure_of(s.text, subject, doses) for s in chosen):
                # none of the chosen gives a figure of what is asked: the next sentence that answers at all and does
                # ("how long did people stay in hospital?" for a reader given two points) takes the last place
                extra = next((s for s in reserve if _figure_of(s.text, subject, doses)), None)
                if extra is not None:
                    chosen = chosen[:-1] + [extra]
            stated = None
            if not _states_figure(chosen[0].text, doses):
                stated = next((s for s in chosen[1:] if _states_figure(s.text, doses) and subject & s.tokens), None)
            elif chosen[0].passage.kind in _SUMMARIES and not _figure_of(chosen[0].text, subject, doses):
                stated = next((s for s in chosen[1:] if _figure_of(s.text, subject, doses)), None)
            if stated is not None:
                chosen = [stated] + [s for s in chosen if s is not stated]
        elif _ASKS_RESULT.search(question) and (chosen[0].passage.kind in _SUMMARIES
                                                or chosen[0].passage.kind == "discussion"):
            # Asked whether it worked ("did it work as well as the usual drug at stopping strokes?"), a summary or a teaching
            # answer gives way to a key finding that reports what is asked, with its figures, unless it states a
            # result of that itself (a rate, a share, an estimate: "in 9,046 patients" counts who took part): the topic
            # is a word of the question's own, not its treatments' names nor the direction asked about ("better",
            # "beat"). ("reduced bleeding by about 40%" does not answer strokes.)
            topic = _result_topic(question, arms)
            if not _figure_of(chosen[0].text, topic, figure=_RESULT_FIGURE):
                found = next((s for s in chosen[1:] if s.passage.kind == "finding" and _states_figure(s.text)
                              and topic & s.tokens), None)
                if found is not None:
                    chosen = [found] + [s for s in chosen if s is not found]
        # A title names what the page is about; it never answers first when a sentence of substance was chosen.
        return sorted(chosen, key=_only_names)

    @staticmethod
    def _side_by_side(ranked, trials: list[str], points: int, figure: bool = False) -> list[Sentence]:
        """The best sentences of each trial, in the order the question names them, each from its own page.
        Asked for a `figure`, a trial's sentence that gives one comes first when it answers nearly as well
        as its best: the side by side sets figure against figure."""
        per_trial = max(2, points // len(trials))  # a side-by-side needs what each trial says, and its figure
        chosen: list[Sentence] = []
        for trial in trials:
            own = [(v, s) for v, s in ranked if s.passage.about == trial and not s.passage.summary]
            own = own or [(v, s) for v, s in ranked if s.passage.about == trial]
            if figure and own:
                best = own[0][0]
                numbered = [(v, s) for v, s in own if _NUMBER.search(_LABEL.sub("", s.text)) and v >= FIGURE_SHARE * best]
                own = numbered + [pair for pair in own if pair not in numbered]
            chosen += [s for _, s in own][:per_trial]
        return chosen

    def _specialty_sentence(self, focus: str, sentences, chosen, score) -> Sentence | None:
        if not focus:
            return None
        query = _concern_weights(focus)
        best = max(((score(query, s), s) for s in sentences if s not in chosen), key=lambda pair: pair[0],
                   default=(0, None))
        return best[1] if best[0] > 0 else None

    def _specialty_line(self, specialty, lens, sentences, chosen, score, name_trial=False) -> str:
        extra = self._specialty_sentence(lens or specialty, sentences, [], score)
        if extra in chosen:  # a sentence the answer has not said yet teaches more, if it matters as much
            other = self._specialty_sentence(lens or specialty, sentences, chosen, score)
            query = _concern_weights(lens or specialty)
            if other is not None and score(query, other) >= score(query, extra):
                extra = other
        if extra is None:
            nearest = chosen[0]
            return (f"For {specialty}: the trial sources report nothing specific to {specialty}; the nearest they "
                    f"come is the point above [{nearest.n}].")
        if extra in chosen:
            concerns = set().union(*term_groups(lens or specialty))
            named = [w for w in TOKEN.findall(extra.text) if set(tokenize(w)) & concerns]
            what = f" ({', '.join(dict.fromkeys(w.lower() for w in named))})" if named else ""
            return f"For {specialty}: the point above that matters most to your work is the one cited{what} [{extra.n}]."
        return f"For {specialty}: {extra.quoted(name_trial)} [{extra.n}]"

    def compose_takeaways(self, prompt: Prompt) -> str:
        sentences = self.sentences(prompt, learn_abbreviations(p.text for p in prompt.passages))
        score = self.scorer(sentences)
        specialty = prompt.learner.get("specialty", "")
        pages = {p.about for p in prompt.passages if not p.summary}
        name_trial = len(pages) > 1
        lines: list[str] = []
        used: list[Sentence] = []
        for item in prompt.focus or []:
            query = [(g, 1.0) for g in term_groups(expand(item))]
            # A takeaway is a statement: a sentence that only names an endpoint teaches nothing on its own;
            # a summary of another trial is not this trial's takeaway.
            best = max(((score(query, s), s) for s in sentences
                        if s not in used and _is_statement(s.text) and not s.passage.summary),
                       key=lambda pair: pair[0], default=(0, None))
            if best[1] is not None and best[0] > 0:
                used.append(best[1])
                lines.append(f"- {best[1].quoted(name_trial)} [{best[1].n}]")
        if specialty:
            extra = self._specialty_sentence(prompt.lens or specialty, sentences, [], score)
            if extra is None:
                line = f"- For {specialty}: the trial sources report nothing specific to {specialty}" + (
                    f"; the nearest they come is the first takeaway above [{used[0].n}]." if used else ".")
            else:
                line = f"- For {specialty}: {extra.quoted(name_trial)} [{extra.n}]"
            if extra is not None and extra in used:  # already a takeaway: say why it matters to this learner
                lines[used.index(extra)] = line
            elif len(lines) < 5:
                lines.append(line)
            else:
                lines[-1] = line
        return "\n".join(lines) if lines else NOT_COVERED
