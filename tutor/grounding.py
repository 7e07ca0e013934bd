"""Check an answer against its passages: keep only real citations, flag unverified numbers.

Runs on every model's output, the offline model included.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tutor.schema import Source

CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
# A number that stands on its own: not the "1" of X-DM1 or the "03" of ALPHA-Lung03.
NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
LIST_MARKER = re.compile(r"^\s*\d+[.)]\s", re.M)


@dataclass
class Checked:
    text: str
    citations: list[str]  # source ids, in order of first citation
    unverified_numbers: list[str]
    dropped_citations: list[int]  # passage numbers the text cited that were never provided


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
    return Checked(cleaned, cited, unverified, sorted(dropped))
