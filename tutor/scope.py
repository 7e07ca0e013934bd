"""Can the trial pages answer this question? The in-scope decision, from signals any library gives.

A question is declined, whatever the backend, when it asks for advice on one person's own treatment,
asks for a poem or a recipe, names a trial or drug the library never mentions, is about another
disease, or reads (by meaning, `tutor.intent`) as another subject altogether. Otherwise it is in scope
when a passage is close in meaning, or its own words are the sources' words, or it names what the
sources name, or it reads as something learners ask of any trial ("give me the gist").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutor.intent import Reading

# Set on the tune split of the eval sets (evals/*: "split": "tune"), never on the test split.
INTENT_IN = 0.55  # a trial question by meaning: in scope even when no passage is close ("the gist")
INTENT_OUT = 0.5  # another subject by meaning: declined unless the sources know its words

# A question about one person's own treatment: a person, a treatment verb and a treatment.
_TREATMENT = r"\b(treatment|therapy|drug|medicine|medication|chemo\w*|it|this|that|[a-z]+-?[a-z]*\d\w*)\b"
_PERSONAL = re.compile(
    r"\b(should|can|could|would|must|do|does)\s+(i|we|he|she|my \w+)\b.{0,40}"
    r"\b(take|start|stop|switch|receive|be treated|try|be given|go on|get|ask for)\b.{0,40}" + _TREATMENT
    + r"|\bmy (mother|father|mom|mum|dad|wife|husband|partner|sister|brother|friend|aunt|uncle|daughter|son|"
    r"patient|grand\w+)\b.{0,80}\b(take|start|stop|switch|receive|be treated|try|be given|go on|ask for)\b"
    r"|\bI'?m (on|taking|receiving)\b.{0,40}" + _TREATMENT
    + r"|\bis (it|this) (safe|right|good) for (me|my)\b|\bwhat would you (do|recommend) (for|if) (me|my)\b",
    re.I,
)
# Asked to write something other than an answer about the trial.
OFF_TASK = re.compile(r"\b(poems?|sonnets?|haikus?|limericks?|songs?|lyrics|recipes?|jokes?|bedtime stor(y|ies)|rap)\b",
                      re.I)


def asks_for_advice(question: str) -> bool:
    return bool(_PERSONAL.search(question))


def _reads_as_advice(reading: Reading | None) -> bool:
    """By meaning: the question is nearer the advice examples than any other intent, by a clear margin."""
    return bool(reading and reading.name == "advice" and reading.margin >= 0.05)


@dataclass
class Signals:
    """What retrieval learned about a question, for the decision."""

    best: float  # cosine of the closest passage to the question as asked
    coverage: float  # share of its content words found in the sources
    unknown_words: int  # its content words found nowhere in the sources
    unknown_names: list[str]  # trials, drugs, diseases it names that the sources do not
    names_known: bool  # it names a trial, drug or number the sources name
    reading: Reading | None = None


def decide(question: str, signals: Signals, floor: float) -> tuple[bool, str]:
    """(in scope, why): why is one of advice, creative, unknown_name, other_topic, no_match or ''."""
    reading = signals.reading
    if asks_for_advice(question) or _reads_as_advice(reading):
        return False, "advice"
    if OFF_TASK.search(question):
        return False, "creative"
    if signals.unknown_names:
        return False, "unknown_name"
    # More than half of its words, two at least, appear nowhere in the sources, and no passage is close.
    if signals.unknown_words >= 2 and signals.coverage < 0.5 and signals.best < floor + 0.25:
        return False, "other_topic"
    if reading and reading.out_of_scope and reading.score >= INTENT_OUT and (
            signals.unknown_words >= 1 or signals.best < floor + 0.15) and not signals.names_known:
        return False, "other_topic"
    in_scope = (
        signals.best >= floor + 0.1
        or (signals.best >= floor - 0.1 and signals.coverage > 0.5)
        or (signals.names_known and signals.best >= floor / 2)
        or bool(reading and not reading.out_of_scope and reading.score >= INTENT_IN and signals.unknown_words <= 1)
    )
    return in_scope, "" if in_scope else "no_match"
