"""Check an answer against its passages: keep only real citations, flag unverified numbers.

Runs on every model's output, the offline model included.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from tutor.lexicon import tokenize
from tutor.schema import Source

CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
# A number that stands on its own: not the "1" of X-DM1, the "03" of ALPHA-Lung03 or the "2" of ALPHA-2
# (a negative figure, "-0.7" or "(-2.9 to 12.0)", still counts).
NUMBER = re.compile(r"(?<![\w.])(?<![A-Za-z]-)\d[\d,]*(?:\.\d+)?")
LIST_MARKER = re.compile(r"^\s*\d+[.)]\s", re.M)


@dataclass
class Checked:
    text: str
    citations: list[str]  # source ids, in order of first citation
    unverified_numbers: list[str]
    dropped_citations: list[int]  # passage numbers the text cited that were never provided
    unsupported_citations: list[int] = field(default_factory=list)  # cited by no sentence sharing its content


def numbers_in(text: str) -> list[str]:
    text = CITATION.sub(" ", LIST_MARKER.sub(" ", text))
    return [m.group().rstrip(",").replace(",", "") for m in NUMBER.finditer(text)]


def check(text: str, sources: Sequence[Source]) -> Checked:
    cited: list[str] = []
    dropped: set[int] = set()

    def keep(match: re.Match) -> str:
        written = [int(n) for n in re.split(r"\s*,\s*", match.group(1))]
        valid = [n for n in written if 1 <= n <= len(sources)]
        dropped.update(n for n in written if n not in valid)
        for n in valid:
            if sources[n - 1].id not in cited:
                cited.append(sources[n - 1].id)
        return "".join(f"[{n}]" for n in valid)

    cleaned = CITATION.sub(keep, text)
    cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", cleaned)
    known = {n for source in sources for n in numbers_in(source.text)}
    unverified = []
    for number in numbers_in(cleaned):
        if number not in known and number not in unverified:
            unverified.append(number)
    unsupported = unsupported_citations(cleaned, sources)
    cited = [sid for sid in cited if sid not in {sources[n - 1].id for n in unsupported}]
    return Checked(cleaned, cited, unverified, sorted(dropped), unsupported)


# A sentence supports its citation when it shares content words with the passage: SHARED of them, or all
# of its own when it has fewer (a two-word sentence). Content words are the retriever's tokens: stemmed,
# stop words dropped, numbers kept whole.
SHARED = 2
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def cited_sentences(text: str) -> list[tuple[str, list[int]]]:
    """(sentence without its citations, the passage numbers it cites) for each sentence that cites one.
    A citation standing alone after a sentence ("... 9.6 months. [1]") belongs to that sentence."""
    sentences: list[list] = []
    for piece in _SENTENCE_END.split(text):
        numbers = [int(n) for m in CITATION.finditer(piece) for n in re.split(r"\s*,\s*", m.group(1))]
        words = CITATION.sub(" ", piece).strip(" .;:,-*")
        if not words and sentences:
            sentences[-1][1] += numbers
        else:
            sentences.append([words, numbers])
    return [(words, numbers) for words, numbers in sentences if numbers]


def unsupported_citations(text: str, sources: Sequence[Source]) -> list[int]:
    """Passage numbers the text cites where no sentence citing the passage shares content with it."""
    supported: set[int] = set()
    cited: set[int] = set()
    passage_words = {}
    for sentence, numbers in cited_sentences(text):
        words = set(tokenize(sentence))
        for n in numbers:
            if not 1 <= n <= len(sources):
                continue
            cited.add(n)
            if n not in passage_words:
                passage_words[n] = set(tokenize(sources[n - 1].text))
            if words and len(words & passage_words[n]) >= min(SHARED, len(words)):
                supported.add(n)
    return sorted(cited - supported)
