"""The specialty lens: what matters to a learner's specialty, as words the trial pages use.

Specialties and their synonyms are data (`tutor/data/specialties.yaml`, general to oncology); a
free-text specialty no entry matches is read by meaning, the closest entry by embedding, when an
embedding model is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from tutor import yaml_data
from tutor.embeddings import embed_bank

DATA = Path(__file__).with_name("data") / "specialties.yaml"
NEAREST = 0.45  # cosine a free-text specialty needs to an entry to borrow its concerns (set on the tune split)


@dataclass(frozen=True)
class Specialty:
    name: str
    match: re.Pattern
    concerns: str


@lru_cache(maxsize=1)
def specialties() -> tuple[Specialty, ...]:
    data = yaml_data.safe_load(DATA.read_text(encoding="utf-8"))
    return tuple(Specialty(e["name"], re.compile(e["match"], re.I), e["concerns"]) for e in data["specialties"])


_DISCIPLINE = re.compile(r"(olog(y|ies|ist|ists)|iatr(y|ist|ists|ics)|ists?|ians?|acy|ery|eons?|nursing|ics)$")


def names_specialty(word: str) -> bool:
    """Does a word name a specialty or its specialist ("nephrologist", "oncology"), not an organ or a
    topic ("kidney", "cost")?"""
    return bool(_DISCIPLINE.search(word)) and any(e.match.match(word) for e in specialties())


class Lens:
    """specialty -> concerns. `embeddings` (optional) reads an unknown specialty by meaning."""

    def __init__(self, embeddings=None):
        self.embeddings = embeddings
        self._matrix = None
        self._cache: dict[str, str] = {}

    def _nearest(self, specialty: str) -> Specialty | None:
        if self.embeddings is None:
            return None
        entries = specialties()
        if self._matrix is None:
            self._matrix = embed_bank(self.embeddings, [f"{e.name}: {e.concerns}" for e in entries])
        sims = self._matrix @ np.asarray(self.embeddings.embed_query(specialty), dtype=np.float32)
        best = int(np.argmax(sims))
        return entries[best] if sims[best] >= NEAREST else None

    def concerns(self, specialty: str | None) -> str:
        """The words that matter to the specialty ("" when none is given or none can be told)."""
        if not specialty:
            return ""
        if specialty not in self._cache:
            matched = [e for e in specialties() if e.match.search(specialty)]
            # "cardio-oncology" is about the heart: a specific entry wins over a general one ("oncology")
            matched = [e for e in matched if len(matched) == 1 or e.name != "oncology"]
            # "clinical pharmacology" is not "pharmacy": the entry whose synonym says most of it wins
            longest = max((len(e.match.search(specialty).group(0)) for e in matched), default=0)
            found = [e.concerns for e in matched if len(e.match.search(specialty).group(0)) == longest]
            if not found and (nearest := self._nearest(specialty)):
                found = [nearest.concerns]
            self._cache[specialty] = " ".join(found)
        return self._cache[specialty]

    def query(self, specialty: str | None) -> str:
        """The specialty and its concerns, as a search query."""
        return " ".join(x for x in (specialty or "", self.concerns(specialty)) if x)
